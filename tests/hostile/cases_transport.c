/*
 * cases_transport.c - the virtio-mmio register window (virtio 1.2 section
 * 4.2.2): every register at every width, read-only and write-only registers,
 * feature negotiation and the status byte done wrong, bogus queue indexes,
 * notification floods, interrupts and the config space.
 */
#include "cases.h"

#define RUNNING (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

static const char *ids(void)
{
    CHECK(vr(&blk, R_MAGIC) == 0x74726976, "MagicValue is not \"virt\"");
    CHECK(vr(&blk, R_VERSION) == 2, "Version is not 2");
    CHECK(vr(&blk, R_DEVICE_ID) == 2, "disk DeviceID is not 2 (block)");
    CHECK(vr(&con, R_DEVICE_ID) == 3, "console DeviceID is not 3");
    CHECK(vr(&blk, R_VENDOR_ID) == 0x20646f67, "VendorID is not \"god \"");
    return NULL;
}

/* Section 4.2.2.2: registers are 32-bit; any other width must change and reveal nothing. */
static const char *read_width(unsigned width)
{
    for (unsigned off = 0; off < 0x100; off += width) {
        uint64_t v = width == 1   ? mmio_r8(blk.base + off)
                     : width == 2 ? mmio_r16(blk.base + off)
                                  : mmio_r64(blk.base + off);
        CHECK(v == 0, "a register read at the wrong width returned data");
    }
    CHECK(vr(&blk, R_STATUS) == RUNNING, "the device state changed");
    return NULL;
}

static const char *read_8bit(void)
{
    return read_width(1);
}
static const char *read_16bit(void)
{
    return read_width(2);
}
static const char *read_64bit(void)
{
    return read_width(8);
}

static const char *write_width(unsigned width, uint64_t value)
{
    for (unsigned off = 0; off < 0x100; off += width) {
        if (width == 1)
            mmio_w8(blk.base + off, (uint8_t)value);
        else if (width == 2)
            mmio_w16(blk.base + off, (uint16_t)value);
        else
            mmio_w64(blk.base + off, value);
    }
    CHECK(vr(&blk, R_STATUS) == RUNNING, "a wrong-width write changed Status");
    vw(&blk, R_QUEUE_SEL, 0);
    CHECK(vr(&blk, R_QUEUE_READY) == 1, "a wrong-width write changed the queue");
    return NULL;
}

static const char *write_8bit_zero(void)
{
    return write_width(1, 0);
}
static const char *write_8bit_ones(void)
{
    return write_width(1, 0xff);
}
static const char *write_16bit_zero(void)
{
    return write_width(2, 0);
}
static const char *write_16bit_ones(void)
{
    return write_width(2, 0xffff);
}
static const char *write_64bit_zero(void)
{
    return write_width(8, 0);
}
static const char *write_64bit_ones(void)
{
    return write_width(8, ~0ULL);
}

static const char *readonly_regs(void)
{
    static const unsigned regs[] = {R_MAGIC,        R_VERSION,       R_DEVICE_ID,  R_VENDOR_ID,
                                    R_DEV_FEATURES, R_QUEUE_NUM_MAX, R_INT_STATUS, R_CONFIG_GEN};
    uint32_t before[ARRAY_SIZE(regs)];
    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
        before[i] = vr(&blk, regs[i]);
    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
        vw(&blk, regs[i], 0x5a5a5a5a);
    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
        CHECK(vr(&blk, regs[i]) == before[i], "a write changed a read-only register");
    return NULL;
}

static const char *writeonly_regs(void)
{
    static const unsigned regs[] = {
        R_DEV_FEATURES_SEL, R_DRV_FEATURES, R_DRV_FEATURES_SEL, R_QUEUE_SEL, R_QUEUE_NUM,
        R_QUEUE_NOTIFY,     R_INT_ACK,      R_DESC_LO,          R_DESC_HI,   R_AVAIL_LO,
        R_AVAIL_HI,         R_USED_LO,      R_USED_HI};
    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
        CHECK(vr(&blk, regs[i]) == 0, "a write-only register read as non-zero");
    return NULL;
}

/* Offsets no register lives at (0xac.. are version-2 shared-memory registers we do not offer). */
static const char *unknown_offsets(void)
{
    static const unsigned offs[] = {0x018, 0x01c, 0x028, 0x02c, 0x03c, 0x040, 0x048,
                                    0x04c, 0x054, 0x058, 0x05c, 0x068, 0x06c, 0x074,
                                    0x078, 0x07c, 0x088, 0x08c, 0x098, 0x09c, 0x0a8,
                                    0x0ac, 0x0b0, 0x0b4, 0x0b8, 0x0c0, 0x0f0, 0x0f8};
    for (unsigned i = 0; i < ARRAY_SIZE(offs); i++) {
        CHECK(vr(&blk, offs[i]) == 0, "an unknown offset read as non-zero");
        vw(&blk, offs[i], 0xffffffff);
    }
    CHECK(vr(&blk, R_STATUS) == RUNNING, "a write to an unknown offset changed Status");
    return NULL;
}

