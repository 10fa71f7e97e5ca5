/*
 * test_virtio_net.c - virtio-net frames both ways against a fake backend (common/virtio_net.c,
 * common/net_backend.c) (introduced in chapter 8).
 *
 * The test is both the guest driver and the host network: it brings the
 * card up through its MMIO registers and builds chains in fake guest RAM,
 * and the backend is one end of a socketpair whose other end the test
 * reads and writes. A SOCK_STREAM pair speaks passt's framing (4-byte
 * big-endian length, then the frame); a SOCK_SEQPACKET pair stands in for a
 * tap (one frame per read and write, behind a 12-byte virtio_net_hdr).
 * The device thread is not started: the test runs virtio_net_transmit()
 * and virtio_net_receive() itself, so every step is deterministic.
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
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "fake_edge_gic.h"
#include "guest_mem.h"
#include "log.h"
#include "net_backend.h"
#include "virtio_net.h"

#define BASE     0x40000000ULL
#define RAM_SIZE (512ULL * 1024)
#define QSIZE    8

/* Rings of queue q at BASE + q * 0x3000; buffers from BUF_GPA on. */
#define RING_GPA(q, part) (BASE + (q)*0x3000 + (part)*0x1000)
#define BUF_GPA           (BASE + 0x10000)

#define FEATURES                                                                                   \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS))

static const uint8_t MAC[6] = {0x02, 'g', 'o', 'd', 0x00, 0x01};

struct fixture {
    struct guest_mem mem;
    struct net_backend be;
    struct virtio_net net;
    int peer; /* the test's end of the backend */
    uint16_t avail_idx[2];
    uint16_t next_desc[2];
    struct fake_edge_gic gic; /* the device's interrupt input */
};

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
    virtio_mmio_write(&f->net.transport, offset, 4, value);
}

static uint32_t rd(struct fixture *f, uint64_t offset)
{
    return (uint32_t)virtio_mmio_read(&f->net.transport, offset, 4);
}

