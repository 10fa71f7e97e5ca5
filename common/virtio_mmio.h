/*
 * virtio_mmio.h - the virtio-mmio transport, version 2 (introduced in chapter 8).
 *
 * A virtio device has three things a driver must reach: feature bits, a
 * status byte and its virtqueues (plus a small device-specific config
 * space). "Transport" is how the driver reaches them. On a PCI-less arm64
 * board the simplest transport is virtio-mmio (virtio 1.2 section 4.2): a
 * 0x200-byte window of 32-bit registers, one window per device, announced to
 * the guest in the device tree. This file implements those registers once;
 * a device model (virtio_blk.c, virtio_console.c) only supplies a struct
 * virtio_device_ops.
 *
 * Wiring it into the VMM:
 *
 *   virtio_mmio_init(&dev, &ops, ctx, &mem, VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE, irq);
 *   struct mmio_region r = virtio_mmio_region(&dev);
 *   mmio_bus_add(&bus, &r);
 *
 * with irq.spi = VIRTIO_SPI_FIRST + n. The interrupt is edge-triggered: the
 * device pulses the line each time a bit of InterruptStatus goes from 0 to
 * 1, and never holds it high (see irq_raise() in virtio_mmio.c).
 *
 * Notifications. A write to QueueNotify means "queue q has new buffers".
 * Handled naively it would run the device (disk I/O!) on the vCPU thread
 * inside the MMIO exit. The final VMM instead registers a KVM ioeventfd for
 * QueueNotify, so the write never leaves the kernel, and a worker thread per
 * device waits on that eventfd and calls virtio_mmio_queue_notify(). Without
 * an ioeventfd the MMIO write handler calls the same function itself.
 *
 * Locking rule. Each device has one mutex, dev->lock. It protects every
 * register, the status, InterruptStatus and the virtqueues. The MMIO read
 * and write handlers take it, on vCPU threads, so nothing slow may ever
 * happen under it: a vCPU reading InterruptStatus must not wait for a disk
 * or a terminal. A device therefore works in one of two ways:
 *   - ops->notify(), called with the lock held, for work that is quick and
 *     never blocks (a device that only moves bytes between memory buffers);
 *   - ops->kick(), called WITHOUT the lock, for work that blocks (a disk
 *     read, a write to a terminal nobody reads). The device takes a bounded
 *     batch of chains with virtio_mmio_queue_pop() (lock held for the ring
 *     walk only), does its host I/O with the lock dropped, and hands the
 *     chains back with virtio_mmio_queue_push() (lock held again, one
 *     interrupt for the batch if the driver wants one). A reset while the
 *     I/O runs bumps dev->epoch, and the push of a stale batch is dropped.
 *     One thread at a time runs kick() for a queue; a kick meanwhile makes
 *     it look again.
 * Further:
 *   - ops callbacks called with the lock held must not call any
 *     virtio_mmio_* function that takes it (those say "Takes the lock").
 *   - irq_line_set() is called with the lock held (KVM_IRQ_LINE never blocks,
 *     nor does the write to an irqfd's eventfd).
 *   - Code outside ops that wants a queue (e.g. console input arriving on
 *     another thread) brackets its work with virtio_mmio_queue_begin/end.
 */
#ifndef GOD_VIRTIO_MMIO_H
#define GOD_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "irq.h"
#include "mmio_bus.h"
#include "virtqueue.h"

/* Enough for the devices in this book (virtio-console has 2 queues). */
#define VIRTIO_MMIO_MAX_QUEUES 4

/* What the VendorID register returns: "god " in little-endian ASCII. */
#define VIRTIO_MMIO_VENDOR_GOD 0x20646f67

/* What a device model plugs into the transport. */
struct virtio_device_ops {
    const char *name;    /* "virtio-blk": for region names and warnings */
    uint32_t device_id;  /* VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE, ... (<linux/virtio_ids.h>) */
    unsigned num_queues; /* at most VIRTIO_MMIO_MAX_QUEUES */
    uint32_t queue_max;  /* QueueNumMax: a power of two, at most VIRTQ_MAX_SIZE */