static const char *features_pages(void)
{
    vw(&blk, R_DEV_FEATURES_SEL, 1);
    CHECK(vr(&blk, R_DEV_FEATURES) & 1, "VIRTIO_F_VERSION_1 not offered");
    vw(&blk, R_DEV_FEATURES_SEL, 2);
    CHECK(vr(&blk, R_DEV_FEATURES) == 0, "feature page 2 is not empty");
    vw(&blk, R_DEV_FEATURES_SEL, 0xffffffff);
    CHECK(vr(&blk, R_DEV_FEATURES) == 0, "feature page 0xffffffff is not empty");
    vw(&ro, R_DEV_FEATURES_SEL, 0);
    CHECK(vr(&ro, R_DEV_FEATURES) & (1 << 5), "the read-only disk does not offer VIRTIO_BLK_F_RO");
    vw(&blk, R_DEV_FEATURES_SEL, 0);
    CHECK(!(vr(&blk, R_DEV_FEATURES) & (1 << 5)), "the read-write disk offers VIRTIO_BLK_F_RO");
    return NULL;
}

/* Reset and get as far as writing the features; FEATURES_OK is the caller's. */
static void begin_init(struct vdev *d, uint32_t lo, uint32_t hi)
{
    vw(d, R_STATUS, 0);
    vw(d, R_STATUS, S_ACK);
    vw(d, R_STATUS, S_ACK | S_DRIVER);
    vw(d, R_DRV_FEATURES_SEL, 0);
    vw(d, R_DRV_FEATURES, lo);
    vw(d, R_DRV_FEATURES_SEL, 1);
    vw(d, R_DRV_FEATURES, hi);
}

static const char *features_unoffered(void)
{
    begin_init(&blk, 0xffffffff, 0xffffffff);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(!(vr(&blk, R_STATUS) & S_FEATURES_OK), "FEATURES_OK accepted with unoffered features");
    return NULL;
}

static const char *features_no_version_1(void)
{
    begin_init(&blk, (uint32_t)F_INDIRECT, 0);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(!(vr(&blk, R_STATUS) & S_FEATURES_OK), "FEATURES_OK accepted without VERSION_1");
    return NULL;
}

static const char *features_page_out_of_range(void)
{
    begin_init(&blk, 0, 1);
    vw(&blk, R_DRV_FEATURES_SEL, 7);
    vw(&blk, R_DRV_FEATURES, 0xffffffff);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(vr(&blk, R_STATUS) & S_FEATURES_OK, "a write to feature page 7 was not ignored");
    return NULL;
}

static const char *features_after_features_ok(void)
{
    /* Drop INDIRECT after FEATURES_OK: ignored, so an indirect request must still work. */
    begin_init(&blk, (uint32_t)F_INDIRECT, 1);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    vw(&blk, R_DRV_FEATURES_SEL, 0);
    vw(&blk, R_DRV_FEATURES, 0);
    vw(&blk, R_DRV_FEATURES_SEL, 1);
    vw(&blk, R_DRV_FEATURES, 0);
    vq_place(&blk, 0, STD_QSIZE);
    struct vq *q = &blk.q[0];
    vw(&blk, R_QUEUE_SEL, 0);
    vw(&blk, R_QUEUE_NUM, STD_QSIZE);
    vw(&blk, R_DESC_LO, (uint32_t)q->desc_gpa);
    vw(&blk, R_AVAIL_LO, (uint32_t)q->avail_gpa);
    vw(&blk, R_USED_LO, (uint32_t)q->used_gpa);
    vw(&blk, R_QUEUE_READY, 1);
    vw(&blk, R_STATUS, RUNNING);
    CHECK(vr(&blk, R_STATUS) == RUNNING, "the device refused DRIVER_OK");

    struct desc *table = (struct desc *)vbuf(&blk, 3);
    struct blk_hdr *hdr = (struct blk_hdr *)vbuf(&blk, 0);
    uint8_t *data = vbuf(&blk, 1), *status = vbuf(&blk, 2);
    *hdr = (struct blk_hdr){.type = T_IN, .sector = 5};
    *status = 0xff;
    table[0] = (struct desc){(uintptr_t)hdr, 16, D_NEXT, 1};
    table[1] = (struct desc){(uintptr_t)data, 512, D_WRITE | D_NEXT, 2};
    table[2] = (struct desc){(uintptr_t)status, 1, D_WRITE, 0};
    desc_set(q, 0, (uintptr_t)table, 48, D_INDIRECT, 0);
    vq_post(q, 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "the indirect request was not served");
    CHECK(*status == BLK_OK && blk_sector_matches(data, 5, 1), "the indirect request failed");
    return NULL;
}