static void driver_bring_up(struct fixture *f)
{
    const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    wr(f, VIRTIO_MMIO_STATUS, s);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)FEATURES);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(FEATURES >> 32));
    wr(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
        wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)RING_GPA(q, 0));
        wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)RING_GPA(q, 1));
        wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)RING_GPA(q, 2));
        wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    wr(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static int start(struct fixture *f, int type, enum net_framing framing)
{
    int sv[2];
    struct irq_line irq = fake_edge_gic_line(&f->gic, 16);

    memset(f, 0, sizeof(*f));
    if (guest_mem_alloc(&f->mem, BASE, RAM_SIZE) != 0)
        return -1;
    if (socketpair(AF_UNIX, type, 0, sv) < 0)
        return -1;
    f->peer = sv[1];
    if (net_backend_init(&f->be, sv[0], framing) != 0)
        return -1;
    if (virtio_net_init(&f->net, &f->be, MAC, &f->mem, 0x0a000000, irq) != 0)
        return -1;
    log_set_muted(true);
    driver_bring_up(f);
    return 0;
}

static int setup_stream(void **state)
{
    static struct fixture f;
    *state = &f;
    return start(&f, SOCK_STREAM, NET_FRAMING_STREAM);
}

static int setup_tap(void **state)
{
    static struct fixture f;
    *state = &f;
    return start(&f, SOCK_SEQPACKET, NET_FRAMING_VNET_HDR);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_net_destroy(&f->net);
    net_backend_destroy(&f->be);
    close(f->peer);
    guest_mem_free(&f->mem);
    return 0;
}

/* Chain `bufs` into fresh descriptors of queue q and make the chain available. */
static void post(struct fixture *f, unsigned q, const struct buf *bufs, unsigned n)
{
    struct vring_desc *desc = (struct vring_desc *)host(f, RING_GPA(q, 0));
    struct vring_avail *avail = (struct vring_avail *)host(f, RING_GPA(q, 1));
    uint16_t head = f->next_desc[q];

    for (unsigned i = 0; i < n; i++) {
        uint16_t d = (uint16_t)((head + i) % QSIZE);
        uint16_t flags =
            (bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
        desc[d] = (struct vring_desc){.addr = htole64(bufs[i].gpa),
                                      .len = htole32(bufs[i].len),
                                      .flags = htole16(flags),
                                      .next = htole16((d + 1) % QSIZE)};
    }
    f->next_desc[q] = (uint16_t)((head + n) % QSIZE);
    avail->ring[f->avail_idx[q] % QSIZE] = htole16(head);
    f->avail_idx[q]++;
    __atomic_store_n(&avail->idx, htole16(f->avail_idx[q]), __ATOMIC_RELEASE);
}

static uint16_t used_idx(struct fixture *f, unsigned q)
{
    return le16toh(((struct vring_used *)host(f, RING_GPA(q, 2)))->idx);
}

static struct vring_used_elem used_elem(struct fixture *f, unsigned q, uint16_t i)
{
    return ((struct vring_used *)host(f, RING_GPA(q, 2)))->ring[i % QSIZE];
}

/* A recognisable frame: byte i is (seed + i), with a broadcast Ethernet header. */
static void make_frame(uint8_t *p, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i);
    memset(p, 0xff, 6);
}

/* The peer sends one frame the way passt does: be32 length, then the bytes. */
static void peer_send_stream(struct fixture *f, size_t len, uint8_t seed)
{
    uint8_t *rec = malloc(4 + len);
    rec[0] = (uint8_t)(len >> 24);
    rec[1] = (uint8_t)(len >> 16);
    rec[2] = (uint8_t)(len >> 8);
    rec[3] = (uint8_t)len;
    make_frame(rec + 4, len, seed);
    assert_int_equal(write(f->peer, rec, 4 + len), (ssize_t)(4 + len));
    free(rec);
}

/* Read exactly n bytes from the peer's end. */
static void peer_read(struct fixture *f, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(f->peer, p, n);
        assert_true(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

static bool peer_has_data(struct fixture *f)
{
    uint8_t b;
    return recv(f->peer, &b, 1, MSG_DONTWAIT | MSG_PEEK) > 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void config_mac_and_link(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 1);
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t features = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(features & (1u << VIRTIO_NET_F_MAC));
    assert_true(features & (1u << VIRTIO_NET_F_STATUS));
    /* No offloads: none of the checksum or segmentation bits. */
    assert_false(features & ((1u << VIRTIO_NET_F_CSUM) | (1u << VIRTIO_NET_F_GUEST_CSUM) |
                             (1u << VIRTIO_NET_F_HOST_TSO4) | (1u << VIRTIO_NET_F_MRG_RXBUF)));
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(virtio_mmio_read(&f->net.transport, 0x100 + i, 1), MAC[i]);
    assert_int_equal(virtio_mmio_read(&f->net.transport, 0x106, 2), VIRTIO_NET_S_LINK_UP);
}

static void tx_frames_keep_their_boundaries(void **state)
{
    struct fixture *f = *state;
    uint8_t got[4 + 1500];

    /* Frame 1: header split over two descriptors, frame over two more. */
    memset(host(f, BUF_GPA), 0x5a, 12);
    make_frame(host(f, BUF_GPA + 0x100), 1000, 1);
    const struct buf one[] = {
        {BUF_GPA, 5, false},
        {BUF_GPA + 5, 7, false},
        {BUF_GPA + 0x100, 600, false},
        {BUF_GPA + 0x100 + 600, 400, false},
    };
    post(f, VIRTIO_NET_TXQ, one, 4);
    /* Frame 2: header and a 60-byte frame in one descriptor, as Linux does it. */
    memset(host(f, BUF_GPA + 0x1000), 0, 12);
    make_frame(host(f, BUF_GPA + 0x1000 + 12), 60, 9);
    const struct buf two[] = {{BUF_GPA + 0x1000, 72, false}};
    post(f, VIRTIO_NET_TXQ, two, 1);

    assert_int_equal(virtio_net_transmit(&f->net), 0);
    assert_int_equal(used_idx(f, VIRTIO_NET_TXQ), 2);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_TXQ, 0).len), 0);
    assert_true(fake_edge_gic_take(&f->gic));

    /* Two records, each exactly one frame, header stripped. */
    peer_read(f, got, 4 + 1000);
    assert_memory_equal(got, ((uint8_t[]){0, 0, 0x03, 0xe8}), 4);
    assert_memory_equal(got + 4, host(f, BUF_GPA + 0x100), 1000);
    peer_read(f, got, 4 + 60);
    assert_memory_equal(got, ((uint8_t[]){0, 0, 0, 60}), 4);
    assert_memory_equal(got + 4, host(f, BUF_GPA + 0x1000 + 12), 60);
    assert_false(peer_has_data(f));
    assert_int_equal(f->net.stats.tx_frames, 2);
}

