/*
 * cases_blk.c - virtio-blk requests done wrong (virtio 1.2 section 5.2.6):
 * short and split headers, status bytes missing, read-only or sharing a
 * buffer, unknown types, sectors past the end and overflowing, lengths that
 * are no whole sectors, a read-only disk, GET_ID into small buffers.
 * Malformed requests get a status byte (IOERR, UNSUPP), not a reset.
 */
#include "cases.h"

#define HDR    ((struct blk_hdr *)vbuf(&blk, 0))
#define DATA   vbuf(&blk, 1)
#define STATUS vbuf(&blk, 2)

/* Serve a chain set up by the caller in descriptors 0..; expect it used. */
static const char *serve(uint32_t *len)
{
    struct vq *q = &blk.q[0];
    vq_post(q, 0);
    vq_kick(&blk, 0);
    enum wait_result r = vq_wait(&blk, 0, WAIT_LONG);
    CHECK(r != WAIT_NEEDS_RESET, "DEVICE_NEEDS_RESET for a well-framed request");
    CHECK(r == WAIT_USED, "no answer");
    CHECK(used_id(q, q->used_seen - 1) == 0, "used id is not the head");
    *len = used_len(q, q->used_seen - 1);
    return NULL;
}

/* Header, data (len bytes, writable or not), status: the standard 3-descriptor request. */
static const char *request(uint32_t type, uint64_t sector, uint32_t len, uint16_t data_flags,
                           uint8_t *status, uint32_t *used)
{
    struct vq *q = &blk.q[0];
    *HDR = (struct blk_hdr){.type = type, .sector = sector};
    STATUS[0] = 0xff;
    desc_set(q, 0, (uintptr_t)HDR, 16, D_NEXT, len ? 1 : 2);
    desc_set(q, 1, (uintptr_t)DATA, len, data_flags | D_NEXT, 2);
    desc_set(q, 2, (uintptr_t)STATUS, 1, D_WRITE, 0);
    const char *why = serve(used);
    *status = STATUS[0];
    return why;
}

static const char *expect_status(uint32_t type, uint64_t sector, uint32_t len, uint16_t flags,
                                 uint8_t want)
{
    uint8_t status;
    uint32_t used;
    canary_fill(DATA, 4096);
    const char *why = request(type, sector, len, flags, &status, &used);
    CHECK(!why, why);
    CHECK(status == want, want == BLK_IOERR    ? "status is not IOERR"
                          : want == BLK_UNSUPP ? "status is not UNSUPP"
                                               : "status is not OK");
    if (want != BLK_OK) {
        CHECK(used == 1, "used len of a failed request is not 1");
        CHECK(canary_intact(DATA, 4096), "a failed request wrote data");
    }
    return NULL;
}

static const char *header_short(void)
{
    struct vq *q = &blk.q[0];
    uint32_t used;
    *HDR = (struct blk_hdr){.type = T_IN, .sector = 1};
    STATUS[0] = 0xff;
    desc_set(q, 0, (uintptr_t)HDR, 8, D_NEXT, 1);
    desc_set(q, 1, (uintptr_t)STATUS, 1, D_WRITE, 0);
    const char *why = serve(&used);
    CHECK(!why, why);
    CHECK(STATUS[0] == BLK_IOERR && used == 1, "an 8-byte header was not IOERR");
    return NULL;
}

static const char *header_split(unsigned pieces)
{
    /* Section 2.7.4: the device must not assume any framing. */
    struct vq *q = &blk.q[0];
    uint32_t used;
    unsigned step = 16 / pieces;
    *HDR = (struct blk_hdr){.type = T_IN, .sector = 9};
    for (unsigned i = 0; i < pieces; i++)
        desc_set(q, i, (uintptr_t)HDR + i * step, step, D_NEXT, i + 1);
    /* data and status in one buffer: the status is its last byte */
    memset(DATA, 0, 513);
    DATA[512] = 0xff;
    desc_set(q, pieces, (uintptr_t)DATA, 513, D_WRITE, 0);
    const char *why = serve(&used);
    CHECK(!why, why);
    CHECK(DATA[512] == BLK_OK && used == 513, "failed");
    CHECK(blk_sector_matches(DATA, 9, 1), "wrong data");
    return NULL;
}