static const char *driver_ok_without_features_ok(void)
{
    begin_init(&blk, 0, 1);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
    CHECK(!(vr(&blk, R_STATUS) & S_DRIVER_OK), "DRIVER_OK accepted without FEATURES_OK");
    return NULL;
}

static const char *status_clears_bits(void)
{
    vw(&blk, R_STATUS, S_ACK | S_DRIVER);
    CHECK(vr(&blk, R_STATUS) == RUNNING, "a Status write that clears bits was not ignored");
    return NULL;
}

static const char *status_all_at_once(void)
{
    /* Straight from reset to 0xf, features never written: no VERSION_1, so no FEATURES_OK. */
    vw(&blk, R_STATUS, 0);
    vw(&blk, R_STATUS, RUNNING);
    CHECK(!(vr(&blk, R_STATUS) & (S_FEATURES_OK | S_DRIVER_OK)),
          "FEATURES_OK/DRIVER_OK accepted without features");
    return NULL;
}

static const char *status_driver_sets_needs_reset(void)
{
    vw(&blk, R_STATUS, RUNNING | S_NEEDS_RESET);
    uint32_t s = vr(&blk, R_STATUS);
    CHECK(s == RUNNING || s == (RUNNING | S_NEEDS_RESET), "Status is neither before nor after");
    return NULL;
}

static const char *status_failed_then_reset(void)
{
    vw(&blk, R_STATUS, RUNNING | S_FAILED);
    vw(&blk, R_STATUS, 0);
    CHECK(vr(&blk, R_STATUS) == 0, "Status not 0 after a reset");
    vw(&blk, R_QUEUE_SEL, 0);
    CHECK(vr(&blk, R_QUEUE_READY) == 0, "the queue is still ready after a reset");
    CHECK(vr(&blk, R_INT_STATUS) == 0, "InterruptStatus not 0 after a reset");
    return NULL;
}

static const char *queue_sel(uint32_t sel)
{
    vw(&blk, R_QUEUE_SEL, sel);
    CHECK(vr(&blk, R_QUEUE_NUM_MAX) == 0, "QueueNumMax of a missing queue is not 0");
    CHECK(vr(&blk, R_QUEUE_READY) == 0, "QueueReady of a missing queue is not 0");
    vw(&blk, R_QUEUE_NUM, 8);
    vw(&blk, R_DESC_LO, 0x1000);
    vw(&blk, R_QUEUE_READY, 1);
    CHECK(vr(&blk, R_QUEUE_READY) == 0, "a missing queue became ready");
    CHECK(vr(&blk, R_STATUS) == RUNNING, "set-up of a missing queue changed Status");
    vw(&blk, R_QUEUE_SEL, 0);
    CHECK(vr(&blk, R_QUEUE_NUM_MAX) == 256, "QueueNumMax of queue 0 is not 256");
    return NULL;
}

static const char *queue_sel_1(void)
{
    return queue_sel(1);
}
static const char *queue_sel_huge(void)
{
    return queue_sel(0xffffffff);
}

static const char *notify_bogus(void)
{
    static const uint32_t idx[] = {1, 2, 7, 0x10000, 0x80000000, 0xffffffff};
    for (unsigned i = 0; i < ARRAY_SIZE(idx); i++)
        vw(&blk, R_QUEUE_NOTIFY, idx[i]);
    CHECK(vr(&blk, R_STATUS) == RUNNING, "a bogus queue index changed Status");
    return NULL;
}

static const char *notify_flood(void)
{
    for (unsigned i = 0; i < 20000; i++)
        vw(&blk, R_QUEUE_NOTIFY, 0);
    CHECK(used_idx(&blk.q[0]) == blk.q[0].used_seen, "kicks with nothing posted used a buffer");
    return NULL;
}

static const char *notify_flood_bogus(void)
{
    for (unsigned i = 0; i < 500; i++)
        vw(&blk, R_QUEUE_NOTIFY, 3 + i);
    return NULL;
}