static void tx_bad_chains_are_dropped(void **state)
{
    struct fixture *f = *state;
    uint8_t got[4 + 100];

    /* Shorter than the header; a header and half an Ethernet header; too long; writable. */
    const struct buf shorter[] = {{BUF_GPA, 10, false}};
    const struct buf runt[] = {{BUF_GPA, 12 + 13, false}};
    const struct buf longer[] = {{BUF_GPA, 12 + NET_FRAME_MAX + 1, false}};
    const struct buf wrong_way[] = {{BUF_GPA, 12 + 100, false}, {BUF_GPA + 0x20000, 64, true}};
    post(f, VIRTIO_NET_TXQ, shorter, 1);
    post(f, VIRTIO_NET_TXQ, runt, 1);
    post(f, VIRTIO_NET_TXQ, longer, 1);
    post(f, VIRTIO_NET_TXQ, wrong_way, 2);
    /* The largest legal frame, and a good small one after all that. */
    const struct buf largest[] = {{BUF_GPA, 12 + NET_FRAME_MAX, false}};
    post(f, VIRTIO_NET_TXQ, largest, 1);
    make_frame(host(f, BUF_GPA + 0x30000 + 12), 100, 3);
    const struct buf good[] = {{BUF_GPA + 0x30000, 12 + 100, false}};
    post(f, VIRTIO_NET_TXQ, good, 1);

    /* The 64 KiB frame may not go in one write: keep flushing, as the thread would. */
    uint8_t *big = malloc(4 + NET_FRAME_MAX);
    int ret = virtio_net_transmit(&f->net);
    assert_true(ret == 0 || ret == -EAGAIN);
    peer_read(f, big, 4 + NET_FRAME_MAX);
    assert_int_equal(big[1] << 16 | big[2] << 8 | big[3], NET_FRAME_MAX);
    free(big);
    assert_int_equal(virtio_net_transmit(&f->net), 0);
    peer_read(f, got, 4 + 100);
    assert_memory_equal(got + 4, host(f, BUF_GPA + 0x30000 + 12), 100);
    assert_false(peer_has_data(f));

    /* All six chains were handed back; four counted as bad; the device carries on. */
    assert_int_equal(used_idx(f, VIRTIO_NET_TXQ), 6);
    assert_int_equal(f->net.stats.tx_bad, 4);
    assert_int_equal(f->net.stats.tx_frames, 2);
    assert_false(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void rx_frame_with_header(void **state)
{
    struct fixture *f = *state;

    memset(host(f, BUF_GPA), 0xee, 2048);
    const struct buf rx[] = {{BUF_GPA, 2048, true}};
    post(f, VIRTIO_NET_RXQ, rx, 1);
    peer_send_stream(f, 1514, 7);
    virtio_net_receive(&f->net);

    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 0).len), 12 + 1514);
    /* Section 5.1.6.4: flags 0, GSO_NONE, num_buffers 1 (it is there with VERSION_1). */
    const struct virtio_net_hdr_v1 *h = (const void *)host(f, BUF_GPA);
    assert_int_equal(h->flags, 0);
    assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(le16toh(h->num_buffers), 1);
    uint8_t want[1514];
    make_frame(want, sizeof(want), 7);
    assert_memory_equal(host(f, BUF_GPA + 12), want, sizeof(want));
    assert_int_equal(*host(f, BUF_GPA + 12 + 1514), 0xee); /* nothing written past it */
    assert_true(fake_edge_gic_take(&f->gic));
}

