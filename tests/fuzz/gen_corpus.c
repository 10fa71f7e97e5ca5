/*
 * gen_corpus.c - write the seed inputs for fuzz_virtqueue (introduced in chapter 8).
 *
 * A fuzzer finds its way much faster from inputs that are already valid, so
 * each seed is a small, well-formed guest (see the input layout at the top of
 * fuzz_virtqueue.c) doing one thing: a read, a write, an indirect table, ...
 * `make -C tests/fuzz corpus` regenerates tests/fuzz/corpus/ with it, and
 * tests/fuzz/seeds/net/ for fuzz_net (see net_seeds() at the end).
 *
 * Guest RAM layout of every seed: descriptor table at 0x000, available ring
 * at 0x080, used ring at 0x0c0, request headers from 0x200, an indirect
 * table at 0x300, status bytes from 0x3f0, data buffers from 0x400.
 */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define RAM      0x40000000ULL
#define HEADER   80
#define IMAGE    0x800
#define DESC     0x000
#define AVAIL    0x080
#define USED     0x0c0
#define HDR      0x200
#define INDIRECT 0x300
#define STATUS   0x3f0
#define DATA     0x400

struct seed {
    uint8_t bytes[HEADER + IMAGE];
    unsigned ops;
    uint16_t avail_idx;
};

static uint8_t *ram(struct seed *s, unsigned offset)
{
    return s->bytes + HEADER + offset;
}

static void seed_init(struct seed *s, unsigned log2_size, uint8_t flags)
{
    memset(s, 0, sizeof(*s));
    s->bytes[0] = (uint8_t)log2_size;
    s->bytes[1] = flags;
    s->bytes[2] = DESC & 0xff;
    s->bytes[4] = AVAIL & 0xff;
    s->bytes[6] = USED & 0xff;
}

static void desc(struct seed *s, unsigned table, unsigned i, unsigned offset, uint32_t len,
                 uint16_t flags, uint16_t next)
{
    struct vring_desc d = {htole64(RAM + offset), htole32(len), htole16(flags), htole16(next)};
    memcpy(ram(s, table + 16 * i), &d, sizeof(d));
}

static void header(struct seed *s, unsigned offset, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = {.type = htole32(type), .sector = htole64(sector)};
    memcpy(ram(s, offset), &h, sizeof(h));
}

static void make_available(struct seed *s, uint16_t head)
{
    uint16_t v = htole16(head);
    memcpy(ram(s, AVAIL + 4 + 2 * s->avail_idx), &v, 2);
    s->avail_idx++;
    v = htole16(s->avail_idx);
    memcpy(ram(s, AVAIL + 2), &v, 2);
}

static void mmio_op(struct seed *s, uint16_t offset, bool write, uint32_t value)
{
    uint8_t *op = s->bytes + 16 + 8 * s->ops++;
    op[0] = (uint8_t)offset;
    op[1] = (uint8_t)(offset >> 8);
    op[2] = 2; /* 4 bytes */
    op[3] = write;
    for (int i = 0; i < 4; i++)
        op[4 + i] = (uint8_t)(value >> (8 * i));
    s->bytes[8] = (uint8_t)s->ops;
}

/* header, data, status as three direct descriptors starting at `first`. */
static void request(struct seed *s, unsigned first, uint32_t type, uint64_t sector,
                    uint32_t data_len, bool data_writable)
{
    unsigned n = first;
    header(s, HDR + 16 * first, type, sector);
    desc(s, DESC, n, HDR + 16 * first, 16, VRING_DESC_F_NEXT, (uint16_t)(n + 1));
    if (data_len) {
        n++;
        desc(s, DESC, n, DATA, data_len,
             VRING_DESC_F_NEXT | (data_writable ? VRING_DESC_F_WRITE : 0), (uint16_t)(n + 1));
    }
    n++;
    desc(s, DESC, n, STATUS + first, 1, VRING_DESC_F_WRITE, 0);
    make_available(s, (uint16_t)first);
}

static int save(const struct seed *s, const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s->bytes, sizeof(s->bytes), 1, f) != 1 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

/*
 * fuzz_net seeds (layout at the top of fuzz_net.c): two 4-entry queues,
 * receiveq rings at 0x000/0x040/0x060, transmitq rings at 0x100/0x140/0x160,
 * two receive buffers at 0x400 and 0x600, a transmit frame at 0x800, and
 * one 60-byte frame coming from the network.
 */