static const char *header_in_2(void)
{
    return header_split(2);
}
static const char *header_in_8(void)
{
    return header_split(8); /* 8 + 1 descriptors: within the 16-entry queue */
}

static const char *status_readonly(void)
{
    /* No writable byte: nowhere for a status. Handed back, used len 0, nothing written. */
    struct vq *q = &blk.q[0];
    uint32_t used;
    *HDR = (struct blk_hdr){.type = T_IN, .sector = 1};
    canary_fill(DATA, 1024);
    desc_set(q, 0, (uintptr_t)HDR, 16, D_NEXT, 1);
    desc_set(q, 1, (uintptr_t)DATA, 512, D_NEXT, 2);
    desc_set(q, 2, (uintptr_t)DATA + 512, 1, 0, 0);
    const char *why = serve(&used);
    CHECK(!why, why);
    CHECK(used == 0, "used len is not 0");
    CHECK(canary_intact(DATA, 1024), "read-only buffers were written");
    return NULL;
}

static const char *status_missing(void)
{
    struct vq *q = &blk.q[0];
    uint32_t used;
    *HDR = (struct blk_hdr){.type = T_FLUSH};
    desc_set(q, 0, (uintptr_t)HDR, 16, 0, 0);
    const char *why = serve(&used);
    CHECK(!why, why);
    CHECK(used == 0, "used len is not 0");
    return NULL;
}

static const char *unknown_type(void)
{
    return expect_status(0x1234, 0, 512, D_WRITE, BLK_UNSUPP);
}
static const char *type_ffffffff(void)
{
    return expect_status(0xffffffff, 0, 512, D_WRITE, BLK_UNSUPP);
}
static const char *type_discard(void)
{
    return expect_status(11, 0, 16, 0, BLK_UNSUPP); /* not offered */
}
static const char *type_write_zeroes(void)
{
    return expect_status(13, 0, 16, 0, BLK_UNSUPP); /* not offered */
}
static const char *read_at_capacity(void)
{
    return expect_status(T_IN, DISK_SECTORS, 512, D_WRITE, BLK_IOERR);
}
static const char *read_straddles_end(void)
{
    return expect_status(T_IN, DISK_SECTORS - 1, 1024, D_WRITE, BLK_IOERR);
}
static const char *read_sector_max(void)
{
    return expect_status(T_IN, ~0ULL, 512, D_WRITE, BLK_IOERR);
}
static const char *read_sector_wraps(void)
{
    return expect_status(T_IN, 1ULL << 55, 512, D_WRITE, BLK_IOERR); /* x512 = 2^64 = 0 */
}
static const char *read_sector_wraps_len(void)
{
    return expect_status(T_IN, (1ULL << 55) - 1, 1024, D_WRITE, BLK_IOERR);
}
static const char *read_len_not_sectors(void)
{
    return expect_status(T_IN, 0, 100, D_WRITE, BLK_IOERR);
}
static const char *write_past_end(void)
{
    return expect_status(T_OUT, DISK_SECTORS, 512, 0, BLK_IOERR);
}
static const char *write_straddles_end(void)
{
    return expect_status(T_OUT, DISK_SECTORS - 1, 1024, 0, BLK_IOERR);
}
static const char *write_sector_wraps(void)
{
    return expect_status(T_OUT, 1ULL << 55, 512, 0, BLK_IOERR);
}
static const char *write_len_not_sectors(void)
{
    return expect_status(T_OUT, SCRATCH_FIRST, 100, 0, BLK_IOERR);
}