    /*
     * Device-specific feature bits. The transport adds the ones it
     * implements itself: VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX and
     * VIRTIO_RING_F_INDIRECT_DESC.
     */
    uint64_t features;

    /*
     * Config space (section 4.2.2, at offset 0x100): config_size bytes. The
     * transport checks offset + len <= config_size before calling. Copy the
     * bytes as the guest sees them (little-endian). config_write may be NULL
     * when nothing in the config space is writable.
     */
    uint32_t config_size;
    void (*config_read)(void *ctx, uint32_t offset, void *buf, unsigned len);
    void (*config_write)(void *ctx, uint32_t offset, const void *buf, unsigned len);

    /*
     * Queue `index` may have new buffers: pop and push until virtq_pop()
     * says -EAGAIN. Return 0, or the -errno from virtq_pop() when the driver
     * broke the ring; the transport then sets DEVICE_NEEDS_RESET. Interrupts
     * are the transport's business: it raises one after notify() returns if
     * the queue wants it. Called with dev->lock held: on a kick (from
     * whichever thread called virtio_mmio_queue_notify()) and once per
     * ready queue when the driver sets DRIVER_OK (on the vCPU thread).
     */
    int (*notify)(void *ctx, struct virtq *vq, unsigned index);

    /*
     * Optional, and when set used instead of notify(): queue `index` was
     * kicked. Called without the lock (see "Locking rule"); pop and push
     * with virtio_mmio_queue_pop/push until pop returns 0.
     */
    void (*kick)(void *ctx, unsigned index);

    /* The driver reset the device (Status = 0): forget per-driver state. May be NULL. */
    void (*reset)(void *ctx);
};

/* A chain handed back to the driver: its head and the bytes written into it. */
struct virtio_mmio_done {
    uint16_t head;
    uint32_t len;
};

/* What virtio_mmio_queue_pop() tells a device about the batch it took. */
struct virtio_mmio_batch {
    uint32_t epoch;    /* give it back to virtio_mmio_queue_push() */
    uint64_t features; /* the negotiated feature bits, for the device's decisions */
};

struct virtio_mmio {
    pthread_mutex_t lock; /* see "Locking rule" above */
    const struct virtio_device_ops *ops;
    void *ctx; /* passed to every ops callback */
    const struct guest_mem *mem;
    struct irq_line irq;
    uint64_t base;
    char name[40]; /* "virtio-blk@0a000000" */

    /* Registers (section 4.2.2). */
    uint32_t status;
    uint32_t device_features_sel;
    uint32_t driver_features_sel;
    uint64_t driver_features;
    uint32_t queue_sel;
    uint32_t interrupt_status;
    uint32_t config_generation;
    uint64_t used_notifications; /* used-buffer interrupts raised (section 2.7.7), for budgets */

    /* Work outside the lock (ops->kick); see "Locking rule". */
    uint32_t epoch;    /* bumped by reset and queue tear-down: older batches are dropped */
    unsigned busy;     /* bit q: a thread is in ops->kick() for queue q */
    unsigned again;    /* bit q: kicked while busy: the busy thread looks again */
    unsigned deferred; /* bit q: DRIVER_OK found q ready: kick it once the lock is dropped */
    unsigned owed;     /* bit q: published, the interrupt left to virtio_mmio_settle() */
    bool stopping;     /* virtio_mmio_stop(): pop hands out nothing more */
    /* Set by a worker thread: deliver a deferred kick to it rather than run it inline. */
    void (*wake)(void *wake_ctx, unsigned index);
    void *wake_ctx;

    struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
};

/*
 * Set up the transport for a device whose window is at `base`. Returns 0 or
 * -EINVAL for ops that break the limits above.
 */
int virtio_mmio_init(struct virtio_mmio *dev, const struct virtio_device_ops *ops, void *ctx,
                     const struct guest_mem *mem, uint64_t base, struct irq_line irq);
void virtio_mmio_destroy(struct virtio_mmio *dev);

/* The window to hand to mmio_bus_add(): name, base, size and the callbacks below. */
struct mmio_region virtio_mmio_region(struct virtio_mmio *dev);

/* MMIO callbacks (opaque is the struct virtio_mmio). Take the lock. */
uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned width);
void virtio_mmio_write(void *opaque, uint64_t offset, unsigned width, uint64_t value);

