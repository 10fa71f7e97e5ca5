/*
 * virtio_blk.c - a virtio block device backed by a host file (introduced in chapter 8).
 *
 * Request format and device requirements: virtio 1.2 section 5.2.6.
 *
 * Framing. Section 2.7.4 lets the driver split a request across descriptors
 * however it likes: the header may span two descriptors, the status byte may
 * share one with data. So we never look at descriptor boundaries. A chain is
 * two byte streams: the readable one (header, then data for a write) and the
 * writable one (data for a read, then the status byte as its very last byte).
 *
 * Untrusted sizes. Every length comes from the guest, so we never allocate
 * one: data moves directly between the disk and guest RAM, one preadv or
 * pwritev per request whatever its segment count, through an iovec of
 * pointers checked by guest_mem_ptr().
 *
 * Threads. The I/O runs in blk_kick(), without the device lock: see
 * virtio_mmio.h, "Locking rule".
 */
#include "virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/virtio_ids.h>

#include "log.h"

#define HEADER_SIZE sizeof(struct virtio_blk_outhdr)

/* ---- the chain as two byte streams --------------------------------------- */

/*
 * Visit `len` bytes of one stream (the readable one, or the writable one),
 * starting `skip` bytes into it, one guest-memory piece at a time. Stops at
 * the first error `fn` returns.
 */
static int stream_walk(const struct guest_mem *mem, const struct virtq_chain *c, bool writable,
                       uint64_t skip, uint64_t len,
                       int (*fn)(void *arg, uint8_t *guest, uint64_t n), void *arg)
{
    for (unsigned i = 0; i < c->count && len > 0; i++) {
        const struct virtq_seg *s = &c->segs[i];
        if (s->is_write != writable)
            continue;
        if (skip >= s->len) {
            skip -= s->len;
            continue;
        }
        uint64_t n = s->len - skip;
        if (n > len)
            n = len;
        /* virtq_pop() checked the segment; this cannot fail, but costs nothing. */
        uint8_t *p = guest_mem_ptr(mem, s->gpa + skip, n);
        if (!p)
            return -EFAULT;
        int err = fn(arg, p, n);
        if (err)
            return err;
        skip = 0;
        len -= n;
    }
    return len ? -EFAULT : 0;
}

/* Copying between a small host buffer and a stream (the header, the ID string). */
struct copy_state {
    uint8_t *host;
    bool to_guest;
};

static int copy_piece(void *arg, uint8_t *guest, uint64_t len)
{
    struct copy_state *st = arg;
    if (st->to_guest)
        memcpy(guest, st->host, len);
    else
        memcpy(st->host, guest, len);
    st->host += len;
    return 0;
}

/* ---- host I/O ------------------------------------------------------------ */

/*
 * The stream's bytes [skip, skip + len) as an iovec into guest RAM: one entry
 * per segment piece, at most VIRTQ_MAX_SIZE since a chain has no more
 * segments. Returns the entry count, or -EFAULT if the stream is shorter.
 */
static int stream_iov(const struct guest_mem *mem, const struct virtq_chain *c, bool writable,
                      uint64_t skip, uint64_t len, struct iovec *iov)
{
    int n = 0;
    for (unsigned i = 0; i < c->count && len > 0; i++) {
        const struct virtq_seg *s = &c->segs[i];
        if (s->is_write != writable)
            continue;
        if (skip >= s->len) {
            skip -= s->len;
            continue;
        }
        uint64_t piece = s->len - skip < len ? s->len - skip : len;
        /* virtq_pop() checked the segment; this cannot fail, but costs nothing. */
        uint8_t *p = guest_mem_ptr(mem, s->gpa + skip, piece);
        if (!p)
            return -EFAULT;
        iov[n++] = (struct iovec){.iov_base = p, .iov_len = piece};
        skip = 0;
        len -= piece;
    }
    return len ? -EFAULT : n;
}