static const char *read_last_sector(void)
{
    const char *why = expect_status(T_IN, DISK_SECTORS - 1, 512, D_WRITE, BLK_OK);
    CHECK(!why, why);
    CHECK(blk_sector_matches(DATA, DISK_SECTORS - 1, 1), "wrong data");
    return NULL;
}

static const char *read_no_data(void)
{
    uint8_t status;
    uint32_t used;
    const char *why = request(T_IN, 0, 0, D_WRITE, &status, &used);
    CHECK(!why, why);
    CHECK(status == BLK_OK && used == 1, "an empty read is not OK with used len 1");
    return NULL;
}

static const char *read_into_readonly_buffer(void)
{
    /* The data buffer is not device-writable: nothing may be written into it. */
    uint8_t status;
    uint32_t used;
    canary_fill(DATA, 512);
    const char *why = request(T_IN, 3, 512, 0, &status, &used);
    CHECK(!why, why);
    CHECK(canary_intact(DATA, 512), "the device wrote into a read-only buffer");
    CHECK(used <= 1, "used len counts bytes not written");
    return NULL;
}

static const char *write_from_writable_buffer(void)
{
    /* OUT whose data is device-writable: no data to write, and the buffer stays as it was. */
    uint8_t status;
    uint32_t used;
    canary_fill(DATA, 512);
    const char *why = request(T_OUT, SCRATCH_FIRST, 512, D_WRITE, &status, &used);
    CHECK(!why, why);
    CHECK(canary_intact(DATA, 512), "the device wrote into the data buffer");
    return NULL;
}

static const char *write_read_back(void)
{
    uint8_t *buf = vbuf(&blk, 5);
    for (unsigned i = 0; i < 1024; i++)
        buf[i] = (uint8_t)(i * 3 + 1);
    CHECK(blk_rw(&blk, T_OUT, SCRATCH_FIRST + 2, buf, 1024, 0) == BLK_OK, "write failed");
    memset(buf, 0, 1024);
    CHECK(blk_rw(&blk, T_IN, SCRATCH_FIRST + 2, buf, 1024, 0) == BLK_OK, "read failed");
    for (unsigned i = 0; i < 1024; i++)
        CHECK(buf[i] == (uint8_t)(i * 3 + 1), "read back wrong data");
    return NULL;
}

static const char *write_readonly_disk(void)
{
    uint8_t *buf = vbuf(&ro, 5);
    uint32_t used;
    memset(buf, 0x77, 512);
    CHECK(blk_rw(&ro, T_OUT, 3, buf, 512, &used) == BLK_IOERR, "a write to a ,ro disk succeeded");
    CHECK(blk_rw(&ro, T_IN, 3, buf, 512, 0) == BLK_OK, "read failed");
    CHECK(blk_sector_matches(buf, 3, 1), "the ,ro disk changed");
    return NULL;
}