static const char *notify_wrong_width(void)
{
    mmio_w8(blk.base + R_QUEUE_NOTIFY, 0);
    mmio_w16(blk.base + R_QUEUE_NOTIFY, 0);
    mmio_w64(blk.base + R_QUEUE_NOTIFY, 0);
    CHECK(vr(&blk, R_STATUS) == RUNNING, "a wrong-width kick changed Status");
    return NULL;
}

static const char *notify_before_driver_ok(void)
{
    /* Buffers made available before DRIVER_OK are served once it is set, not on a kick before. */
    begin_init(&blk, (uint32_t)F_INDIRECT, 1);
    vw(&blk, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    vq_place(&blk, 0, STD_QSIZE);
    struct vq *q = &blk.q[0];
    vw(&blk, R_QUEUE_SEL, 0);
    vw(&blk, R_QUEUE_NUM, STD_QSIZE);
    vw(&blk, R_DESC_LO, (uint32_t)q->desc_gpa);
    vw(&blk, R_AVAIL_LO, (uint32_t)q->avail_gpa);
    vw(&blk, R_USED_LO, (uint32_t)q->used_gpa);
    vw(&blk, R_QUEUE_READY, 1);
    struct blk_hdr *hdr = (struct blk_hdr *)vbuf(&blk, 0);
    uint8_t *status = vbuf(&blk, 2);
    *hdr = (struct blk_hdr){.type = T_FLUSH};
    *status = 0xff;
    desc_set(q, 0, (uintptr_t)hdr, 16, D_NEXT, 1);
    desc_set(q, 1, (uintptr_t)status, 1, D_WRITE, 0);
    vq_post(q, 0);
    vq_kick(&blk, 0);
    CHECK(vq_wait(&blk, 0, 200000) == WAIT_TIMEOUT, "a request was served before DRIVER_OK");
    vw(&blk, R_STATUS, RUNNING);
    CHECK(vq_wait(&blk, 0, WAIT_LONG) == WAIT_USED, "not served after DRIVER_OK");
    CHECK(*status == BLK_OK, "flush failed");
    return NULL;
}

static const char *interrupts(void)
{
    vw(&blk, R_INT_ACK, 0xffffffff);
    CHECK(vr(&blk, R_INT_STATUS) == 0, "InterruptStatus not 0 after acking everything");
    uint8_t s = blk_rw(&blk, T_FLUSH, 0, 0, 0, 0);
    CHECK(s == BLK_OK, "flush failed");
    CHECK(vr(&blk, R_INT_STATUS) == 1, "no used-buffer interrupt after a request");
    vw(&blk, R_INT_ACK, 2);
    CHECK(vr(&blk, R_INT_STATUS) == 1, "acking bit 1 cleared bit 0");
    vw(&blk, R_INT_ACK, 1);
    CHECK(vr(&blk, R_INT_STATUS) == 0, "acking bit 0 did not clear it");
    return NULL;
}

static const char *no_interrupt_flag(void)
{
    vw(&blk, R_INT_ACK, 0xffffffff);
    blk.q[0].avail[0] = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    uint8_t s = blk_rw(&blk, T_FLUSH, 0, 0, 0, 0);
    blk.q[0].avail[0] = 0;
    CHECK(s == BLK_OK, "flush failed");
    CHECK(vr(&blk, R_INT_STATUS) == 0, "interrupted despite VIRTQ_AVAIL_F_NO_INTERRUPT");
    return NULL;
}

static const char *event_idx(void)
{
    const char *why = vdev_init(&blk, STD_FEATURES | F_EVENT_IDX, STD_QSIZE);
    CHECK(!why, why);
    CHECK(blk.features & F_EVENT_IDX, "VIRTIO_RING_F_EVENT_IDX not offered");
    struct vq *q = &blk.q[0];
    q->avail[2 + STD_QSIZE] = 0x8000; /* used_event: far away */
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush failed");
    CHECK(vr(&blk, R_INT_STATUS) == 0, "interrupted before used_event");
    uint16_t avail_event = *(volatile uint16_t *)(q->used + 4 + 8 * STD_QSIZE);
    CHECK(avail_event == q->avail_idx, "avail_event is not the next index the device will read");
    q->avail[2 + STD_QSIZE] = q->used_seen; /* the next one */
    CHECK(blk_rw(&blk, T_FLUSH, 0, 0, 0, 0) == BLK_OK, "flush failed");
    CHECK(vr(&blk, R_INT_STATUS) == 1, "no interrupt when used_event was passed");
    vw(&blk, R_STATUS, 0); /* back to the standard features */
    return NULL;
}

static const char *config_capacity(void)
{
    CHECK(vr(&blk, R_CONFIG) == DISK_SECTORS && vr(&blk, R_CONFIG + 4) == 0, "capacity wrong");
    CHECK(mmio_r16(blk.base + R_CONFIG) == DISK_SECTORS, "16-bit config read wrong");
    CHECK(mmio_r8(blk.base + R_CONFIG + 1) == DISK_SECTORS >> 8, "8-bit config read wrong");
    CHECK(vr(&ro, R_CONFIG) == RO_DISK_BYTES / 512, "read-only disk capacity wrong");
    CHECK(vr(&blk, R_CONFIG + 20) == 512, "blk_size is not 512");
    return NULL;
}

static const char *config_64bit(void)
{
    /* Section 4.2.2.2: 64-bit fields are read as two 32-bit halves; a 64-bit access is refused. */
    CHECK(mmio_r64(blk.base + R_CONFIG) == 0, "a 64-bit config read returned data");
    return NULL;
}

static const char *config_past_end(void)
{
    /* struct virtio_blk_config is 72 bytes: 0x100..0x147. */
    for (unsigned off = 0x148; off < 0x200; off += 4)
        CHECK(vr(&blk, off) == 0 && mmio_r8(blk.base + off + 3) == 0 &&
                  mmio_r16(blk.base + off + 2) == 0,
              "a config read past the end returned data");
    return NULL;
}

static const char *config_console_empty(void)
{
    for (unsigned off = 0x100; off < 0x200; off += 4)
        CHECK(vr(&con, off) == 0 && mmio_r8(con.base + off) == 0,
              "the console has config bytes it does not offer");
    return NULL;
}

static const char *config_write_readonly(void)
{
    vw(&blk, R_CONFIG, 0xffffffff);
    mmio_w8(blk.base + R_CONFIG + 4, 0xff);
    mmio_w16(blk.base + R_CONFIG + 6, 0xffff);
    for (unsigned off = 0x148; off < 0x200; off += 4)
        vw(&blk, off, 0xffffffff);
    CHECK(vr(&blk, R_CONFIG) == DISK_SECTORS && vr(&blk, R_CONFIG + 4) == 0,
          "a config write changed the capacity");
    CHECK(vr(&blk, R_CONFIG_GEN) == vr(&blk, R_CONFIG_GEN), "ConfigGeneration moves");
    return NULL;
}

const struct hostile_case transport_cases[] = {
    {"ids", ids},
    {"register read 8-bit everywhere", read_8bit},
    {"register read 16-bit everywhere", read_16bit},
    {"register read 64-bit everywhere", read_64bit},
    {"register write 8-bit zeros everywhere", write_8bit_zero},
    {"register write 8-bit ones everywhere", write_8bit_ones},
    {"register write 16-bit zeros everywhere", write_16bit_zero},
    {"register write 16-bit ones everywhere", write_16bit_ones},
    {"register write 64-bit zeros everywhere", write_64bit_zero},
    {"register write 64-bit ones everywhere", write_64bit_ones},
    {"write read-only registers", readonly_regs},
    {"read write-only registers", writeonly_regs},
    {"unknown register offsets", unknown_offsets},
    {"device feature pages", features_pages},
    {"accept unoffered features", features_unoffered},
    {"features without VERSION_1", features_no_version_1},
    {"driver feature page out of range", features_page_out_of_range},
    {"features changed after FEATURES_OK", features_after_features_ok},
    {"DRIVER_OK without FEATURES_OK", driver_ok_without_features_ok},
    {"status write clears bits", status_clears_bits},
    {"status 0xf straight after reset", status_all_at_once},
    {"driver sets DEVICE_NEEDS_RESET", status_driver_sets_needs_reset},
    {"FAILED then reset", status_failed_then_reset},
    {"QueueSel 1 on a one-queue device", queue_sel_1},
    {"QueueSel 0xffffffff", queue_sel_huge},
    {"notify bogus queue indexes", notify_bogus},
    {"notify flood (20000 kicks)", notify_flood},
    {"notify flood on bogus queues", notify_flood_bogus},
    {"notify at the wrong widths", notify_wrong_width},
    {"buffers before DRIVER_OK", notify_before_driver_ok},
    {"InterruptStatus and InterruptACK", interrupts},
    {"VIRTQ_AVAIL_F_NO_INTERRUPT", no_interrupt_flag},
    {"EVENT_IDX used_event and avail_event", event_idx},
    {"config capacity at 8/16/32 bits", config_capacity},
    {"config 64-bit read", config_64bit},
    {"config reads past the end", config_past_end},
    {"console config space is empty", config_console_empty},
    {"config writes to a read-only config", config_write_readonly},
};
const unsigned transport_count = ARRAY_SIZE(transport_cases);
