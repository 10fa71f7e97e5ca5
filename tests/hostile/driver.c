/*
 * driver.c - a deliberately small virtio-mmio driver: see driver.h.
 */
#include "driver.h"

struct vdev con = {
    .name = "console", .base = VIRTIO_MMIO_BASE, .mem = RAM_BASE + (4 << 20), .nq = 2};
struct vdev blk = {.name = "blk",
                   .base = VIRTIO_MMIO_BASE + VIRTIO_MMIO_SIZE,
                   .mem = RAM_BASE + (5 << 20),
                   .nq = 1};
struct vdev ro = {.name = "blk-ro",
                  .base = VIRTIO_MMIO_BASE + 2 * VIRTIO_MMIO_SIZE,
                  .mem = RAM_BASE + (6 << 20),
                  .nq = 1};

uint32_t vr(const struct vdev *d, unsigned off)
{
    return mmio_r32(d->base + off);
}

void vw(const struct vdev *d, unsigned off, uint32_t v)
{
    mmio_w32(d->base + off, v);
}

uint8_t *vbuf(const struct vdev *d, unsigned n)
{
    return (uint8_t *)(uintptr_t)(d->mem + 0x10000 + n * 0x10000ULL);
}

void vq_place(struct vdev *d, unsigned qi, unsigned size)
{
    struct vq *q = &d->q[qi];
    uint64_t at = d->mem + qi * 0x4000ULL;
    q->size = size;
    q->desc_gpa = at;
    q->avail_gpa = at + 0x1000;
    q->used_gpa = at + 0x2000;
    q->desc = (volatile struct desc *)(uintptr_t)q->desc_gpa;
    q->avail = (volatile uint16_t *)(uintptr_t)q->avail_gpa;
    q->used = (volatile uint8_t *)(uintptr_t)q->used_gpa;
    memset((void *)(uintptr_t)at, 0, 0x3000);
    q->avail_idx = 0;
    q->used_seen = 0;
    mb();
}

const char *vdev_init(struct vdev *d, uint64_t features, unsigned qsize)
{
    vw(d, R_STATUS, 0);
    if (vr(d, R_STATUS) != 0)
        return "Status is not 0 after a reset";
    if (vr(d, R_MAGIC) != 0x74726976 || vr(d, R_VERSION) != 2)
        return "no virtio-mmio version 2 device";
    vw(d, R_STATUS, S_ACK);
    vw(d, R_STATUS, S_ACK | S_DRIVER);
    vw(d, R_DEV_FEATURES_SEL, 0);
    uint64_t offered = vr(d, R_DEV_FEATURES);
    vw(d, R_DEV_FEATURES_SEL, 1);
    offered |= (uint64_t)vr(d, R_DEV_FEATURES) << 32;
    features &= offered;
    vw(d, R_DRV_FEATURES_SEL, 0);
    vw(d, R_DRV_FEATURES, (uint32_t)features);
    vw(d, R_DRV_FEATURES_SEL, 1);
    vw(d, R_DRV_FEATURES, (uint32_t)(features >> 32));
    vw(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(vr(d, R_STATUS) & S_FEATURES_OK))
        return "FEATURES_OK refused";
    d->features = features;
    d->qsize = qsize;
    for (unsigned qi = 0; qi < d->nq; qi++) {
        struct vq *q = &d->q[qi];
        vq_place(d, qi, qsize);
        vw(d, R_QUEUE_SEL, qi);
        if (vr(d, R_QUEUE_READY) != 0)
            return "QueueReady is not 0 after a reset";
        if (vr(d, R_QUEUE_NUM_MAX) < qsize)
            return "QueueNumMax too small";
        vw(d, R_QUEUE_NUM, qsize);
        vw(d, R_DESC_LO, (uint32_t)q->desc_gpa);
        vw(d, R_DESC_HI, (uint32_t)(q->desc_gpa >> 32));
        vw(d, R_AVAIL_LO, (uint32_t)q->avail_gpa);
        vw(d, R_AVAIL_HI, (uint32_t)(q->avail_gpa >> 32));
        vw(d, R_USED_LO, (uint32_t)q->used_gpa);
        vw(d, R_USED_HI, (uint32_t)(q->used_gpa >> 32));
        vw(d, R_QUEUE_READY, 1);
        if (vr(d, R_QUEUE_READY) != 1)
            return "QueueReady does not read back 1";
    }
    vw(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    if (vr(d, R_STATUS) != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK))
        return "Status after DRIVER_OK is not 0xf";
    vw(d, R_INT_ACK, vr(d, R_INT_STATUS));
    return NULL;
}

