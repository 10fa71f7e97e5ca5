/*
 * virtqueue.h - the device side of a split virtqueue (introduced in chapter 8).
 *
 * A virtqueue is how a virtio driver and device exchange buffers. It lives in
 * guest RAM and has three parts (virtio 1.2 section 2.7; the section numbers
 * in chapter 8 are those of virtio 1.2):
 *
 *   descriptor table  16 bytes each: {addr, len, flags, next}. A request is a
 *                     chain of descriptors linked by `next`: first the parts
 *                     the device reads, then the parts it writes.
 *   available ring    written by the driver: "chain N is ready for you".
 *   used ring         written by us: "chain N is done, I wrote LEN bytes".
 *
 * The guest can write anything at all into those structures, at any time,
 * from another CPU. So virtq_pop() reads each descriptor exactly once into a
 * host-side copy (struct virtq_chain), checks every address and length
 * against guest RAM, and refuses malformed chains. Device models only ever
 * look at that copy, never at the descriptor table.
 *
 * Error convention: 0 or -errno. -EAGAIN means "nothing available" (not an
 * error); -EINVAL (malformed ring) and -EFAULT (address outside RAM) mean the
 * driver broke the protocol, after which the device sets DEVICE_NEEDS_RESET
 * and stops using the queue (virtio_mmio.c does that).
 *
 * Threads: a virtq has no lock of its own. The transport (virtio_mmio.h)
 * serialises every use of it under the device lock.
 *
 * No <linux/kvm.h> here: this file is plain C, unit-tested and fuzzed natively.
 */
#ifndef GOD_VIRTQUEUE_H
#define GOD_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "guest_mem.h"

/*
 * The largest queue any of our devices offers (its QueueNumMax). It also
 * bounds the length of a chain (section 2.7.5.3.1: a driver must not create a
 * chain longer than the queue size), so a struct virtq_chain has room for the
 * longest legal chain.
 */
#define VIRTQ_MAX_SIZE 256

struct virtq {
    /*
     * Chosen by the driver through the transport (QueueNum, QueueDesc,
     * QueueDriver, QueueDevice registers). The transport only changes them
     * while the queue is not ready.
     */
    uint32_t size;      /* entries; a power of two, checked by virtq_enable() */
    uint64_t desc_gpa;  /* descriptor table */
    uint64_t avail_gpa; /* available ("driver") ring */
    uint64_t used_gpa;  /* used ("device") ring */
    bool ready;         /* set by virtq_enable(), cleared by virtq_reset() */

    /* Set by virtq_enable() from the negotiated features. */
    bool event_idx; /* VIRTIO_RING_F_EVENT_IDX: used_event/avail_event in use */
    bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC: indirect tables allowed */
    const struct guest_mem *mem;
    struct vring_desc *desc; /* host views of the three parts, checked to be in RAM */
    struct vring_avail *avail;
    struct vring_used *used;

    /*
     * The device's own progress. These are private copies: the guest can
     * scribble on used->idx, so we never read it back.
     */
    uint16_t last_avail_idx; /* next avail ring entry we will look at */
    uint16_t used_idx;       /* the value we last stored in used->idx */
    uint16_t signalled_used; /* used_idx when virtq_should_notify() last ran */
};

/* One buffer of a chain: `len` bytes at guest physical address `gpa`. */
struct virtq_seg {
    uint64_t gpa;
    uint32_t len;
    bool is_write; /* device-writable (VIRTQ_DESC_F_WRITE) */
};

/*
 * A chain, as copied out of guest memory by virtq_pop(): at least one
 * segment, none empty, all inside guest RAM, less than 4 GiB in total.
 * Readable segments come first (segs[0 .. num_read)), then writable ones:
 * virtq_pop() refuses any other order (section 2.7.4.2).
 */
struct virtq_chain {
    uint16_t head;      /* descriptor index to hand back to virtq_push() */
    unsigned count;     /* segments in segs[] */
    unsigned num_read;  /* how many of them are device-readable */
    uint64_t read_len;  /* total bytes of the readable segments */
    uint64_t write_len; /* total bytes of the writable segments */
    struct virtq_seg segs[VIRTQ_MAX_SIZE];
};

/* Forget everything: the queue is not ready and all indexes restart at 0. */
void virtq_reset(struct virtq *q);

/*
 * The driver set QueueReady: check size (a power of two, 1..max_size, at most
 * VIRTQ_MAX_SIZE), ring alignment and that all three parts lie in guest RAM,
 * then mark the queue ready. `features` are the negotiated feature bits.
 * Returns 0, -EINVAL for a bad size or alignment, -EFAULT for rings outside RAM.
 */
int virtq_enable(struct virtq *q, const struct guest_mem *mem, uint32_t max_size,
                 uint64_t features);

/*
 * Take the next available chain and copy it into *chain. Returns 0, -EAGAIN
 * when the driver has made nothing new available, -EINVAL for a malformed
 * ring or chain, -EFAULT for a buffer outside guest RAM. On error nothing is
 * consumed. The queue must be ready.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);

/*
 * Put back the chain the last virtq_pop() returned, unused: the next pop
 * returns it again. For a device that looked at a buffer and found it
 * cannot use it yet (a received frame that does not fit, say).
 */
void virtq_unpop(struct virtq *q);

/*
 * Has the driver made chains available that virtq_pop() has not taken yet?
 * A look at avail->idx only: it arms nothing (unlike a virtq_pop() that
 * finds the ring empty).
 */
bool virtq_has_available(struct virtq *q);

/*
 * Hand chain `head` back to the driver, saying we wrote `len` bytes into its
 * writable buffers (section 2.7.8). Publishes used->idx.
 */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * Should we interrupt the driver for what was pushed since the last call?
 * False when nothing was pushed; otherwise honours VIRTQ_AVAIL_F_NO_INTERRUPT
 * or, with VIRTIO_RING_F_EVENT_IDX, used_event (section 2.7.7).
 */
bool virtq_should_notify(struct virtq *q);

#endif
