/*
 * cases_queue.c - split virtqueues done wrong (virtio 1.2 section 2.7): queue
 * sizes and ring addresses, rings changed while ready, descriptor loops,
 * indexes out of range, buffers outside RAM, straddling its end or wrapping
 * 2^64, zero and 4 GiB lengths, avail idx jumps, indirect tables of every
 * wrong kind. The answer virtio 1.2 allows and god gives: DEVICE_NEEDS_RESET
 * (section 2.1.2) with a configuration change interrupt, nothing used.
 */
#include "cases.h"

#define RUNNING (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

/* ---- queue set-up ------------------------------------------------------- */

/* Reset, negotiate, then program queue 0 with these values and set QueueReady. */
static uint32_t raw_queue(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
    vw(&blk, R_STATUS, 0);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER);
    vw(&blk, R_DRV_FEATURES_SEL, 1);
    vw(&blk, R_DRV_FEATURES, 1);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    vw(&blk, R_QUEUE_SEL, 0);
    vw(&blk, R_QUEUE_NUM, num);
    vw(&blk, R_DESC_LO, (uint32_t)desc);
    vw(&blk, R_DESC_HI, (uint32_t)(desc >> 32));
    vw(&blk, R_AVAIL_LO, (uint32_t)avail);
    vw(&blk, R_AVAIL_HI, (uint32_t)(avail >> 32));
    vw(&blk, R_USED_LO, (uint32_t)used);
    vw(&blk, R_USED_HI, (uint32_t)(used >> 32));
    vw(&blk, R_QUEUE_READY, 1);
    return vr(&blk, R_STATUS);
}

static const char *bad_queue(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
    uint32_t s = raw_queue(num, desc, avail, used);
    CHECK(s & S_NEEDS_RESET, "accepted without DEVICE_NEEDS_RESET");
    CHECK(vr(&blk, R_QUEUE_READY) == 0, "the queue reads as ready");
    vw(&blk, R_STATUS, s | S_DRIVER_OK);
    vw(&blk, R_QUEUE_NOTIFY, 0); /* a kick on the refused queue: nothing may happen */
    return NULL;
}

#define RING blk.mem
static const char *qsize_0(void)
{
    return bad_queue(0, RING, RING + 0x1000, RING + 0x2000);
}
static const char *qsize_3(void)
{
    return bad_queue(3, RING, RING + 0x1000, RING + 0x2000);
}
static const char *qsize_512(void)
{
    return bad_queue(512, RING, RING + 0x1000, RING + 0x2000);
}
static const char *qsize_huge(void)
{
    return bad_queue(0x80000000, RING, RING + 0x1000, RING + 0x2000);
}
static const char *rings_unset(void)
{
    return bad_queue(16, 0, 0, 0);
}
static const char *desc_misaligned(void)
{
    return bad_queue(16, RING + 8, RING + 0x1000, RING + 0x2000);
}
static const char *avail_odd(void)
{
    return bad_queue(16, RING, RING + 0x1001, RING + 0x2000);
}
static const char *used_misaligned(void)
{
    return bad_queue(16, RING, RING + 0x1000, RING + 0x2002);
}
static const char *rings_in_mmio(void)
{
    return bad_queue(16, VIRTIO_MMIO_BASE, RING + 0x1000, RING + 0x2000);
}
static const char *used_straddles_ram_end(void)
{
    return bad_queue(16, RING, RING + 0x1000, ram_end - 64);
}
static const char *desc_above_4g(void)
{
    return bad_queue(16, RING | (1ULL << 32), RING + 0x1000, RING + 0x2000);
}
static const char *desc_wraps(void)
{
    return bad_queue(16, 0xfffffffffffff000ULL, RING + 0x1000, RING + 0x2000);
}

static const char *change_while_ready(void)
{
    vw(&blk, R_QUEUE_SEL, 0);
    vw(&blk, R_QUEUE_NUM, 2);
    vw(&blk, R_DESC_LO, 0);
    vw(&blk, R_DESC_HI, 0xffffffff);
    vw(&blk, R_AVAIL_LO, 1);
    vw(&blk, R_USED_LO, 3);
    CHECK(vr(&blk, R_STATUS) == RUNNING, "changing a ready queue changed Status");
    return NULL; /* the recovery read proves the old rings are still in use */
}