/*
 * One preadv/pwritev for the whole request, whatever its segment count.
 * They may move fewer bytes than asked (a signal, a huge request) or fail
 * with EINTR; neither is an error, so go on from where they stopped.
 * Reaching the end of the file early is one (the file shrank under us):
 * -EIO. *done counts every byte moved, so a failed read still reports what
 * it filled.
 */
static int disk_rw(struct virtio_blk *blk, struct iovec *iov, int cnt, uint64_t pos, bool to_disk,
                   uint64_t *done)
{
    *done = 0;
    while (cnt > 0) {
        blk->io_calls++;
        ssize_t n = to_disk ? pwritev(blk->fd, iov, cnt, (off_t)pos)
                            : preadv(blk->fd, iov, cnt, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        pos += (uint64_t)n;
        *done += (uint64_t)n;
        /* Skip what was moved: whole entries, then part of one. */
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int sync_disk(struct virtio_blk *blk)
{
    blk->syncs++;
    while (fdatasync(blk->fd) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

/*
 * A regular file may have been truncated since we told the guest its
 * capacity. pwrite() past the end of a file does not fail, it grows the
 * file: the image would silently come back larger, holes and all. So a
 * write must end inside the file as it is now. (A block device cannot
 * grow; its size is checked once, at init.)
 */
static int write_fits_file(const struct virtio_blk *blk, uint64_t end)
{
    struct stat st;
    if (!blk->is_regular_file)
        return 0;
    if (fstat(blk->fd, &st) < 0)
        return -errno;
    return end <= (uint64_t)st.st_size ? 0 : -ENOSPC;
}

/* ---- requests ------------------------------------------------------------ */

/* Is [sector, sector + len / 512) a whole number of sectors inside the disk? Overflow-safe. */
static bool sectors_ok(const struct virtio_blk *blk, uint64_t sector, uint64_t len)
{
    if (len % VIRTIO_BLK_SECTOR_SIZE != 0)
        return false;
    return sector <= blk->capacity && len / VIRTIO_BLK_SECTOR_SIZE <= blk->capacity - sector;
}

static uint8_t io_status(const struct virtio_blk *blk, int err, const char *what)
{
    static unsigned warned;
    if (!err)
        return VIRTIO_BLK_S_OK;
    log_warn_limited(&warned, "%s: %s failed: %s", blk->transport.name, what, strerror(-err));
    return VIRTIO_BLK_S_IOERR;
}

/* Disk -> the writable stream, before its final status byte. */
static uint8_t blk_read(struct virtio_blk *blk, const struct guest_mem *mem,
                        const struct virtq_chain *c, uint64_t sector, uint64_t *written)
{
    static unsigned warned;
    uint64_t len = c->write_len - 1;

    if (!sectors_ok(blk, sector, len)) {
        log_warn_limited(&warned, "%s: read of %llu bytes at sector %llu (capacity %llu)",
                         blk->transport.name, (unsigned long long)len, (unsigned long long)sector,
                         (unsigned long long)blk->capacity);
        return VIRTIO_BLK_S_IOERR;
    }
    int cnt = stream_iov(mem, c, true, 0, len, blk->iov);
    int err = cnt < 0 ? cnt
                      : disk_rw(blk, blk->iov, cnt, sector * VIRTIO_BLK_SECTOR_SIZE, false,
                                written); /* a failed read may still have filled some */
    return io_status(blk, err, "read");
}

/* The readable stream, after the header -> disk. */
static uint8_t blk_write(struct virtio_blk *blk, const struct guest_mem *mem,
                         const struct virtq_chain *c, uint64_t sector, uint64_t features)
{
    static unsigned warned;
    uint64_t len = c->read_len - HEADER_SIZE;

    /* Section 5.2.6.1: a read-only device fails writes and writes nothing. */
    if (blk->read_only || !sectors_ok(blk, sector, len)) {
        log_warn_limited(&warned, "%s: write of %llu bytes at sector %llu (capacity %llu%s)",
                         blk->transport.name, (unsigned long long)len, (unsigned long long)sector,
                         (unsigned long long)blk->capacity, blk->read_only ? ", read-only" : "");
        return VIRTIO_BLK_S_IOERR;
    }
    uint64_t pos = sector * VIRTIO_BLK_SECTOR_SIZE, done;
    int err = write_fits_file(blk, pos + len);
    if (err == -ENOSPC) {
        log_warn_limited(&warned,
                         "%s: write of %llu bytes at sector %llu: the file has shrunk "
                         "below it since start-up; refused, so that it does not grow back",
                         blk->transport.name, (unsigned long long)len, (unsigned long long)sector);
        return VIRTIO_BLK_S_IOERR;
    }
    int cnt = err ? err : stream_iov(mem, c, false, HEADER_SIZE, len, blk->iov);
    err = cnt < 0 ? cnt : disk_rw(blk, blk->iov, cnt, pos, true, &done);
    /*
     * Section 5.2.5.1: a driver that did not negotiate VIRTIO_BLK_F_FLUSH
     * may assume a write-through cache, so the write is complete only when
     * it is on stable storage. With FLUSH the driver asks when it needs it.
     */
    if (!err && !(features & (1ULL << VIRTIO_BLK_F_FLUSH)))
        err = sync_disk(blk);
    return io_status(blk, err, "write");
}

/* Section 5.2.6: 20 bytes, zero padded, into the writable stream (less if it is shorter). */
static uint8_t blk_get_id(struct virtio_blk *blk, const struct guest_mem *mem,
                          const struct virtq_chain *c, uint64_t *written)
{
    uint64_t len = c->write_len - 1;
    if (len > VIRTIO_BLK_ID_BYTES)
        len = VIRTIO_BLK_ID_BYTES;
    struct copy_state st = {.host = (uint8_t *)blk->id, .to_guest = true};
    int err = stream_walk(mem, c, true, 0, len, copy_piece, &st);
    *written = err ? 0 : len;
    return err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Carry out one request; returns its status byte and counts data bytes written to the guest. */
static uint8_t blk_execute(struct virtio_blk *blk, const struct guest_mem *mem,
                           const struct virtq_chain *c, uint64_t features, uint64_t *written)
{
    static unsigned warned;
    struct virtio_blk_outhdr hdr;
    struct copy_state st = {.host = (uint8_t *)&hdr, .to_guest = false};

    /* Copy the header once: the guest may change it while we work. */
    if (c->read_len < HEADER_SIZE || stream_walk(mem, c, false, 0, HEADER_SIZE, copy_piece, &st)) {
        log_warn_limited(&warned, "%s: request without a %zu-byte header", blk->transport.name,
                         HEADER_SIZE);
        return VIRTIO_BLK_S_IOERR;
    }
    uint32_t type = le32toh(hdr.type);
    uint64_t sector = le64toh(hdr.sector);

    switch (type) {
    case VIRTIO_BLK_T_IN:
        return blk_read(blk, mem, c, sector, written);
    case VIRTIO_BLK_T_OUT:
        return blk_write(blk, mem, c, sector, features);
    case VIRTIO_BLK_T_FLUSH:
        /* Completion promises the data is on stable storage: sync first. */
        return io_status(blk, sync_disk(blk), "flush");
    case VIRTIO_BLK_T_GET_ID:
        return blk_get_id(blk, mem, c, written);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

/* Serve one chain; returns the used length: bytes written to the guest, status byte included. */
static uint32_t blk_serve(struct virtio_blk *blk, const struct guest_mem *mem,
                          const struct virtq_chain *c, uint64_t features)
{
    static unsigned warned;
    const struct virtq_seg *last = &c->segs[c->count - 1];

    if (!last->is_write) {
        /* Nowhere to put a status: all we can do is hand the chain back. */
        log_warn_limited(&warned, "%s: request without a status byte; dropped",
                         blk->transport.name);
        return 0;
    }
    uint64_t written = 0;
    uint8_t status = blk_execute(blk, mem, c, features, &written);
    uint8_t *status_byte = guest_mem_ptr(mem, last->gpa + last->len - 1, 1);
    if (status_byte)
        *status_byte = status;
    /* virtq_pop() bounds a chain to 4 GiB, so data + status still fits in 32 bits. */
    return (uint32_t)(written + 1);
}

/* ---- the virtio device --------------------------------------------------- */

/*
 * The queue was kicked. Without the device lock (virtio_mmio.h, "Locking
 * rule"): take a batch of requests, do their I/O, hand them all back with
 * one interrupt, and again until the queue is empty. The lock is held only
 * to walk the rings, so a vCPU reading a register never waits for the disk.
 */
static void blk_kick(void *ctx, unsigned index)
{
    struct virtio_blk *blk = ctx;
    struct virtio_mmio_batch batch;
    unsigned n;

    while ((n = virtio_mmio_queue_pop(&blk->transport, index, blk->batch, VIRTIO_BLK_BATCH,
                                      &batch)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            blk->done[i].head = blk->batch[i].head;
            blk->done[i].len = blk_serve(blk, blk->transport.mem, &blk->batch[i], batch.features);
        }
        blk->requests += n;
        virtio_mmio_queue_push(&blk->transport, index, &batch, blk->done, n);
    }
}

static void blk_config_read(void *ctx, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_blk *blk = ctx;
    memcpy(buf, (const uint8_t *)&blk->config + offset, len);
}

static int disk_bytes(int fd, struct stat *st, uint64_t *bytes)
{
    if (fstat(fd, st) < 0)
        return -errno;
    if (S_ISBLK(st->st_mode))
        return ioctl(fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
    if (!S_ISREG(st->st_mode))
        return -EINVAL;
    *bytes = (uint64_t)st->st_size;
    return 0;
}

int virtio_blk_init(struct virtio_blk *blk, int fd, bool read_only, const char *id,
                    const struct guest_mem *mem, uint64_t base, struct irq_line irq)
{
    uint64_t bytes;
    struct stat st;

    memset(blk, 0, sizeof(*blk));
    int err = disk_bytes(fd, &st, &bytes);
    if (err)
        return err;
    if (bytes < VIRTIO_BLK_SECTOR_SIZE)
        return -EINVAL;

    blk->fd = fd;
    blk->read_only = read_only;
    blk->is_regular_file = S_ISREG(st.st_mode);
    blk->capacity = bytes / VIRTIO_BLK_SECTOR_SIZE;
    if (id) /* zero padded; no NUL when all 20 bytes are used (section 5.2.6) */
        memcpy(blk->id, id, strnlen(id, sizeof(blk->id)));

    /*
     * SEG_MAX: without it Linux sends one data segment per request. A chain
     * must fit the queue (section 2.7.5.3.1), and header and status take two.
     */
    blk->config.capacity = htole64(blk->capacity);
    blk->config.seg_max = htole32(VIRTIO_BLK_QUEUE_SIZE - 2);
    blk->config.blk_size = htole32(VIRTIO_BLK_SECTOR_SIZE);

    blk->ops = (struct virtio_device_ops){
        .name = "virtio-blk",
        .device_id = VIRTIO_ID_BLOCK,
        .num_queues = 1,
        .queue_max = VIRTIO_BLK_QUEUE_SIZE,
        .features = (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
                    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (read_only ? 1ULL << VIRTIO_BLK_F_RO : 0),
        .config_size = sizeof(struct virtio_blk_config),
        .config_read = blk_config_read,
        .kick = blk_kick,
    };
    return virtio_mmio_init(&blk->transport, &blk->ops, blk, mem, base, irq);
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
    virtio_mmio_destroy(&blk->transport);
}