static void rx_split_buffer_and_split_record(void **state)
{
    struct fixture *f = *state;

    /* The header in one descriptor, the frame in two: a legal way to post a buffer. */
    const struct buf rx[] = {
        {BUF_GPA, 12, true}, {BUF_GPA + 0x100, 50, true}, {BUF_GPA + 0x200, 1500, true}};
    post(f, VIRTIO_NET_RXQ, rx, 3);

    /* The stream delivers the record in two pieces: nothing until it is whole. */
    uint8_t rec[4 + 300] = {0, 0, 0x01, 0x2c};
    make_frame(rec + 4, 300, 40);
    assert_int_equal(write(f->peer, rec, 100), 100);
    virtio_net_receive(&f->net);
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 0);
    assert_int_equal(write(f->peer, rec + 100, sizeof(rec) - 100), (ssize_t)sizeof(rec) - 100);
    virtio_net_receive(&f->net);
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 0).len), 12 + 300);
    assert_memory_equal(host(f, BUF_GPA + 0x100), rec + 4, 50);
    assert_memory_equal(host(f, BUF_GPA + 0x200), rec + 4 + 50, 250);
}

static void rx_waits_for_buffers_and_resumes(void **state)
{
    struct fixture *f = *state;

    for (uint8_t i = 0; i < 3; i++)
        peer_send_stream(f, 100 + i, (uint8_t)(i * 16));
    const struct buf b0[] = {{BUF_GPA, 2048, true}};
    post(f, VIRTIO_NET_RXQ, b0, 1);
    virtio_net_receive(&f->net);
    /* One buffer: one frame; the others wait, and the device stops reading. */
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
    assert_true(f->net.rx_waiting);
    assert_true(f->net.stats.rx_no_buffers >= 1);

    const struct buf b1[] = {{BUF_GPA + 0x1000, 2048, true}};
    const struct buf b2[] = {{BUF_GPA + 0x2000, 2048, true}};
    post(f, VIRTIO_NET_RXQ, b1, 1);
    post(f, VIRTIO_NET_RXQ, b2, 1);
    virtio_net_receive(&f->net);
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 3);
    assert_false(f->net.rx_waiting);
    /* In order, none lost. */
    for (uint16_t i = 0; i < 3; i++) {
        uint8_t want[102];
        make_frame(want, 100 + i, (uint8_t)(i * 16));
        assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, i).len), 12 + 100 + i);
        assert_memory_equal(host(f, BUF_GPA + i * 0x1000 + 12), want, 100 + i);
    }
    assert_int_equal(f->net.stats.rx_frames, 3);
}

static void rx_frame_too_big_for_buffer(void **state)
{
    struct fixture *f = *state;

    /* A 100-byte buffer, a 200-byte frame, then a 50-byte frame. */
    const struct buf small[] = {{BUF_GPA, 100, true}};
    post(f, VIRTIO_NET_RXQ, small, 1);
    peer_send_stream(f, 200, 1);
    peer_send_stream(f, 50, 2);
    virtio_net_receive(&f->net);

    /* The big one is dropped; the buffer was kept and holds the small one. */
    assert_int_equal(f->net.stats.rx_too_big, 1);
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 0).len), 12 + 50);
    uint8_t want[50];
    make_frame(want, 50, 2);
    assert_memory_equal(host(f, BUF_GPA + 12), want, 50);
}

static void rx_readable_buffer_is_refused(void **state)
{
    struct fixture *f = *state;

    memset(host(f, BUF_GPA), 0x11, 2048);
    const struct buf wrong[] = {{BUF_GPA, 2048, false}};
    const struct buf right[] = {{BUF_GPA + 0x1000, 2048, true}};
    post(f, VIRTIO_NET_RXQ, wrong, 1);
    post(f, VIRTIO_NET_RXQ, right, 1);
    peer_send_stream(f, 64, 5);
    virtio_net_receive(&f->net);

    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 2);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 0).len), 0);
    assert_int_equal(*host(f, BUF_GPA), 0x11); /* not written */
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 1).len), 12 + 64);
    assert_int_equal(f->net.stats.rx_bad_chain, 1);
}