void desc_set(struct vq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    q->desc[i].addr = addr;
    q->desc[i].len = len;
    q->desc[i].flags = flags;
    q->desc[i].next = next;
}

void vq_post(struct vq *q, uint16_t head)
{
    q->avail[2 + q->avail_idx % q->size] = head;
    mb(); /* the ring entry and descriptors before the index (section 2.7.13) */
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    mb();
}

void vq_kick(const struct vdev *d, unsigned qi)
{
    mb();
    vw(d, R_QUEUE_NOTIFY, qi);
}

uint16_t used_idx(const struct vq *q)
{
    return *(volatile uint16_t *)(q->used + 2);
}

uint32_t used_id(const struct vq *q, uint16_t n)
{
    return *(volatile uint32_t *)(q->used + 4 + (n % q->size) * 8);
}

uint32_t used_len(const struct vq *q, uint16_t n)
{
    return *(volatile uint32_t *)(q->used + 8 + (n % q->size) * 8);
}

enum wait_result vq_wait(struct vdev *d, unsigned qi, uint64_t timeout_us)
{
    struct vq *q = &d->q[qi];
    uint64_t end = now_us() + timeout_us;
    do {
        for (int i = 0; i < 200; i++) {
            if (used_idx(q) != q->used_seen) {
                mb(); /* the element before we read it (section 2.7.14) */
                q->used_seen++;
                return WAIT_USED;
            }
        }
        if (vr(d, R_STATUS) & S_NEEDS_RESET)
            return WAIT_NEEDS_RESET;
    } while (now_us() < end);
    return WAIT_TIMEOUT;
}

const char *expect_needs_reset(struct vdev *d, unsigned qi, uint16_t head)
{
    vq_post(&d->q[qi], head);
    vq_kick(d, qi);
    switch (vq_wait(d, qi, WAIT_LONG)) {
    case WAIT_USED:
        return "the device used a malformed chain";
    case WAIT_TIMEOUT:
        return "no answer: neither a used buffer nor DEVICE_NEEDS_RESET";
    default:
        break;
    }
    /* Section 2.1.2: with DRIVER_OK set, NEEDS_RESET comes with a config-change interrupt. */
    if (!(vr(d, R_INT_STATUS) & 2))
        return "DEVICE_NEEDS_RESET without a configuration change interrupt";
    return NULL;
}

uint8_t blk_rw(struct vdev *d, uint32_t type, uint64_t sector, void *data, uint32_t len,
               uint32_t *used)
{
    struct vq *q = &d->q[0];
    struct blk_hdr *hdr = (struct blk_hdr *)vbuf(d, 7);
    volatile uint8_t *status = vbuf(d, 7) + 64;
    hdr->type = type;
    hdr->reserved = 0;
    hdr->sector = sector;
    *status = BLK_NONE;
    uint16_t write = type == T_OUT ? 0 : D_WRITE;
    desc_set(q, 0, (uintptr_t)hdr, sizeof(*hdr), D_NEXT, len ? 1 : 2);
    desc_set(q, 1, (uintptr_t)data, len, write | D_NEXT, 2);
    desc_set(q, 2, (uintptr_t)status, 1, D_WRITE, 0);
    vq_post(q, 0);
    vq_kick(d, 0);
    if (vq_wait(d, 0, WAIT_LONG) != WAIT_USED)
        return BLK_NONE;
    if (used)
        *used = used_len(q, q->used_seen - 1);
    if (used_id(q, q->used_seen - 1) != 0)
        return BLK_NONE;
    return *status;
}

bool blk_sector_matches(const uint8_t *buf, uint64_t sector, unsigned count)
{
    for (uint64_t i = 0; i < count * 512ULL; i++)
        if (buf[i] != pattern_byte(sector * 512 + i))
            return false;
    return true;
}

const char *blk_alive(struct vdev *d, uint64_t sector)
{
    uint8_t *buf = vbuf(d, 6);
    uint32_t used;
    uint32_t status = vr(d, R_STATUS);

    if (status != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)) {
        const char *why = vdev_init(d, F_VERSION_1 | F_INDIRECT, 16);
        if (why)
            return why;
    }
    memset(buf, 0, 1024);
    uint8_t s = blk_rw(d, T_IN, sector, buf, 1024, &used);
    if (s == BLK_NONE)
        return (vr(d, R_STATUS) & S_NEEDS_RESET) ? "a well-formed read: DEVICE_NEEDS_RESET"
                                                 : "a well-formed read got no answer";
    if (s != BLK_OK || used != 1025)
        return "a well-formed read failed";
    if (!blk_sector_matches(buf, sector, 2))
        return "a well-formed read returned the wrong bytes";
    return NULL;
}
