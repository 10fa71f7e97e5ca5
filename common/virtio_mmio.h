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
 * with irq.spi = VIRTIO_SPI_FIRST + n. The interrupt is level-triggered: the
 * line is high exactly while InterruptStatus is non-zero.
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
 * and write handlers take it; so does virtio_mmio_queue_notify(), which then
 * calls ops->notify() with the lock held, so a device's queue processing can
 * never run at the same time as a reset or a queue set-up. The price: a
 * vCPU touching this device's registers waits for the batch in flight.
 *   - ops callbacks run with the lock held: they must not call any
 *     virtio_mmio_* function that takes it (those say "Takes the lock").
 *   - irq_line_set() is called with the lock held.
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

    /* The driver reset the device (Status = 0): forget per-driver state. May be NULL. */
    void (*reset)(void *ctx);
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
    bool irq_level; /* what we last told the interrupt line */

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

/* The device changed its config space: bump ConfigGeneration, interrupt. Takes the lock. */
void virtio_mmio_config_changed(struct virtio_mmio *dev);

#endif