static void rx_impossible_lengths_skipped(void **state)
{
    struct fixture *f = *state;

    const struct buf rx[] = {{BUF_GPA, 2048, true}};
    post(f, VIRTIO_NET_RXQ, rx, 1);
    /* A record claiming 70000 bytes (followed by that many), one of 3 bytes, then a real one. */
    uint8_t *junk = calloc(1, 4 + 70000);
    junk[1] = 0x01;
    junk[2] = 0x11;
    junk[3] = 0x70;
    for (size_t off = 0; off < 4 + 70000;) {
        ssize_t n = write(f->peer, junk + off, 4 + 70000 - off);
        assert_true(n > 0);
        off += (size_t)n;
        virtio_net_receive(&f->net); /* drain as we go: the socket buffer is finite */
    }
    free(junk);
    uint8_t tiny[4 + 3] = {0, 0, 0, 3, 1, 2, 3};
    assert_int_equal(write(f->peer, tiny, sizeof(tiny)), (ssize_t)sizeof(tiny));
    peer_send_stream(f, 80, 9);
    virtio_net_receive(&f->net);

    assert_int_equal(f->be.stats.rx_dropped, 2);
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 0).len), 12 + 80);
}

static void rx_and_tx_interrupt_together(void **state)
{
    struct fixture *f = *state;

    const struct buf rx[] = {{BUF_GPA, 2048, true}};
    post(f, VIRTIO_NET_RXQ, rx, 1);
    make_frame(host(f, BUF_GPA + 0x1000 + 12), 60, 1);
    const struct buf tx[] = {{BUF_GPA + 0x1000, 72, false}};
    post(f, VIRTIO_NET_TXQ, tx, 1);
    peer_send_stream(f, 60, 2);

    assert_int_equal(virtio_net_transmit(&f->net), 0);
    virtio_net_receive(&f->net);
    assert_true(fake_edge_gic_take(&f->gic));
    /* The driver acknowledges once and must find both queues' work in the used rings. */
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
                     VIRTIO_MMIO_INT_VRING);
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_false(fake_edge_gic_take(&f->gic));
    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
    assert_int_equal(used_idx(f, VIRTIO_NET_TXQ), 1);
}

static void backend_hangup_is_seen(void **state)
{
    struct fixture *f = *state;

    close(f->peer);
    f->peer = socket(AF_UNIX, SOCK_STREAM, 0); /* for teardown */
    virtio_net_receive(&f->net);
    assert_true(f->be.closed);
    /* Frames sent now are dropped, not stuck. */
    make_frame(host(f, BUF_GPA + 12), 60, 1);
    const struct buf tx[] = {{BUF_GPA, 72, false}};
    post(f, VIRTIO_NET_TXQ, tx, 1);
    assert_int_equal(virtio_net_transmit(&f->net), 0);
    assert_int_equal(used_idx(f, VIRTIO_NET_TXQ), 1);
    assert_int_equal(f->be.stats.tx_dropped, 1);
}

/*
 * passt's socket takes part of a batch (its buffer is full): the rest goes
 * when there is room again, whole and in order, and every frame is counted
 * once as sent, however the records were cut between the writes.
 */
