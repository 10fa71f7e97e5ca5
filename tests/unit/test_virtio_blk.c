/*
 * test_virtio_blk.c - virtio-blk requests against a temporary disk file (common/virtio_blk.c)
 * (introduced in chapter 8).
 *
 * The test is the guest driver: it brings the device up through its MMIO
 * registers, writes request chains into fake guest RAM, kicks QueueNotify
 * and checks the status byte, the used ring and the disk file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fake_edge_gic.h"
#include "guest_mem.h"
#include "log.h"
#include "virtio_blk.h"

#define BASE     0x40000000ULL
#define RAM_SIZE (64ULL * 1024)
#define QSIZE    128 /* room for more requests than one batch (VIRTIO_BLK_BATCH) */
#define SECTORS  16

#define DESC_GPA   (BASE + 0x0000)
#define AVAIL_GPA  (BASE + 0x1000)
#define USED_GPA   (BASE + 0x2000)
#define HDR_GPA    (BASE + 0x3000)
#define STATUS_GPA (BASE + 0x3800)
#define DATA_GPA   (BASE + 0x4000)

#define FEATURES ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH))

struct fixture {
    struct guest_mem mem;
    struct virtio_blk blk;
    int fd;
    uint16_t avail_idx;
    struct fake_edge_gic gic; /* the device's interrupt input */
};

/* A buffer of a request chain, as the test driver describes it. */
struct buf {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

static uint8_t *host(struct fixture *f, uint64_t gpa)
{
    return f->mem.host + (gpa - BASE);
}

static void wr(struct fixture *f, uint64_t offset, uint32_t value)
{
    virtio_mmio_write(&f->blk.transport, offset, 4, value);
}

static uint32_t rd(struct fixture *f, uint64_t offset)
{
    return (uint32_t)virtio_mmio_read(&f->blk.transport, offset, 4);
}

/* Section 3.1.1, the short version: features, one queue, DRIVER_OK. */
static void driver_bring_up_with(struct fixture *f, uint64_t features)
{
    const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    wr(f, VIRTIO_MMIO_STATUS, s);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
    wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
    wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA);
    wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
    wr(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK,
                     VIRTIO_CONFIG_S_DRIVER_OK);
}

static void driver_bring_up(struct fixture *f)
{
    driver_bring_up_with(f, FEATURES);
}

static int start_device(struct fixture *f, bool read_only)
{
    struct irq_line irq = fake_edge_gic_line(&f->gic, 16);
    int err = virtio_blk_init(&f->blk, f->fd, read_only, "god-disk-0", &f->mem, 0x0a000000, irq);
    if (err)
        return err;
    driver_bring_up(f);
    return 0;
}

