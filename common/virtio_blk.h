/*
 * virtio_blk.h - a virtio block device backed by a host file (introduced in chapter 8).
 *
 * The guest sees a disk of 512-byte sectors (virtio 1.2 section 5.2). Each
 * request on its single queue is a descriptor chain:
 *
 *   readable:  struct virtio_blk_outhdr {type, reserved, sector}   16 bytes
 *   data:      readable (a write to disk) or writable (a read from disk)
 *   writable:  one status byte: VIRTIO_BLK_S_OK, _IOERR or _UNSUPP
 *
 * The disk is a host file descriptor (a regular file or a block device),
 * read and written with preadv/pwritev straight into and out of guest RAM,
 * one call per request, outside the device lock.
 * The descriptor stays the caller's: virtio_blk_destroy() does not close it.
 *
 * Wiring: virtio_blk_init(), then mmio_bus_add() of
 * virtio_mmio_region(&blk->transport); kicks arrive through
 * virtio_mmio_queue_notify(&blk->transport, 0) (see virtio_mmio.h for
 * threads and locking).
 */
#ifndef GOD_VIRTIO_BLK_H
#define GOD_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_blk.h>

#include "guest_mem.h"
#include "irq.h"
#include "virtio_mmio.h"
#include "virtqueue.h"

#define VIRTIO_BLK_SECTOR_SIZE 512
#define VIRTIO_BLK_QUEUE_SIZE  VIRTQ_MAX_SIZE
/*
 * Requests taken from the ring per pass: the I/O of a batch runs with the
 * device lock dropped, and each batch is answered with (at most) one
 * interrupt. Bounded so that one pass costs bounded time (a stop request is
 * seen between batches) and bounded memory (a chain copy is 4 KiB).
 */
#define VIRTIO_BLK_BATCH       32

struct virtio_blk {
    struct virtio_mmio transport;
    struct virtio_device_ops ops; /* what the transport calls back */
    int fd;
    bool read_only;
    bool is_regular_file;            /* not a block device: a file can grow, see blk_write() */
    uint64_t capacity;               /* in 512-byte sectors */
    uint64_t syncs;                  /* fdatasync() calls made (flushes, write-through) */
    char id[VIRTIO_BLK_ID_BYTES];    /* GET_ID answer: zero padded, not NUL terminated */
    struct virtio_blk_config config; /* little-endian, as the guest reads it */

    /* The batch being served by the one thread in blk_kick() (virtio_mmio.h). */
    struct virtq_chain batch[VIRTIO_BLK_BATCH];
    struct virtio_mmio_done done[VIRTIO_BLK_BATCH];
    struct iovec iov[VIRTQ_MAX_SIZE]; /* one request's data, for preadv/pwritev */

    /* Counters, for tests and `make bench`: deterministic work per request. */
    uint64_t requests; /* chains served */
    uint64_t io_calls; /* preadv/pwritev calls made */
};

/*
 * Create the device at MMIO window `base`. The capacity is the file's size
 * (or the block device's) rounded down to whole sectors. `id` may be NULL
 * (the guest then reads an all-zero serial). Returns 0, -errno from fstat or
 * ioctl, -EINVAL for a disk smaller than one sector.
 */
int virtio_blk_init(struct virtio_blk *blk, int fd, bool read_only, const char *id,
                    const struct guest_mem *mem, uint64_t base, struct irq_line irq);
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