static const char *ready_twice(void)
{
    uint16_t before = used_idx(&blk.q[0]);
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush failed");
    vw(&blk, R_QUEUE_SEL, 0);
    vw(&blk, R_QUEUE_READY, 1);
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush after QueueReady=1 again failed");
    CHECK(used_idx(&blk.q[0]) == (uint16_t)(before + 2), "old buffers were used again");
    return NULL;
}

static const char *ready_0_then_kick(void)
{
    vw(&blk, R_QUEUE_SEL, 0);
    vw(&blk, R_QUEUE_READY, 0);
    CHECK(vr(&blk, R_QUEUE_READY) == 0, "QueueReady does not read 0");
    struct vq *q = &blk.q[0];
    uint16_t before = used_idx(q);
    desc_set(q, 0, (uintptr_t)vbuf(&blk, 0), 16, 0, 0);
    vq_post(q, 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, 200000) == WAIT_TIMEOUT, "a queue that is not ready was used");
    CHECK(used_idx(q) == before, "used idx moved");
    /* Re-enable with fresh rings: indexes start again at 0 on both sides. */
    vq_place(&blk, 0, STD_QSIZE);
    vw(&blk, R_QUEUE_NUM, STD_QSIZE);
    vw(&blk, R_DESC_LO, (uint32_t)q->desc_gpa);
    vw(&blk, R_AVAIL_LO, (uint32_t)q->avail_gpa);
    vw(&blk, R_USED_LO, (uint32_t)q->used_gpa);
    vw(&blk, R_QUEUE_READY, 1);
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "the re-enabled queue does not work");
    return NULL;
}

static const char *queue_size_2(void)
{
    /* The smallest queue a request fits: header, then id and status in one buffer. */
    const char *why = vdev_init(&blk, STD_FEATURES, 2);
    CHECK(!why, why);
    struct vq *q = &blk.q[0];
    for (int round = 0; round < 5; round++) {
        struct blk_hdr *hdr = (struct blk_hdr *)vbuf(&blk, 0);
        uint8_t *buf = vbuf(&blk, 1);
        *hdr = (struct blk_hdr){.type = T_GET_ID};
        memset(buf, 0xee, 21);
        desc_set(q, 0, (uintptr_t)hdr, 16, D_NEXT, 1);
        desc_set(q, 1, (uintptr_t)buf, 21, D_WRITE, 0);
        vq_post(q, 0);
        vq_kick(&blk, 0);
        CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "no answer");
        CHECK(buf[20] == BLK_OK && memcmp(buf, "god-disk-0", 10) == 0, "GET_ID wrong");
    }
    vw(&blk, R_STATUS, 0);
    return NULL;
}

/* ---- descriptor chains -------------------------------------------------- */

/* A read of sector 1: header in desc h, data in d, status in s. Returns the head. */
static struct blk_hdr *hdr0(uint32_t type, uint64_t sector)
{
    struct blk_hdr *hdr = (struct blk_hdr *)vbuf(&blk, 0);
    *hdr = (struct blk_hdr){.type = type, .sector = sector};
    return hdr;
}
#define DATA   ((uintptr_t)vbuf(&blk, 1))
#define STATUS ((uintptr_t)vbuf(&blk, 2))