static int setup(void **state)
{
    static struct fixture f;
    char path[] = "/tmp/god-test-blk-XXXXXX";
    uint8_t sector[512];

    memset(&f, 0, sizeof(f));
    if (guest_mem_alloc(&f.mem, BASE, RAM_SIZE) != 0)
        return -1;
    f.fd = mkstemp(path);
    if (f.fd < 0)
        return -1;
    unlink(path);
    /* Sector n is full of the byte n + 1. */
    for (unsigned n = 0; n < SECTORS; n++) {
        memset(sector, (int)(n + 1), sizeof(sector));
        if (pwrite(f.fd, sector, sizeof(sector), n * 512) != sizeof(sector))
            return -1;
    }
    log_set_muted(true);
    if (start_device(&f, false) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_blk_destroy(&f->blk);
    close(f->fd);
    guest_mem_free(&f->mem);
    return 0;
}

/* Write a request header at gpa. */
static void put_header(struct fixture *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr hdr = {.type = htole32(type), .sector = htole64(sector)};
    memcpy(host(f, gpa), &hdr, sizeof(hdr));
}

/*
 * Chain the buffers into descriptors 0..n-1, make the chain available, kick
 * the queue, and return the length the device put in the used ring.
 */
static uint32_t submit(struct fixture *f, const struct buf *bufs, unsigned n)
{
    struct vring_desc *desc = (struct vring_desc *)host(f, DESC_GPA);
    struct vring_avail *avail = (struct vring_avail *)host(f, AVAIL_GPA);
    struct vring_used *used = (struct vring_used *)host(f, USED_GPA);

    for (unsigned i = 0; i < n; i++) {
        uint16_t flags =
            (bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
        desc[i] = (struct vring_desc){.addr = htole64(bufs[i].gpa),
                                      .len = htole32(bufs[i].len),
                                      .flags = htole16(flags),
                                      .next = htole16(i + 1)};
    }
    avail->ring[f->avail_idx % QSIZE] = 0;
    f->avail_idx++;
    avail->idx = htole16(f->avail_idx);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);

    assert_int_equal(le16toh(used->idx), f->avail_idx);
    const struct vring_used_elem *e = &used->ring[(f->avail_idx - 1) % QSIZE];
    assert_int_equal(le32toh(e->id), 0);
    return le32toh(e->len);
}

static uint8_t status(struct fixture *f)
{
    return *host(f, STATUS_GPA);
}

/* Submit header + one data buffer + status; returns the used length. */
static uint32_t simple_request(struct fixture *f, uint32_t type, uint64_t sector, uint32_t len,
                               bool data_write)
{
    put_header(f, HDR_GPA, type, sector);
    *host(f, STATUS_GPA) = 0xee;
    const struct buf bufs[] = {
        {HDR_GPA, 16, false},
        {DATA_GPA, len, data_write},
        {STATUS_GPA, 1, true},
    };
    return submit(f, bufs, 3);
}

static void disk_sector(struct fixture *f, uint64_t n, uint8_t *out)
{
    assert_int_equal(pread(f->fd, out, 512, (off_t)(n * 512)), 512);
}

static void assert_filled(const uint8_t *p, size_t len, uint8_t byte)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != byte)
            fail_msg("byte %zu is %#x, expected %#x", i, p[i], byte);
}

/* ---- tests --------------------------------------------------------------- */

static void config_and_features(void **state)
{
    struct fixture *f = *state;
    struct virtio_mmio *t = &f->blk.transport;

    assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 2);
    uint64_t capacity = virtio_mmio_read(t, 0x100, 4) | virtio_mmio_read(t, 0x104, 4) << 32;
    assert_int_equal(capacity, SECTORS);
    assert_int_equal(virtio_mmio_read(t, 0x100 + offsetof(struct virtio_blk_config, seg_max), 4),
                     VIRTIO_BLK_QUEUE_SIZE - 2);
    assert_int_equal(virtio_mmio_read(t, 0x100 + offsetof(struct virtio_blk_config, blk_size), 4),
                     512);

    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t features = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(features & (1u << VIRTIO_BLK_F_FLUSH));
    assert_true(features & (1u << VIRTIO_BLK_F_SEG_MAX));
    assert_false(features & (1u << VIRTIO_BLK_F_RO));
}

static void read_two_sectors(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 2, 1024, true), 1025);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_filled(host(f, DATA_GPA), 512, 3);
    assert_filled(host(f, DATA_GPA + 512), 512, 4);
    assert_true(fake_edge_gic_take(&f->gic));
}

static void read_with_odd_framing(void **state)
{
    struct fixture *f = *state;

    /* Header split in two, data in two pieces, status sharing the last one (section 2.7.4). */
    put_header(f, HDR_GPA, VIRTIO_BLK_T_IN, 7);
    const struct buf bufs[] = {
        {HDR_GPA, 5, false},
        {HDR_GPA + 5, 11, false},
        {DATA_GPA, 100, true},
        {DATA_GPA + 0x1000, 412 + 1, true},
    };
    assert_int_equal(submit(f, bufs, 4), 513);
    assert_filled(host(f, DATA_GPA), 100, 8);
    assert_filled(host(f, DATA_GPA + 0x1000), 412, 8);
    assert_int_equal(*host(f, DATA_GPA + 0x1000 + 412), VIRTIO_BLK_S_OK);
}

static void write_one_sector(void **state)
{
    struct fixture *f = *state;
    uint8_t sector[512];

    memset(host(f, DATA_GPA), 0xab, 512);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 5, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    disk_sector(f, 5, sector);
    assert_filled(sector, 512, 0xab);
    disk_sector(f, 6, sector);
    assert_filled(sector, 512, 7);
}

