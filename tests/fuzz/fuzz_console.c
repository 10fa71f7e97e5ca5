/*
 * fuzz_console.c - libFuzzer target: a hostile guest against virtio-console,
 * both queues and host input (introduced in chapter 8).
 *
 * The input is a whole guest, as for fuzz_virtqueue.c: where its two rings
 * are, which features it accepts, some raw register accesses, the bytes
 * typed on the host, and the contents of its RAM. The device is brought up
 * through its registers, both queues are kicked, the input is offered to
 * the receive queue, and the oracle (oracle.h) checks what the device wrote
 * and what it handed to the host.
 *
 * Input layout (little-endian):
 *
 *   0       receive queue size as log2 (low 3 bits: 1 .. 128; over 64 is refused)
 *   1       transmit queue size as log2
 *   2       bit 0: accept EVENT_IDX, bit 1: accept INDIRECT_DESC,
 *           bit 2: host input before the kicks, bit 3: kick twice
 *   3       host input length (mod 64)
 *   4..15   receive desc, avail, used offsets; transmit desc, avail, used (u16 each)
 *   16      number of register accesses (0..4)
 *   17..23  unused
 *   24..55  4 register accesses of 8 bytes: offset u16, width, write flag, value u32
 *   56..119 host input bytes
 *   120..   guest RAM
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "oracle.h"
#include "virtio_console.h"
#include "bytes.h"

#define RAM_SIZE    (64 * 1024)
#define HEADER_SIZE 120

static struct guest_mem mem;
static struct virtio_console con;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_muted(true);
    if (guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE) != 0)
        abort();
    return 0;
}

static void reg_write(uint64_t offset, uint32_t value)
{
    virtio_mmio_write(&con.transport, offset, 4, value);
}

/* Console output must come from device-readable buffers. */
static void host_tx(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    oracle_note_output(buf, len);
}

static void bring_up(const uint8_t *hdr, struct oracle_queue q[2])
{
    const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    uint64_t features = 1ULL << VIRTIO_F_VERSION_1;

    if (hdr[2] & 1)
        features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    if (hdr[2] & 2)
        features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    reg_write(VIRTIO_MMIO_STATUS, s);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned i = 0; i < 2; i++) {
        q[i] = (struct oracle_queue){
            .desc = RAM_BASE + (le16_at(hdr + 4 + 6 * i) & ~15u),
            .avail = RAM_BASE + (le16_at(hdr + 6 + 6 * i) & ~1u),
            .used = RAM_BASE + (le16_at(hdr + 8 + 6 * i) & ~3u),
            .size = 1u << (hdr[i] & 7),
            .indirect = hdr[2] & 2,
        };
        reg_write(VIRTIO_MMIO_QUEUE_SEL, i);
        reg_write(VIRTIO_MMIO_QUEUE_NUM, q[i].size);
        reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q[i].desc);
        reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q[i].avail);
        reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q[i].used);
        reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
    }
}

/* The queues as the transport has them now. */
static void queues_now(struct oracle_queue q[2])
{
    for (unsigned i = 0; i < 2; i++) {
        const struct virtq *vq = &con.transport.queues[i];
        q[i] = (struct oracle_queue){.desc = vq->desc_gpa,
                                     .avail = vq->avail_gpa,
                                     .used = vq->used_gpa,
                                     .size = vq->ready ? vq->size : 0,
                                     .indirect = vq->indirect};
    }
}

static void register_accesses(const uint8_t *hdr)
{
    for (unsigned i = 0; i < hdr[16] % 5; i++) {
        const uint8_t *op = hdr + 24 + 8 * i;
        uint64_t offset = le16_at(op) % VIRTIO_MMIO_SIZE;
        unsigned width = 1u << (op[2] & 3);
        if (offset + width > VIRTIO_MMIO_SIZE)
            continue;
        if (op[3] & 1)
            virtio_mmio_write(&con.transport, offset, width, le32_at(op + 4));
        else
            (void)virtio_mmio_read(&con.transport, offset, width);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_SIZE)
        return 0;
    size_t image = size - HEADER_SIZE < RAM_SIZE ? size - HEADER_SIZE : RAM_SIZE;
    memset(mem.host, 0, RAM_SIZE);
    memcpy(mem.host, data + HEADER_SIZE, image);

    struct virtio_console_host host = {.tx = host_tx};
    struct irq_line irq = {0};
    if (virtio_console_init(&con, &host, &mem, VIRTIO_MMIO_BASE, irq) != 0)
        abort();
    struct oracle_queue q[2];
    bring_up(data, q);
    queues_now(q);
    oracle_begin(&mem, q, 2); /* before DRIVER_OK: the device may start at once */
    reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    register_accesses(data);
    queues_now(q); /* the raw accesses may have set a queue up again */
    oracle_add(q, 2);

    size_t input = data[3] % 64;
    if (data[2] & 4)
        virtio_console_receive(&con, data + 56, input);
    for (int round = 0; round < ((data[2] & 8) ? 2 : 1); round++) {
        virtio_mmio_queue_notify(&con.transport, 0);
        virtio_mmio_queue_notify(&con.transport, 1);
    }
    if (!(data[2] & 4))
        virtio_console_receive(&con, data + 56, input);

    oracle_check();
    virtio_console_destroy(&con);
    return 0;
}
