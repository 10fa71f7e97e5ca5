/*
 * fuzz_net.c - libFuzzer target: a hostile guest and a hostile network against virtio-net
 * (introduced in chapter 8).
 *
 * Like fuzz_virtqueue.c, the input is a whole guest: ring placement for both
 * queues, ring features, and the contents of its RAM, so every transmit and
 * receive chain is fuzzer-built. It is also the network: bytes the backend
 * receives, as a stream (passt's length-prefixed framing, lengths
 * included) or as tap packets. Both directions then run, twice, the way the
 * device thread runs them. Besides the sanitizers, the oracle (oracle.h)
 * checks that the device wrote only device-writable bytes of RAM and never
 * reported more than a chain can hold.
 *
 * Input layout (all little-endian):
 *
 *   0       queue sizes, as log2: receiveq low 4 bits, transmitq high 4 bits
 *   1       bit 0: accept EVENT_IDX, bit 1: accept INDIRECT_DESC,
 *           bit 2: tap framing (else stream), bit 3: receive before transmit
 *   2..13   desc, avail, used offsets in RAM for receiveq, then transmitq
 *   14..15  n: how many network bytes follow (at most 4096)
 *   16..    n network bytes; tap framing cuts them into packets of
 *           (first byte * 8 + 1) bytes each
 *   then    guest RAM from its first byte (the rest of RAM is zero)
 *
 * tests/fuzz/gen_corpus.c writes the seeds (seeds/net/).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "net_backend.h"
#include "oracle.h"
#include "virtio_net.h"
#include "bytes.h"

#define RAM_SIZE    (64 * 1024)
#define HEADER_SIZE 16
#define NET_BYTES   4096

static struct guest_mem mem;
static struct net_backend backend;
static struct virtio_net net;

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
    virtio_mmio_write(&net.transport, offset, 4, value);
}

static void driver_bring_up(const uint8_t *hdr)
{
    const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    uint64_t features =
        (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS);

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
    for (unsigned q = 0; q < 2; q++) {
        const uint8_t *off = hdr + 2 + 6 * q;
        reg_write(VIRTIO_MMIO_QUEUE_SEL, q);
        reg_write(VIRTIO_MMIO_QUEUE_NUM, 1u << ((hdr[0] >> (4 * q)) & 15));
        reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(RAM_BASE + (le16_at(off) & ~15u)));
        reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(RAM_BASE + (le16_at(off + 2) & ~1u)));
        reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(RAM_BASE + (le16_at(off + 4) & ~3u)));
        reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
    }

    /* What the oracle needs to know, taken before the device may start (DRIVER_OK). */
    struct oracle_queue oq[2];
    for (unsigned q = 0; q < 2; q++) {
        const struct virtq *vq = &net.transport.queues[q];
        oq[q] = (struct oracle_queue){.desc = vq->desc_gpa,
                                      .avail = vq->avail_gpa,
                                      .used = vq->used_gpa,
                                      .size = vq->ready ? vq->size : 0,
                                      .indirect = vq->indirect};
    }
    oracle_begin(&mem, oq, 2);
    reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* The network's side: the fuzzer's bytes, as a stream or cut into packets. */
static void network_sends(int peer, const uint8_t *bytes, size_t len, bool tap)
{
    while (len > 0) {
        size_t n = tap ? (size_t)bytes[0] * 8 + 1 : len;
        if (n > len)
            n = len;
        if (send(peer, bytes, n, MSG_DONTWAIT) < 0)
            return;
        bytes += n;
        len -= n;
    }
}

static void drain(int peer)
{
    static uint8_t sink[128 * 1024];
    while (recv(peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
        ;
}

static void run_both(bool receive_first, int peer)
{
    if (receive_first)
        virtio_net_receive(&net);
    virtio_net_transmit(&net);
    drain(peer);
    virtio_net_receive(&net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mac[6] = {0x02, 'g', 'o', 'd', 0, 1};
    int sv[2];

    if (size < HEADER_SIZE)
        return 0;
    bool tap = data[1] & 4;
    size_t n = le16_at(data + 14) % (NET_BYTES + 1);
    if (n > size - HEADER_SIZE)
        n = size - HEADER_SIZE;
    const uint8_t *network = data + HEADER_SIZE, *ram = network + n;

    size_t image = size - HEADER_SIZE - n < RAM_SIZE ? size - HEADER_SIZE - n : RAM_SIZE;
    memset(mem.host, 0, RAM_SIZE);
    memcpy(mem.host, ram, image);

    if (socketpair(AF_UNIX, tap ? SOCK_SEQPACKET : SOCK_STREAM, 0, sv) < 0)
        abort();
    if (net_backend_init(&backend, sv[0], tap ? NET_FRAMING_VNET_HDR : NET_FRAMING_STREAM) != 0)
        abort();
    struct irq_line irq = {0};
    if (virtio_net_init(&net, &backend, mac, &mem, VIRTIO_MMIO_BASE, irq) != 0)
        abort();
    driver_bring_up(data);
    network_sends(sv[1], network, n, tap);
    run_both(data[1] & 8, sv[1]);
    run_both(!(data[1] & 8), sv[1]);
    oracle_check();

    virtio_net_destroy(&net);
    net_backend_destroy(&backend);
    close(sv[1]);
    return 0;
}