static void flush(void **state)
{
    struct fixture *f = *state;

    put_header(f, HDR_GPA, VIRTIO_BLK_T_FLUSH, 0);
    const struct buf bufs[] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};
    *host(f, STATUS_GPA) = 0xee;
    assert_int_equal(submit(f, bufs, 2), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void get_id(void **state)
{
    struct fixture *f = *state;
    char expected[VIRTIO_BLK_ID_BYTES] = "god-disk-0";

    memset(host(f, DATA_GPA), 0xff, VIRTIO_BLK_ID_BYTES);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true), 21);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_memory_equal(host(f, DATA_GPA), expected, VIRTIO_BLK_ID_BYTES);
}

static void read_past_the_end(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, SECTORS, 512, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    /* A sector number whose byte offset would overflow 64 bits. */
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, UINT64_MAX / 256, 512, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    /* The last sector itself is fine. */
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, SECTORS - 1, 512, true), 513);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void write_past_the_end(void **state)
{
    struct fixture *f = *state;
    off_t size = lseek(f->fd, 0, SEEK_END);

    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, SECTORS, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(lseek(f->fd, 0, SEEK_END), size); /* the file did not grow */
}

static void length_not_whole_sectors(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 0, 100, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 0, 513, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void read_only_disk(void **state)
{
    struct fixture *f = *state;
    uint8_t sector[512];

    virtio_blk_destroy(&f->blk);
    memset(f->mem.host, 0, RAM_SIZE);
    f->avail_idx = 0;
    assert_int_equal(start_device(f, true), 0);

    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_true(rd(f, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));

    memset(host(f, DATA_GPA), 0xcd, 512);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 1, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    disk_sector(f, 1, sector);
    assert_filled(sector, 512, 2);

    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 1, 512, true), 513);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void unsupported_type(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(simple_request(f, VIRTIO_BLK_T_DISCARD, 0, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(simple_request(f, 0x7777, 0, 512, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
}

static void no_status_byte(void **state)
{
    struct fixture *f = *state;

    put_header(f, HDR_GPA, VIRTIO_BLK_T_OUT, 0);
    const struct buf bufs[] = {{HDR_GPA, 16, false}, {DATA_GPA, 512, false}};
    assert_int_equal(submit(f, bufs, 2), 0); /* handed back untouched */
}

static void header_too_short(void **state)
{
    struct fixture *f = *state;

    put_header(f, HDR_GPA, VIRTIO_BLK_T_IN, 0);
    *host(f, STATUS_GPA) = 0xee;
    const struct buf bufs[] = {{HDR_GPA, 8, false}, {STATUS_GPA, 1, true}};
    assert_int_equal(submit(f, bufs, 2), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);

    /* Only a status byte at all. */
    const struct buf only_status[] = {{STATUS_GPA, 1, true}};
    *host(f, STATUS_GPA) = 0xee;
    assert_int_equal(submit(f, only_status, 1), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void buffer_at_end_of_ram(void **state)
{
    struct fixture *f = *state;

    put_header(f, HDR_GPA, VIRTIO_BLK_T_IN, 9);
    const struct buf bufs[] = {
        {HDR_GPA, 16, false},
        {BASE + RAM_SIZE - 513, 513, true}, /* data and status, ending on RAM's last byte */
    };
    assert_int_equal(submit(f, bufs, 2), 513);
    assert_filled(host(f, BASE + RAM_SIZE - 513), 512, 10);
    assert_int_equal(*host(f, BASE + RAM_SIZE - 1), VIRTIO_BLK_S_OK);
}

static void disk_shrank_under_us(void **state)
{
    struct fixture *f = *state;

    /* The file loses its second half after the guest was told the capacity. */
    assert_int_equal(ftruncate(f->fd, 8 * 512 + 100), 0);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 8, 512, true), 101);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 12, 512, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    /* The device goes on serving what is there. */
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 7, 512, true), 513);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

/* Issue 8 item 5: a write never makes the image grow, even after it shrank. */
static void write_never_extends_a_shrunk_file(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_int_equal(ftruncate(f->fd, 8 * 512 + 100), 0);
    memset(host(f, DATA_GPA), 0xab, 512);
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 10, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    /* Across the new end: also refused, the part inside the file included. */
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 8, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(fstat(f->fd, &st), 0);
    assert_int_equal(st.st_size, 8 * 512 + 100);
    /* Inside the file: fine. */
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 7, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

/*
 * Issue 8 item 5, virtio 1.2 section 5.2.5.1: a driver without
 * VIRTIO_BLK_F_FLUSH may assume write-through, so each write reaches stable
 * storage (one fdatasync) before it completes. With FLUSH, writes are not
 * synced one by one; the FLUSH request is.
 */
static void write_through_without_flush(void **state)
{
    struct fixture *f = *state;
    uint8_t sector[512];

    memset(host(f, DATA_GPA), 0xcd, 512);
    uint64_t before = f->blk.syncs;
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 3, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_int_equal(f->blk.syncs, before); /* FLUSH negotiated: the driver decides */

    wr(f, VIRTIO_MMIO_STATUS, 0); /* reset, and come back without FLUSH */
    f->avail_idx = 0;
    memset(host(f, AVAIL_GPA), 0, 0x2000); /* avail and used rings start over */
    driver_bring_up_with(f, 1ULL << VIRTIO_F_VERSION_1);
    for (unsigned n = 0; n < 3; n++) {
        before = f->blk.syncs;
        assert_int_equal(simple_request(f, VIRTIO_BLK_T_OUT, 4 + n, 512, false), 1);
        assert_int_equal(status(f), VIRTIO_BLK_S_OK);
        assert_int_equal(f->blk.syncs, before + 1);
        disk_sector(f, 4 + n, sector);
        assert_filled(sector, 512, 0xcd);
    }
    /* Reads need no sync. */
    before = f->blk.syncs;
    assert_int_equal(simple_request(f, VIRTIO_BLK_T_IN, 4, 512, true), 513);
    assert_int_equal(f->blk.syncs, before);
}

/* Issue 11 item 3: one preadv/pwritev per request, however many segments carry its data. */
static void one_syscall_per_request(void **state)
{
    struct fixture *f = *state;
    const struct buf read4[] = {
        {HDR_GPA, 16, false},           {DATA_GPA, 512, true},
        {DATA_GPA + 0x400, 512, true},  {DATA_GPA + 0x800, 1024, true},
        {DATA_GPA + 0x1000, 512, true}, {STATUS_GPA, 1, true},
    };
    put_header(f, HDR_GPA, VIRTIO_BLK_T_IN, 2);
    uint64_t before = f->blk.io_calls;
    assert_int_equal(submit(f, read4, 6), 2560 + 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_int_equal(f->blk.io_calls, before + 1);
    assert_filled(host(f, DATA_GPA), 512, 3);
    assert_filled(host(f, DATA_GPA + 0x400), 512, 4);
    assert_filled(host(f, DATA_GPA + 0x800), 512, 5);
    assert_filled(host(f, DATA_GPA + 0x800 + 512), 512, 6);
    assert_filled(host(f, DATA_GPA + 0x1000), 512, 7);

    const struct buf write3[] = {
        {HDR_GPA, 16, false},           {DATA_GPA, 512, false}, {DATA_GPA + 0x400, 512, false},
        {DATA_GPA + 0x800, 512, false}, {STATUS_GPA, 1, true},
    };
    memset(host(f, DATA_GPA), 0x11, 0x1000);
    put_header(f, HDR_GPA, VIRTIO_BLK_T_OUT, 9);
    before = f->blk.io_calls;
    assert_int_equal(submit(f, write3, 5), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_int_equal(f->blk.io_calls, before + 1);
    uint8_t sector[512];
    for (unsigned n = 9; n < 12; n++) {
        disk_sector(f, n, sector);
        assert_filled(sector, 512, 0x11);
    }
}

/*
 * Issue 11 item 3, as a deterministic budget: 40 one-sector reads made
 * available at once and kicked once cost 40 preadv calls and one interrupt,
 * although the worker takes them in two batches (VIRTIO_BLK_BATCH).
 */
static void many_requests_one_interrupt(void **state)
{
    struct fixture *f = *state;
    struct vring_desc *desc = (struct vring_desc *)host(f, DESC_GPA);
    struct vring_avail *avail = (struct vring_avail *)host(f, AVAIL_GPA);
    struct vring_used *used = (struct vring_used *)host(f, USED_GPA);
    enum {
        N = 40
    };

    assert_true(N > VIRTIO_BLK_BATCH && 3 * N <= QSIZE);
    for (unsigned r = 0; r < N; r++) {
        uint64_t hdr = HDR_GPA + 16 * r, data = DATA_GPA + 512 * r, st = STATUS_GPA + r;
        put_header(f, hdr, VIRTIO_BLK_T_IN, r % SECTORS);
        *host(f, st) = 0xee;
        const struct buf bufs[] = {{hdr, 16, false}, {data, 512, true}, {st, 1, true}};
        for (unsigned i = 0; i < 3; i++) {
            uint16_t flags =
                (bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i < 2 ? VRING_DESC_F_NEXT : 0);
            desc[3 * r + i] = (struct vring_desc){.addr = htole64(bufs[i].gpa),
                                                  .len = htole32(bufs[i].len),
                                                  .flags = htole16(flags),
                                                  .next = htole16(3 * r + i + 1)};
        }
        avail->ring[(f->avail_idx + r) % QSIZE] = htole16(3 * r);
    }
    f->avail_idx += N;
    avail->idx = htole16(f->avail_idx);
    uint64_t calls = f->blk.io_calls, requests = f->blk.requests;
    uint64_t irqs = f->blk.transport.used_notifications;

    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(le16toh(used->idx), f->avail_idx);
    assert_int_equal(f->blk.requests - requests, N);
    assert_int_equal(f->blk.io_calls - calls, N);
    assert_int_equal(f->blk.transport.used_notifications - irqs, 1);
    assert_true(fake_edge_gic_take(&f->gic));
    for (unsigned r = 0; r < N; r++) {
        assert_int_equal(*host(f, STATUS_GPA + r), VIRTIO_BLK_S_OK);
        assert_filled(host(f, DATA_GPA + 512 * r), 512, (uint8_t)(r % SECTORS + 1));
    }
}

static void malformed_chain_needs_reset(void **state)
{
    struct fixture *f = *state;
    struct vring_desc *desc = (struct vring_desc *)host(f, DESC_GPA);
    struct vring_avail *avail = (struct vring_avail *)host(f, AVAIL_GPA);

    desc[0] = (struct vring_desc){.addr = htole64(BASE + RAM_SIZE), .len = htole32(16)};
    avail->ring[0] = 0;
    avail->idx = htole16(1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    assert_true(fake_edge_gic_take(&f->gic));
}

static void init_rejects_bad_backends(void **state)
{
    struct fixture *f = *state;
    struct virtio_blk blk;
    struct irq_line irq = {0};
    int pipefd[2];
    char path[] = "/tmp/god-test-blk-XXXXXX";

    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(virtio_blk_init(&blk, pipefd[0], false, NULL, &f->mem, 0, irq), -EINVAL);
    close(pipefd[0]);
    close(pipefd[1]);

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(virtio_blk_init(&blk, fd, false, NULL, &f->mem, 0, irq), -EINVAL);
    close(fd);
    assert_int_equal(virtio_blk_init(&blk, -1, false, NULL, &f->mem, 0, irq), -EBADF);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(config_and_features),
        T(read_two_sectors),
        T(read_with_odd_framing),
        T(write_one_sector),
        T(flush),
        T(get_id),
        T(read_past_the_end),
        T(write_past_the_end),
        T(length_not_whole_sectors),
        T(read_only_disk),
        T(unsupported_type),
        T(no_status_byte),
        T(header_too_short),
        T(buffer_at_end_of_ram),
        T(disk_shrank_under_us),
        T(write_never_extends_a_shrunk_file),
        T(write_through_without_flush),
        T(one_syscall_per_request),
        T(many_requests_one_interrupt),
        T(malformed_chain_needs_reset),
        T(init_rejects_bad_backends),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