static int net_seed(const char *dir, const char *name, bool tap)
{
    uint8_t b[16 + 76 + 0x900] = {0x22, tap ? 4 : 0, 0x00, 0,    0x40, 0,    0x60,
                                  0,    0x00,        1,    0x40, 1,    0x60, 1};
    unsigned n = tap ? 12 + 60 : 4 + 60;
    uint8_t *net = b + 16, *ram = b + 16 + n;

    b[14] = (uint8_t)n;
    if (tap) {
        net[0] = 8; /* fuzz_net cuts tap packets of first byte * 8 + 1 bytes: 65, then 7 */
        memset(net + 12, 0xff, 6);
    } else {
        net[3] = 60;
        memset(net + 4, 0xff, 6);
    }
    for (unsigned i = 0; i < 2; i++) { /* receive buffers, device-writable */
        struct vring_desc d = {htole64(RAM + 0x400 + 0x200 * i), htole32(0x200),
                               htole16(VRING_DESC_F_WRITE), 0};
        memcpy(ram + 16 * i, &d, sizeof(d));
        uint16_t head = htole16((uint16_t)i);
        memcpy(ram + 0x40 + 4 + 2 * i, &head, 2);
    }
    uint16_t two = htole16(2), one = htole16(1);
    memcpy(ram + 0x40 + 2, &two, 2);
    struct vring_desc t = {htole64(RAM + 0x800), htole32(12 + 60), 0, 0};
    memcpy(ram + 0x100, &t, sizeof(t));
    memcpy(ram + 0x140 + 2, &one, 2);
    memset(ram + 0x800 + 12, 0xff, 6);

    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 16 + n + 0x900, 1, f) != 1 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "corpus";
    const char *net_dir = argc > 2 ? argv[2] : "seeds/net";
    struct seed s;
    int err = net_seed(net_dir, "01-stream-both-ways", false);
    err |= net_seed(net_dir, "02-tap-both-ways", true);

    seed_init(&s, 3, 0);
    request(&s, 0, VIRTIO_BLK_T_IN, 2, 1024, true);
    err |= save(&s, dir, "01-read");

    seed_init(&s, 3, 0);
    memset(ram(&s, DATA), 0x5a, 512);
    request(&s, 0, VIRTIO_BLK_T_OUT, 7, 512, false);
    err |= save(&s, dir, "02-write");

    seed_init(&s, 3, 8);
    request(&s, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    request(&s, 2, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
    err |= save(&s, dir, "03-flush-get-id");

    seed_init(&s, 3, 2);
    header(&s, HDR, VIRTIO_BLK_T_IN, 1);
    desc(&s, INDIRECT, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
    desc(&s, INDIRECT, 1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    desc(&s, INDIRECT, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    desc(&s, DESC, 0, INDIRECT, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    make_available(&s, 0);
    err |= save(&s, dir, "04-indirect-read");

    seed_init(&s, 3, 1 | 8);
    request(&s, 0, VIRTIO_BLK_T_IN, 0, 512, true);
    request(&s, 3, VIRTIO_BLK_T_OUT, 3, 512, false);
    err |= save(&s, dir, "05-event-idx-two-requests");

    seed_init(&s, 3, 0);
    desc(&s, DESC, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
    desc(&s, DESC, 1, DATA, 512, VRING_DESC_F_NEXT, 0);
    make_available(&s, 0);
    err |= save(&s, dir, "06-loop");

    seed_init(&s, 3, 4);
    request(&s, 0, VIRTIO_BLK_T_OUT, 0, 512, false);
    err |= save(&s, dir, "07-read-only-write");

    seed_init(&s, 4, 0);
    request(&s, 0, VIRTIO_BLK_T_IN, 63, 1024, true); /* 64-sector disk: past the end */
    mmio_op(&s, VIRTIO_MMIO_QUEUE_NOTIFY, true, 0);
    mmio_op(&s, VIRTIO_MMIO_INTERRUPT_ACK, true, 1);
    mmio_op(&s, VIRTIO_MMIO_CONFIG, false, 0);
    mmio_op(&s, VIRTIO_MMIO_STATUS, true, 0);
    err |= save(&s, dir, "08-mmio-ops-and-reset");

    return err;
}