static void tx_partial_writes_resume(void **state)
{
    struct fixture *f = *state;
    enum {
        FRAMES = 3,
        LEN = 5001
    };
    int small = 1; /* the kernel's minimum: a few KiB */
    uint8_t got[FRAMES * (4 + LEN)];
    size_t have = 0;

    assert_int_equal(setsockopt(f->be.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    for (unsigned i = 0; i < FRAMES; i++) {
        uint64_t gpa = BUF_GPA + i * 0x2000;
        make_frame(host(f, gpa + 12), LEN, (uint8_t)(10 + i));
        const struct buf tx[] = {{gpa, 12 + LEN, false}};
        post(f, VIRTIO_NET_TXQ, tx, 1);
    }
    assert_int_equal(virtio_net_transmit(&f->net), -EAGAIN);
    int rounds = 0;
    for (;;) {
        ssize_t n = recv(f->peer, got + have, sizeof(got) - have, MSG_DONTWAIT);
        if (n > 0)
            have += (size_t)n;
        if (virtio_net_transmit(&f->net) == 0 && !peer_has_data(f) && have == sizeof(got))
            break;
        assert_true(++rounds < 1000);
    }
    assert_true(rounds > 0);
    for (unsigned i = 0; i < FRAMES; i++) {
        const uint8_t *rec = got + i * (4 + LEN);
        uint8_t want[LEN];
        assert_int_equal((uint32_t)rec[0] << 24 | rec[1] << 16 | rec[2] << 8 | rec[3], LEN);
        make_frame(want, LEN, (uint8_t)(10 + i));
        assert_memory_equal(rec + 4, want, LEN);
    }
    assert_int_equal(f->be.stats.tx_frames, FRAMES);
    assert_int_equal(f->be.stats.tx_bytes, FRAMES * LEN);
    assert_int_equal(f->be.stats.tx_dropped, 0);
    assert_int_equal(f->net.stats.tx_frames, FRAMES);
}

static void tap_framing(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[12 + 200];

    /* Guest -> tap: a 12-byte header of zeros (no offloads asked for), then the frame. */
    memset(host(f, BUF_GPA), 0x77, 12); /* whatever the guest wrote in its header */
    make_frame(host(f, BUF_GPA + 12), 200, 3);
    const struct buf tx[] = {{BUF_GPA, 12 + 200, false}};
    post(f, VIRTIO_NET_TXQ, tx, 1);
    assert_int_equal(virtio_net_transmit(&f->net), 0);
    assert_int_equal(read(f->peer, pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
    static const uint8_t zeros[12];
    assert_memory_equal(pkt, zeros, 12);
    assert_memory_equal(pkt + 12, host(f, BUF_GPA + 12), 200);

    /* Tap -> guest: two packets, each one frame behind a header we replace with our own. */
    const struct buf rx0[] = {{BUF_GPA + 0x1000, 2048, true}};
    const struct buf rx1[] = {{BUF_GPA + 0x2000, 2048, true}};
    post(f, VIRTIO_NET_RXQ, rx0, 1);
    post(f, VIRTIO_NET_RXQ, rx1, 1);
    memset(pkt, 0x22, 12); /* e.g. DATA_VALID from the host: not for a guest without GUEST_CSUM */
    make_frame(pkt + 12, 200, 5);
    assert_int_equal(write(f->peer, pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
    make_frame(pkt + 12, 100, 6);
    assert_int_equal(write(f->peer, pkt, 12 + 100), 12 + 100);
    /* A packet shorter than the header: dropped. */
    assert_int_equal(write(f->peer, pkt, 5), 5);
    virtio_net_receive(&f->net);

    assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 2);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 0).len), 12 + 200);
    assert_int_equal(le32toh(used_elem(f, VIRTIO_NET_RXQ, 1).len), 12 + 100);
    const struct virtio_net_hdr_v1 *h = (const void *)host(f, BUF_GPA + 0x1000);
    assert_int_equal(h->flags, 0);
    assert_int_equal(le16toh(h->num_buffers), 1);
    assert_memory_equal(host(f, BUF_GPA + 0x2000 + 12), pkt + 12, 100);
    assert_int_equal(f->be.stats.rx_dropped, 1);
}

static void parse_mac(void **state)
{
    uint8_t mac[6];
    (void)state;

    assert_int_equal(virtio_net_parse_mac("02:11:22:aa:BB:cc", mac), 0);
    assert_memory_equal(mac, ((uint8_t[]){0x02, 0x11, 0x22, 0xaa, 0xbb, 0xcc}), 6);
    assert_int_equal(virtio_net_parse_mac("01:00:5e:00:00:01", mac), -EINVAL); /* multicast */
    assert_int_equal(virtio_net_parse_mac("02:11:22:aa:bb", mac), -EINVAL);
    assert_int_equal(virtio_net_parse_mac("02:11:22:aa:bb:cc:dd", mac), -EINVAL);
    assert_int_equal(virtio_net_parse_mac("02:11:22:aa:bb:ccx", mac), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(config_mac_and_link, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(tx_frames_keep_their_boundaries, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(tx_bad_chains_are_dropped, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_frame_with_header, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_split_buffer_and_split_record, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_waits_for_buffers_and_resumes, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_frame_too_big_for_buffer, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_readable_buffer_is_refused, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_impossible_lengths_skipped, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(rx_and_tx_interrupt_together, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(backend_hangup_is_seen, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(tx_partial_writes_resume, setup_stream, teardown),
        cmocka_unit_test_setup_teardown(tap_framing, setup_tap, teardown),
        cmocka_unit_test(parse_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