static const char *loop_self(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *loop_pair(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 1);
    desc_set(q, 1, DATA, 512, D_WRITE | D_NEXT, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *loop_whole_table(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 1);
    for (unsigned i = 1; i < STD_QSIZE; i++)
        desc_set(q, i, DATA, 512, D_WRITE | D_NEXT, (i + 1) % STD_QSIZE);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *next_out_of_range(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, STD_QSIZE);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *next_ffff(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 0xffff);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *head_out_of_range(void)
{
    return expect_needs_reset(&blk, 0, STD_QSIZE);
}

static const char *head_ffff(void)
{
    return expect_needs_reset(&blk, 0, 0xffff);
}

/* header, then one data buffer (addr, len, flags), then the status byte */
static const char *bad_data(uint64_t addr, uint32_t len, uint16_t flags)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 1);
    desc_set(q, 1, addr, len, flags | D_NEXT, 2);
    desc_set(q, 2, STATUS, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *len_zero(void)
{
    return bad_data(DATA, 0, D_WRITE);
}
static const char *len_4g(void)
{
    return bad_data(DATA, 0xffffffff, D_WRITE);
}
static const char *buf_wraps(void)
{
    return bad_data(0xffffffffffffff00ULL, 0x200, D_WRITE);
}
static const char *buf_below_ram(void)
{
    return bad_data(ram_start - 16, 512, D_WRITE);
}
static const char *buf_in_mmio(void)
{
    return bad_data(VIRTIO_MMIO_BASE, 512, D_WRITE);
}
static const char *buf_at_zero(void)
{
    return bad_data(0, 512, D_WRITE);
}
static const char *buf_past_ram(void)
{
    return bad_data(ram_end, 512, D_WRITE);
}

static const char *buf_straddles_ram_end(void)
{
    /* The half inside RAM must not be written either (it is the DTB's tail: we are done with it).
     */
    uint8_t *inside = (uint8_t *)(uintptr_t)(ram_end - 256);
    canary_fill(inside, 256);
    const char *why = bad_data(ram_end - 256, 512, D_WRITE);
    CHECK(canary_intact(inside, 256), "the part inside RAM was written");
    return why;
}

static const char *header_len_zero(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 0, D_NEXT, 1);
    desc_set(q, 1, STATUS, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *header_outside_ram(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, 0x1000, 16, D_NEXT, 1);
    desc_set(q, 1, STATUS, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *status_outside_ram(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_FLUSH, 0), 16, D_NEXT, 1);
    desc_set(q, 1, ram_end, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *status_last_byte_of_ram(void)
{
    /* Legal: the very last byte of RAM. */
    struct vq *q = &blk.q[0];
    volatile uint8_t *last = (volatile uint8_t *)(uintptr_t)(ram_end - 1);
    *last = 0xff;
    desc_set(q, 0, (uintptr_t)hdr0(T_FLUSH, 0), 16, D_NEXT, 1);
    desc_set(q, 1, ram_end - 1, 1, D_WRITE, 0);
    vq_post(q, 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "not served");
    CHECK(*last == BLK_OK, "status not written to the last byte of RAM");
    return NULL;
}

static const char *readable_after_writable(void)
{
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 1);
    desc_set(q, 1, STATUS, 1, D_WRITE | D_NEXT, 2);
    desc_set(q, 2, DATA, 512, D_NEXT, 3);
    desc_set(q, 3, STATUS + 1, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *chain_over_4g(void)
{
    /* 100 overlapping 60 MiB buffers, all inside RAM, 6 GB in total: over section 2.7.5.2's 4 GiB.
     */
    const char *why = vdev_init(&blk, STD_FEATURES, 128);
    CHECK(!why, why);
    struct vq *q = &blk.q[0];
    uint32_t len = (uint32_t)(ram_end - ram_start < (60u << 20) ? ram_end - ram_start : 60u << 20);
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 1), 16, D_NEXT, 1);
    for (unsigned i = 1; i < 100; i++)
        desc_set(q, i, ram_start, len, D_WRITE | D_NEXT, i + 1);
    desc_set(q, 100, STATUS, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *avail_jump(void)
{
    struct vq *q = &blk.q[0];
    q->avail_idx += STD_QSIZE; /* plus the one vq_post adds: a ring and a bit ahead */
    desc_set(q, 0, (uintptr_t)hdr0(T_FLUSH, 0), 16, D_NEXT, 1);
    desc_set(q, 1, STATUS, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *avail_backwards(void)
{
    struct vq *q = &blk.q[0];
    q->avail_idx -= 2; /* vq_post adds one: idx = last - 1, 65535 ahead */
    desc_set(q, 0, (uintptr_t)hdr0(T_FLUSH, 0), 16, D_NEXT, 1);
    desc_set(q, 1, STATUS, 1, D_WRITE, 0);
    return expect_needs_reset(&blk, 0, 0);
}

/* A whole ring at once: each request one indirect descriptor. */
static const char *full_ring(void)
{
    struct vq *q = &blk.q[0];
    for (unsigned i = 0; i < STD_QSIZE; i++) {
        struct desc *t = (struct desc *)(vbuf(&blk, 3) + i * 64);
        struct blk_hdr *hdr = (struct blk_hdr *)(vbuf(&blk, 4) + i * 32);
        *hdr = (struct blk_hdr){.type = T_IN, .sector = i};
        vbuf(&blk, 2)[i] = 0xff;
        t[0] = (struct desc){(uintptr_t)hdr, 16, D_NEXT, 1};
        t[1] = (struct desc){(uintptr_t)(vbuf(&blk, 5) + i * 512), 512, D_WRITE | D_NEXT, 2};
        t[2] = (struct desc){(uintptr_t)(vbuf(&blk, 2) + i), 1, D_WRITE, 0};
        desc_set(q, i, (uintptr_t)t, 48, D_INDIRECT, 0);
        q->avail[2 + q->avail_idx % q->size] = i;
        q->avail_idx++;
    }
    mb();
    q->avail[1] = q->avail_idx;
    vq_kick(&blk, 0);
    for (unsigned i = 0; i < STD_QSIZE; i++)
        CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "not all of a full ring was served");
    for (unsigned i = 0; i < STD_QSIZE; i++)
        CHECK(vbuf(&blk, 2)[i] == BLK_OK && blk_sector_matches(vbuf(&blk, 5) + i * 512, i, 1),
              "a request of the full ring failed");
    return NULL;
}

static const char *ring_wraps(void)
{
    /* 40 requests through a 16-entry ring: slots wrap, used ids must follow. */
    for (unsigned i = 0; i < 40; i++) {
        uint8_t *buf = vbuf(&blk, 5);
        CHECK(blk_rw(&blk, T_IN, 100 + i, buf, 512, 0) == BLK_OK, "a request failed");
        CHECK(blk_sector_matches(buf, 100 + i, 1), "wrong data");
    }
    return NULL;
}

static const char *used_idx_scribbled(void)
{
    /* The driver writes used->idx and the used ring: the device must keep its own count. */
    struct vq *q = &blk.q[0];
    uint16_t want = (uint16_t)(used_idx(q) + 1);
    *(volatile uint16_t *)(q->used + 2) = 0x1234;
    memset((void *)(q->used + 4), 0xab, 8 * STD_QSIZE);
    *(volatile uint8_t *)STATUS = 0xff;
    desc_set(q, 0, (uintptr_t)hdr0(T_FLUSH, 0), 16, D_NEXT, 1);
    desc_set(q, 1, STATUS, 1, D_WRITE, 0);
    vq_post(q, 0);
    vq_kick(&blk, 0);
    uint64_t end = now_us() + WAIT_LONG;
    while (used_idx(q) != want && now_us() < end)
        ;
    CHECK(used_idx(q) == want, "used idx is not the device's own count + 1");
    q->used_seen = want;
    CHECK(*(volatile uint8_t *)STATUS == BLK_OK, "flush failed");
    CHECK(used_id(q, want - 1) == 0 && used_len(q, want - 1) == 1, "wrong used element");
    return NULL;
}

static const char *descs_rewritten_after_use(void)
{
    /* The driver changes a served chain's descriptors: the device must not look again. */
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush failed");
    struct vq *q = &blk.q[0];
    desc_set(q, 0, 0, 0xffffffff, D_NEXT, 0);
    vq_kick(&blk, 0);
    return NULL;
}

static const char *max_segments(void)
{
    /* header + 14 data buffers + status = 16 = the queue size: the longest legal chain. */
    struct vq *q = &blk.q[0];
    desc_set(q, 0, (uintptr_t)hdr0(T_IN, 200), 16, D_NEXT, 1);
    for (unsigned i = 1; i <= 14; i++)
        desc_set(q, i, DATA + (i - 1) * 512, 512, D_WRITE | D_NEXT, i + 1);
    *(volatile uint8_t *)STATUS = 0xff;
    desc_set(q, 15, STATUS, 1, D_WRITE, 0);
    vq_post(q, 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "not served");
    CHECK(*(volatile uint8_t *)STATUS == BLK_OK, "failed");
    CHECK(used_len(q, q->used_seen - 1) == 14 * 512 + 1, "used len is not data + status");
    CHECK(blk_sector_matches(vbuf(&blk, 1), 200, 14), "wrong data");
    return NULL;
}

/* ---- indirect tables (section 2.7.5.3) ---------------------------------- */

static struct desc *itable(void)
{
    return (struct desc *)vbuf(&blk, 3);
}

static void std_table(struct desc *t)
{
    t[0] = (struct desc){(uintptr_t)hdr0(T_IN, 7), 16, D_NEXT, 1};
    t[1] = (struct desc){DATA, 512, D_WRITE | D_NEXT, 2};
    t[2] = (struct desc){STATUS, 1, D_WRITE, 0};
}

static const char *indirect(uint64_t addr, uint32_t len, uint16_t flags)
{
    desc_set(&blk.q[0], 0, addr, len, flags, 0);
    return expect_needs_reset(&blk, 0, 0);
}

static const char *indirect_ok(void)
{
    std_table(itable());
    *(volatile uint8_t *)STATUS = 0xff;
    desc_set(&blk.q[0], 0, (uintptr_t)itable(), 48, D_INDIRECT, 0);
    vq_post(&blk.q[0], 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "not served");
    CHECK(*(volatile uint8_t *)STATUS == BLK_OK && blk_sector_matches(vbuf(&blk, 1), 7, 1),
          "an indirect read failed");
    return NULL;
}

static const char *indirect_write_flag(void)
{
    /* Section 2.7.5.3.2: the device ignores WRITE on the descriptor that points at a table. */
    std_table(itable());
    *(volatile uint8_t *)STATUS = 0xff;
    desc_set(&blk.q[0], 0, (uintptr_t)itable(), 48, D_INDIRECT | D_WRITE, 0);
    vq_post(&blk.q[0], 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "not served");
    CHECK(*(volatile uint8_t *)STATUS == BLK_OK, "failed");
    return NULL;
}

static const char *indirect_not_negotiated(void)
{
    const char *why = vdev_init(&blk, F_VERSION_1, STD_QSIZE);
    CHECK(!why, why);
    std_table(itable());
    return indirect((uintptr_t)itable(), 48, D_INDIRECT);
}

static const char *indirect_nested(void)
{
    struct desc *t = itable();
    std_table(t + 4);
    t[0] = (struct desc){(uintptr_t)(t + 4), 48, D_INDIRECT, 0};
    return indirect((uintptr_t)t, 16, D_INDIRECT);
}

static const char *indirect_with_next(void)
{
    std_table(itable());
    desc_set(&blk.q[0], 1, STATUS, 1, D_WRITE, 0);
    return indirect((uintptr_t)itable(), 48, D_INDIRECT | D_NEXT);
}

static const char *indirect_empty(void)
{
    return indirect((uintptr_t)itable(), 0, D_INDIRECT);
}

static const char *indirect_len_not_multiple(void)
{
    std_table(itable());
    return indirect((uintptr_t)itable(), 40, D_INDIRECT);
}

static const char *indirect_outside_ram(void)
{
    return indirect(0x1000, 48, D_INDIRECT);
}

static const char *indirect_straddles_ram_end(void)
{
    return indirect(ram_end - 32, 48, D_INDIRECT);
}

static const char *indirect_wraps(void)
{
    return indirect(0xfffffffffffffff0ULL, 48, D_INDIRECT);
}

static const char *indirect_huge_len(void)
{
    return indirect((uintptr_t)itable(), 0xfffffff0, D_INDIRECT);
}

static const char *indirect_next_out_of_range(void)
{
    struct desc *t = itable();
    std_table(t);
    t[1].next = 3;
    return indirect((uintptr_t)t, 48, D_INDIRECT);
}

static const char *indirect_loop(void)
{
    struct desc *t = itable();
    std_table(t);
    t[1].next = 0;
    return indirect((uintptr_t)t, 48, D_INDIRECT);
}

static const char *indirect_longer_than_queue(void)
{
    /* Section 2.7.5.3.1: no chain longer than the queue size, indirect or not. */
    struct desc *t = itable();
    t[0] = (struct desc){(uintptr_t)hdr0(T_IN, 0), 16, D_NEXT, 1};
    for (unsigned i = 1; i < 40; i++)
        t[i] = (struct desc){DATA, 512, D_WRITE | D_NEXT, (uint16_t)(i + 1)};
    t[40] = (struct desc){STATUS, 1, D_WRITE, 0};
    return indirect((uintptr_t)t, 41 * 16, D_INDIRECT);
}

static const char *indirect_misaligned(void)
{
    /* A table at an 8-byte offset: virtio 1.2 asks no alignment of it, so god may serve it. */
    struct desc *t = (struct desc *)(vbuf(&blk, 3) + 8);
    std_table(t);
    *(volatile uint8_t *)STATUS = 0xff;
    desc_set(&blk.q[0], 0, (uintptr_t)t, 48, D_INDIRECT, 0);
    vq_post(&blk.q[0], 0);
    vq_kick(&blk, 0);
    enum wait_result r = vq_wait(&blk, 0, WAIT_LONG);
    CHECK(r != WAIT_TIMEOUT, "no answer");
    CHECK(r == WAIT_NEEDS_RESET || *(volatile uint8_t *)STATUS == BLK_OK,
          "served, but the read failed");
    return NULL;
}

static const char *indirect_table_in_chain_tail(void)
{
    /* The descriptors inside an indirect table point outside RAM. */
    struct desc *t = itable();
    std_table(t);
    t[1].addr = ram_end + 4096;
    return indirect((uintptr_t)t, 48, D_INDIRECT);
}

const struct hostile_case queue_cases[] = {
    {"queue size 0", qsize_0},
    {"queue size 3 (not a power of two)", qsize_3},
    {"queue size 512 (over QueueNumMax)", qsize_512},
    {"queue size 0x80000000", qsize_huge},
    {"QueueReady with unset rings", rings_unset},
    {"descriptor table misaligned", desc_misaligned},
    {"avail ring at an odd address", avail_odd},
    {"used ring misaligned", used_misaligned},
    {"rings in MMIO space", rings_in_mmio},
    {"used ring straddles RAM's end", used_straddles_ram_end},
    {"descriptor table above 4 GiB", desc_above_4g},
    {"descriptor table wraps 2^64", desc_wraps},
    {"ring addresses changed while ready", change_while_ready},
    {"QueueReady=1 twice", ready_twice},
    {"QueueReady=0, kick, re-enable", ready_0_then_kick},
    {"queue size 2", queue_size_2},
    {"descriptor loop to itself", loop_self},
    {"descriptor loop of two", loop_pair},
    {"descriptor loop through the whole table", loop_whole_table},
    {"next = queue size", next_out_of_range},
    {"next = 0xffff", next_ffff},
    {"avail head = queue size", head_out_of_range},
    {"avail head = 0xffff", head_ffff},
    {"data length 0", len_zero},
    {"data length 4 GiB - 1", len_4g},
    {"buffer wraps 2^64", buf_wraps},
    {"buffer starts below RAM", buf_below_ram},
    {"buffer in MMIO space", buf_in_mmio},
    {"buffer at address 0", buf_at_zero},
    {"buffer just past RAM", buf_past_ram},
    {"buffer straddles RAM's end", buf_straddles_ram_end},
    {"header length 0", header_len_zero},
    {"header outside RAM", header_outside_ram},
    {"status byte outside RAM", status_outside_ram},
    {"status byte is RAM's last byte", status_last_byte_of_ram},
    {"readable after writable", readable_after_writable},
    {"chain over 4 GiB in total", chain_over_4g},
    {"avail idx jumps a ring ahead", avail_jump},
    {"avail idx goes backwards", avail_backwards},
    {"a full ring at once", full_ring},
    {"ring slots wrap (40 requests)", ring_wraps},
    {"driver scribbles on the used ring", used_idx_scribbled},
    {"descriptors rewritten after use", descs_rewritten_after_use},
    {"longest legal chain", max_segments},
    {"indirect table", indirect_ok},
    {"indirect with WRITE set", indirect_write_flag},
    {"indirect not negotiated", indirect_not_negotiated},
    {"indirect nested", indirect_nested},
    {"indirect with NEXT", indirect_with_next},
    {"indirect table empty", indirect_empty},
    {"indirect length not a multiple of 16", indirect_len_not_multiple},
    {"indirect table outside RAM", indirect_outside_ram},
    {"indirect table straddles RAM's end", indirect_straddles_ram_end},
    {"indirect table wraps 2^64", indirect_wraps},
    {"indirect length 4 GiB - 16", indirect_huge_len},
    {"indirect next out of range", indirect_next_out_of_range},
    {"indirect loop", indirect_loop},
    {"indirect chain longer than the queue", indirect_longer_than_queue},
    {"indirect table misaligned", indirect_misaligned},
    {"indirect entry outside RAM", indirect_table_in_chain_tail},
};
const unsigned queue_count = ARRAY_SIZE(queue_cases);