static const char *flush(void)
{
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush failed");
    CHECK(blk_rw(&ro, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush of the ,ro disk failed");
    return NULL;
}

static const char *flush_with_data(void)
{
    return expect_status(T_FLUSH, 12345, 512, D_WRITE, BLK_OK);
}

static const char *get_id(unsigned len, const char *want, unsigned want_len)
{
    uint8_t status;
    uint32_t used;
    canary_fill(DATA, 512);
    const char *why = request(T_GET_ID, 0, len, D_WRITE, &status, &used);
    CHECK(!why, why);
    CHECK(status == BLK_OK, "GET_ID failed");
    CHECK(used == want_len + 1, "used len is not the id's length + 1");
    CHECK(memcmp(DATA, want, want_len) == 0, "wrong id");
    CHECK(canary_intact(DATA + want_len, 512 - want_len), "wrote past the id");
    return NULL;
}

static const char *get_id_20(void)
{
    return get_id(20, "god-disk-0\0\0\0\0\0\0\0\0\0", 20);
}
static const char *get_id_4(void)
{
    return get_id(4, "god-", 4);
}
static const char *get_id_1(void)
{
    return get_id(1, "g", 1);
}
static const char *get_id_512(void)
{
    return get_id(512, "god-disk-0\0\0\0\0\0\0\0\0\0", 20);
}
static const char *get_id_none(void)
{
    uint8_t status;
    uint32_t used;
    const char *why = request(T_GET_ID, 0, 0, D_WRITE, &status, &used);
    CHECK(!why, why);
    CHECK(status == BLK_OK && used == 1, "GET_ID without a buffer");
    return NULL;
}

static const char *reset_mid_request(void)
{
    /* Post a batch, kick, and reset at once: god may finish or drop them, but must not break. */
    struct vq *q = &blk.q[0];
    for (unsigned i = 0; i < 8; i++) {
        struct blk_hdr *h = (struct blk_hdr *)(vbuf(&blk, 4) + i * 32);
        *h = (struct blk_hdr){.type = T_IN, .sector = i * 64};
        desc_set(q, 2 * i, (uintptr_t)h, 16, D_NEXT, 2 * i + 1);
        desc_set(q, 2 * i + 1, (uintptr_t)vbuf(&blk, 5) + i * 4096, 4097, D_WRITE, 0);
        vq_post(q, 2 * i);
    }
    vq_kick(&blk, 0);
    vw(&blk, R_STATUS, 0);
    CHECK(vr(&blk, R_STATUS) == 0, "Status is not 0 after the reset");
    vq_kick(&blk, 0); /* a kick to a reset device */
    return NULL;
}

static const char *reset_then_kick(void)
{
    vw(&blk, R_STATUS, 0);
    for (unsigned i = 0; i < 10; i++)
        vw(&blk, R_QUEUE_NOTIFY, 0);
    CHECK(vr(&blk, R_STATUS) == 0, "Status is not 0");
    return NULL;
}

const struct hostile_case blk_cases[] = {
    {"blk header 8 bytes", header_short},
    {"blk header split in 2", header_in_2},
    {"blk header split in 8", header_in_8},
    {"blk status byte read-only", status_readonly},
    {"blk status byte missing", status_missing},
    {"blk unknown type", unknown_type},
    {"blk type 0xffffffff", type_ffffffff},
    {"blk DISCARD not offered", type_discard},
    {"blk WRITE_ZEROES not offered", type_write_zeroes},
    {"blk read at the capacity", read_at_capacity},
    {"blk read straddles the end", read_straddles_end},
    {"blk read sector 2^64-1", read_sector_max},
    {"blk read sector 2^55 (bytes wrap)", read_sector_wraps},
    {"blk read 2^55-1 + 2 sectors", read_sector_wraps_len},
    {"blk read 100 bytes", read_len_not_sectors},
    {"blk write past the end", write_past_end},
    {"blk write straddles the end", write_straddles_end},
    {"blk write sector 2^55", write_sector_wraps},
    {"blk write 100 bytes", write_len_not_sectors},
    {"blk read the last sector", read_last_sector},
    {"blk read with no data buffer", read_no_data},
    {"blk read into a read-only buffer", read_into_readonly_buffer},
    {"blk write from a writable buffer", write_from_writable_buffer},
    {"blk write and read back", write_read_back},
    {"blk write to a ,ro disk", write_readonly_disk},
    {"blk flush", flush},
    {"blk flush with data", flush_with_data},
    {"blk GET_ID 20 bytes", get_id_20},
    {"blk GET_ID 4 bytes", get_id_4},
    {"blk GET_ID 1 byte", get_id_1},
    {"blk GET_ID 512 bytes", get_id_512},
    {"blk GET_ID no buffer", get_id_none},
    {"blk reset mid-request", reset_mid_request},
    {"blk kicks after reset", reset_then_kick},
};
const unsigned blk_count = ARRAY_SIZE(blk_cases);
