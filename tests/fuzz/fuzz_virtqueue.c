/*
 * fuzz_virtqueue.c - libFuzzer target: a hostile guest against virtio-blk (introduced in chapter
 * 8).
 *
 * The input is a whole guest: where it puts its rings, which ring features
 * it accepts, a few raw MMIO register accesses, and the contents of its
 * RAM. We bring a virtio-blk device up through its registers exactly as a
 * driver would, point the queue where the input says, and kick it, so every
 * descriptor and request the walker and virtio_blk.c see is fuzzer-chosen.
 * The disk is a small memfd, reset for every input.
 *
 * Input layout (all little-endian):
 *
 *   0       queue size, as log2 (the low 4 bits: 1 .. 32768)
 *   1       bit 0: accept EVENT_IDX, bit 1: accept INDIRECT_DESC,
 *           bit 2: read-only disk, bit 3: kick a second time
 *   2..3    descriptor table offset in RAM (rounded down to 16)
 *   4..5    available ring offset (rounded down to 2)
 *   6..7    used ring offset (rounded down to 4)
 *   8       number of register accesses that follow (0..8)
 *   9..15   unused
 *   16..79  8 register accesses of 8 bytes: offset u16 (mod 0x200),
 *           width (1 << (byte & 3)), write flag, value u32
 *   80..    guest RAM from its first byte (the rest of RAM is zero)
 */
#define _GNU_SOURCE
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "oracle.h"
#include "virtio_blk.h"
#include "bytes.h"

#define RAM_SIZE    (64 * 1024)
#define DISK_SIZE   (32 * 1024)
#define HEADER_SIZE 80
#define MAX_OPS     8

static struct guest_mem mem;
static struct virtio_blk blk;
static int disk_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_muted(true);
    if (guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE) != 0)
        abort();
    disk_fd = memfd_create("fuzz-disk", 0);
    if (disk_fd < 0)
        abort();
    return 0;
}

static void reg_write(uint64_t offset, uint32_t value)
{
    virtio_mmio_write(&blk.transport, offset, 4, value);
}

static void driver_bring_up(const uint8_t *hdr)
{
    const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    uint64_t features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH);

    if (hdr[1] & 1)
        features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    if (hdr[1] & 2)
        features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;

    reg_write(VIRTIO_MMIO_STATUS, s);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
    reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
    reg_write(VIRTIO_MMIO_QUEUE_NUM, 1u << (hdr[0] & 15));
    reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(RAM_BASE + (le16_at(hdr + 2) & ~15u)));
    reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(RAM_BASE + (le16_at(hdr + 4) & ~1u)));
    reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(RAM_BASE + (le16_at(hdr + 6) & ~3u)));
    reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The queue as the transport has it now, for the oracle (oracle.h). */
static struct oracle_queue queue_now(void)
{
    const struct virtq *vq = &blk.transport.queues[0];
    return (struct oracle_queue){.desc = vq->desc_gpa,
                                 .avail = vq->avail_gpa,
                                 .used = vq->used_gpa,
                                 .size = vq->ready ? vq->size : 0,
                                 .indirect = vq->indirect};
}

/* Raw register accesses: anything at all, to shake the transport too. */
static void register_accesses(const uint8_t *hdr)
{
    unsigned count = hdr[8] % (MAX_OPS + 1);

    for (unsigned i = 0; i < count; i++) {
        const uint8_t *op = hdr + 16 + 8 * i;
        uint64_t offset = le16_at(op) % VIRTIO_MMIO_SIZE;
        unsigned width = 1u << (op[2] & 3);
        if (offset + width > VIRTIO_MMIO_SIZE) /* the MMIO bus never forwards these */
            continue;
        if (op[3] & 1)
            virtio_mmio_write(&blk.transport, offset, width, le32_at(op + 4));
        else
            (void)virtio_mmio_read(&blk.transport, offset, width);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_SIZE)
        return 0;

    /* A fresh guest and a fresh, zeroed disk for every input: crashes reproduce. */
    size_t image = size - HEADER_SIZE < RAM_SIZE ? size - HEADER_SIZE : RAM_SIZE;
    memset(mem.host, 0, RAM_SIZE);
    memcpy(mem.host, data + HEADER_SIZE, image);
    if (ftruncate(disk_fd, 0) != 0 || ftruncate(disk_fd, DISK_SIZE) != 0)
        abort();

    struct irq_line irq = {0};
    if (virtio_blk_init(&blk, disk_fd, data[1] & 4, "fuzz", &mem, VIRTIO_MMIO_BASE, irq) != 0)
        abort();
    driver_bring_up(data);
    struct oracle_queue q = queue_now();
    oracle_begin(&mem, &q, 1); /* before DRIVER_OK: the device may start at once */
    reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    register_accesses(data);
    q = queue_now(); /* the raw accesses may have set the queue up again */
    oracle_add(&q, 1);
    virtio_mmio_queue_notify(&blk.transport, 0);
    if (data[1] & 8)
        virtio_mmio_queue_notify(&blk.transport, 0);
    oracle_check();
    virtio_blk_destroy(&blk);
    return 0;
}