/* The register name at offset ("QueueNotify", "Config"), for --trace. */
const char *virtio_mmio_reg_name(void *opaque, uint64_t offset);

/*
 * Queue `index` was kicked: if the driver has set DRIVER_OK and the queue is
 * ready, run ops->notify() for it and raise the used-buffer interrupt if
 * needed. Callable from any thread (a worker woken by an ioeventfd).
 * Takes the lock.
 */
void virtio_mmio_queue_notify(struct virtio_mmio *dev, unsigned index);

/*
 * For work on a queue that does not come from a kick (e.g. console input):
 * begin takes the lock and returns the queue if it is usable (DRIVER_OK, no
 * DEVICE_NEEDS_RESET, queue ready), NULL otherwise; the lock is held either
 * way. end must always follow: `err` < 0 (from virtq_pop) sets
 * DEVICE_NEEDS_RESET; the used-buffer interrupt is raised if the queue wants
 * one; then the lock is dropped.
 */
struct virtq *virtio_mmio_queue_begin(struct virtio_mmio *dev, unsigned index);
void virtio_mmio_queue_end(struct virtio_mmio *dev, unsigned index, int err);

/*
 * For ops->kick(): take up to `max` available chains of queue `index` into
 * chains[]. Returns how many; 0 when none are available, the queue is not
 * live, or the device is stopping. A broken ring sets DEVICE_NEEDS_RESET;
 * the chains taken before the break are returned (and owed a push).
 * Takes the lock.
 */
unsigned virtio_mmio_queue_pop(struct virtio_mmio *dev, unsigned index, struct virtq_chain *chains,
                               unsigned max, struct virtio_mmio_batch *batch);

/*
 * Hand `n` chains taken by virtio_mmio_queue_pop() back to the driver and,
 * once the queue has nothing more available, raise the used-buffer
 * interrupt if the driver wants one: a kick() that drains the queue in
 * several batches interrupts once, at the end. Dropped (the guest reset the
 * device or the queue since the pop) when the epoch has moved on.
 * Takes the lock.
 */
void virtio_mmio_queue_push(struct virtio_mmio *dev, unsigned index,
                            const struct virtio_mmio_batch *batch,
                            const struct virtio_mmio_done *done, unsigned n);

/*
 * virtio_mmio_queue_push() without the interrupt, for a driver that polls:
 * the chains go back at once, and the used-buffer interrupt is owed until
 * virtio_mmio_settle(), which the device's worker thread calls once the
 * queue has been quiet for a moment. A driver that took the buffers
 * meanwhile has moved used_event past them and no longer asks for it (the
 * rule of section 2.7.7 is read when the device decides, which is then);
 * one that waits for the interrupt gets it, a little later. Without a
 * worker (dev->wake unset) nobody would come back: it settles at once.
 * With one, call it only from ops->kick() on the worker's thread (where
 * QueueNotify's ioeventfd and DRIVER_OK's deferred kicks send every kick),
 * since that thread is the one that comes back. Takes the lock.
 */
void virtio_mmio_queue_publish(struct virtio_mmio *dev, unsigned index,
                               const struct virtio_mmio_batch *batch,
                               const struct virtio_mmio_done *done, unsigned n);

/* Raise the interrupts virtio_mmio_queue_publish() left owed, if still wanted. Takes the lock. */
void virtio_mmio_settle(struct virtio_mmio *dev);

/* Does the device owe an interrupt to virtio_mmio_settle()? Takes the lock. */
bool virtio_mmio_owes(struct virtio_mmio *dev);

/*
 * Shutting down: from now on virtio_mmio_queue_pop() returns 0, so a device
 * in ops->kick() finishes the batch in hand and returns. Takes the lock.
 */
void virtio_mmio_stop(struct virtio_mmio *dev);

/* True after virtio_mmio_stop(): a device blocked in host I/O may give up. Takes the lock. */
bool virtio_mmio_stopping(struct virtio_mmio *dev);

/* The device changed its config space: bump ConfigGeneration, interrupt. Takes the lock. */
void virtio_mmio_config_changed(struct virtio_mmio *dev);

#endif
