/*
 * driver.h - a deliberately small virtio-mmio driver for the hostile guests.
 *
 * It can do everything right (vdev_init, blk_rw) so a case can check the
 * device still works, and it exposes every step (registers, descriptors, the
 * avail ring) so a case can do it wrong on purpose.
 */
#ifndef HOSTILE_DRIVER_H
#define HOSTILE_DRIVER_H

#include "guest.h"

/* Registers (virtio 1.2 section 4.2.2). */
enum {
    R_MAGIC = 0x000,
    R_VERSION = 0x004,
    R_DEVICE_ID = 0x008,
    R_VENDOR_ID = 0x00c,
    R_DEV_FEATURES = 0x010,
    R_DEV_FEATURES_SEL = 0x014,
    R_DRV_FEATURES = 0x020,
    R_DRV_FEATURES_SEL = 0x024,
    R_QUEUE_SEL = 0x030,
    R_QUEUE_NUM_MAX = 0x034,
    R_QUEUE_NUM = 0x038,
    R_QUEUE_READY = 0x044,
    R_QUEUE_NOTIFY = 0x050,
    R_INT_STATUS = 0x060,
    R_INT_ACK = 0x064,
    R_STATUS = 0x070,
    R_DESC_LO = 0x080,
    R_DESC_HI = 0x084,
    R_AVAIL_LO = 0x090,
    R_AVAIL_HI = 0x094,
    R_USED_LO = 0x0a0,
    R_USED_HI = 0x0a4,
    R_CONFIG_GEN = 0x0fc,
    R_CONFIG = 0x100,
};

enum {
    S_ACK = 1,
    S_DRIVER = 2,
    S_DRIVER_OK = 4,
    S_FEATURES_OK = 8,
    S_NEEDS_RESET = 0x40,
    S_FAILED = 0x80,
};

#define F_INDIRECT  (1ULL << 28)
#define F_EVENT_IDX (1ULL << 29)
#define F_VERSION_1 (1ULL << 32)

#define D_NEXT     1
#define D_WRITE    2
#define D_INDIRECT 4

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vq {
    unsigned size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    volatile struct desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
    volatile uint8_t *used;   /* flags, idx, {id, len}[size], avail_event */
    uint16_t avail_idx;       /* the next avail->idx we publish */
    uint16_t used_seen;       /* used->idx when we last looked */
};

struct vdev {
    const char *name;
    uintptr_t base;
    uint64_t mem; /* 1 MiB of guest RAM for its rings and buffers */
    unsigned nq;  /* queues to set up */
    unsigned qsize;
    uint64_t features;
    struct vq q[2];
};

uint32_t vr(const struct vdev *d, unsigned off);
void vw(const struct vdev *d, unsigned off, uint32_t v);

/* Scratch buffers in the device's memory, 64 KiB each, at index 0..7. */
uint8_t *vbuf(const struct vdev *d, unsigned n);

/* Reset and initialise fully (section 3.1.1) with these features; NULL or why not. */
const char *vdev_init(struct vdev *d, uint64_t features, unsigned qsize);
/* Put queue qi's rings at their places and zero them; does not write QueueReady. */
void vq_place(struct vdev *d, unsigned qi, unsigned size);

void desc_set(struct vq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void vq_post(struct vq *q, uint16_t head);
void vq_kick(const struct vdev *d, unsigned qi);
uint16_t used_idx(const struct vq *q);
uint32_t used_id(const struct vq *q, uint16_t n);
uint32_t used_len(const struct vq *q, uint16_t n);

enum wait_result {
    WAIT_TIMEOUT,
    WAIT_USED,
    WAIT_NEEDS_RESET
};
/* Wait for the next used element, or NEEDS_RESET. */
enum wait_result vq_wait(struct vdev *d, unsigned qi, uint64_t timeout_us);
#define WAIT_LONG 5000000

/* Post `head`, kick, and expect DEVICE_NEEDS_RESET with nothing used. */
const char *expect_needs_reset(struct vdev *d, unsigned qi, uint16_t head);

/* virtio-blk (section 5.2.6). */
enum {
    T_IN = 0,
    T_OUT = 1,
    T_FLUSH = 4,
    T_GET_ID = 8
};
enum {
    BLK_OK = 0,
    BLK_IOERR = 1,
    BLK_UNSUPP = 2,
    BLK_NONE = 0xff
};
struct blk_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

/*
 * A well-formed request: header, `len` bytes of data (device-writable for a
 * read), status byte. Returns the status (BLK_NONE: no answer) and the used len.
 */
uint8_t blk_rw(struct vdev *d, uint32_t type, uint64_t sector, void *data, uint32_t len,
               uint32_t *used);

/* The disks' contents as the host made them (mkdisk.c). */
#include "pattern.h"
bool blk_sector_matches(const uint8_t *buf, uint64_t sector, unsigned count);

/*
 * After a case: if the device says NEEDS_RESET, reset and re-initialise it;
 * then a well-formed read (blk) must return the right bytes. NULL or why not.
 */
const char *blk_alive(struct vdev *d, uint64_t sector);

extern struct vdev con, blk, ro;

#endif
