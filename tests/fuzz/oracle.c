/*
 * oracle.c - checks beyond the sanitizers for the virtio fuzz targets: see oracle.h.
 *
 * A guest may alias its buffers with its own rings: a receive buffer over
 * the used ring, a read whose data lands on the descriptor table. The
 * device then legitimately rewrites the very structures it walks, and what
 * it did can no longer be replayed from one copy of RAM. So descriptors are
 * read from both the snapshot and the final RAM (a buffer either names is
 * allowed), and when a writable buffer overlaps any ring, or a used ring
 * overlaps another ring, the used elements are not checked: only the
 * "writes stay in writable bytes" rule is. When what the device writes
 * overlaps a descriptor table, the device may have followed descriptors it
 * wrote itself, through states of RAM nobody kept: then only the
 * sanitizers' "inside guest RAM" holds.
 */
#include "oracle.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#define MAX_RAM    (1u << 20)
#define MAX_CONFIG 8

static const struct guest_mem *ram;
static uint8_t before[MAX_RAM];
static uint8_t writable[MAX_RAM]; /* the device may write here: used rings and WRITE buffers */
static uint8_t bufw[MAX_RAM];     /* WRITE buffers only */
static uint8_t readable[MAX_RAM]; /* buffers without WRITE */
static uint8_t ring[MAX_RAM];     /* descriptor tables, indirect tables, avail and used rings */
static uint8_t tables[MAX_RAM];   /* descriptor tables and indirect tables */
static const uint8_t *view;       /* where descriptors are read from: before, or RAM now */
static struct oracle_queue configs[MAX_CONFIG];
static unsigned nconfigs, nfirst;
static bool reconfigured;
static struct {
    const uint8_t *p;
    size_t len;
} outputs[64];
static unsigned noutputs; /* past 64, outputs go unchecked */

static void mark(uint8_t *map, uint64_t gpa, uint64_t len)
{
    if (!guest_mem_range_ok(ram, gpa, len))
        return;
    memset(map + (gpa - ram->gpa_base), 1, len);
}

static bool read_desc(uint64_t table, uint32_t i, struct vring_desc *d)
{
    if (!guest_mem_range_ok(ram, table + 16ULL * i, 16))
        return false;
    memcpy(d, view + (table + 16ULL * i - ram->gpa_base), 16);
    return true;
}

/* Every buffer a descriptor in this table names, by its WRITE flag. */
static void mark_table(uint64_t table, uint32_t entries, bool indirect_ok)
{
    mark(ring, table, 16ULL * entries);
    mark(tables, table, 16ULL * entries);
    for (uint32_t i = 0; i < entries; i++) {
        struct vring_desc d;
        if (!read_desc(table, i, &d))
            return;
        uint64_t addr = le64toh(d.addr);
        uint32_t len = le32toh(d.len);
        uint16_t flags = le16toh(d.flags);
        if (flags & VRING_DESC_F_INDIRECT) {
            if (indirect_ok && len % 16 == 0)
                mark_table(addr, len / 16, false);
            continue;
        }
        if (flags & VRING_DESC_F_WRITE) {
            mark(writable, addr, len);
            mark(bufw, addr, len);
        } else {
            mark(readable, addr, len);
        }
    }
}

/* Mark what these queues allow, reading their descriptors from both views. */
static void mark_queues(const struct oracle_queue *qs, unsigned count)
{
    const uint8_t *views[2] = {before, ram->host};
    for (unsigned v = 0; v < 2; v++) {
        view = views[v];
        for (unsigned q = 0; q < count; q++) {
            if (qs[q].size == 0)
                continue;
            mark(writable, qs[q].used, 6 + 8ULL * qs[q].size); /* flags, idx, ring, avail_event */
            mark(ring, qs[q].used, 6 + 8ULL * qs[q].size);
            mark(ring, qs[q].avail, 6 + 2ULL * qs[q].size);
            mark_table(qs[q].desc, qs[q].size, qs[q].indirect);
        }
    }
}

static void remember(const struct oracle_queue *qs, unsigned count)
{
    for (unsigned q = 0; q < count && nconfigs < MAX_CONFIG; q++)
        configs[nconfigs++] = qs[q];
}

void oracle_begin(const struct guest_mem *mem, const struct oracle_queue *qs, unsigned count)
{
    if (mem->size > MAX_RAM || count > 4)
        abort();
    ram = mem;
    nconfigs = 0;
    reconfigured = false;
    noutputs = 0;
    memcpy(before, mem->host, mem->size);
    memset(writable, 0, mem->size);
    memset(bufw, 0, mem->size);
    memset(readable, 0, mem->size);
    memset(ring, 0, mem->size);
    memset(tables, 0, mem->size);
    remember(qs, count);
    nfirst = nconfigs;
    mark_queues(qs, count);
}

void oracle_add(const struct oracle_queue *qs, unsigned count)
{
    if (count != nfirst || memcmp(qs, configs, count * sizeof(*qs)) != 0) {
        reconfigured = true;
        remember(qs, count);
    }
    mark_queues(qs, count);
}

void oracle_note_output(const void *host, size_t len)
{
    if (noutputs == sizeof(outputs) / sizeof(outputs[0]))
        return;
    outputs[noutputs].p = host;
    outputs[noutputs++].len = len;
}

static bool is_readable(const uint8_t *p, size_t len)
{
    if (p < ram->host || len > ram->size || (size_t)(p - ram->host) > ram->size - len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!readable[(size_t)(p - ram->host) + i])
            return false;
    return true;
}

/*
 * The most a device may report for the chain at `head`: its writable bytes,
 * walked as virtqueue.c walks (at most `size` buffers, one indirect table).
 */
static uint64_t writable_len(const struct oracle_queue *q, uint32_t head)
{
    uint64_t table = q->desc, total = 0;
    uint32_t entries = q->size, i = head, steps = 0;
    bool in_indirect = false;

    view = before;
    for (;;) {
        struct vring_desc d;
        if (i >= entries || !read_desc(table, i, &d))
            return total;
        uint16_t flags = le16toh(d.flags);
        if ((flags & VRING_DESC_F_INDIRECT) && !in_indirect) {
            table = le64toh(d.addr);
            entries = le32toh(d.len) / 16;
            in_indirect = true;
            i = 0;
            continue;
        }
        if (++steps > q->size)
            return total;
        if (flags & VRING_DESC_F_WRITE)
            total += le32toh(d.len);
        if (!(flags & VRING_DESC_F_NEXT))
            return total;
        i = le16toh(d.next);
    }
}

static void fail(const char *what, uint64_t a, uint64_t b)
{
    fprintf(stderr, "oracle: %s (%#llx, %#llx)\n", what, (unsigned long long)a,
            (unsigned long long)b);
    abort();
}

/*
 * Did the guest alias what the device writes with what it reads: a writable
 * buffer over a ring, or a used ring over another ring (another queue's,
 * or its own descriptor table)?
 */
static uint8_t used_rings[MAX_RAM];

static bool overlaps_used(uint64_t gpa, uint64_t len)
{
    if (!guest_mem_range_ok(ram, gpa, len))
        return false;
    return memchr(used_rings + (gpa - ram->gpa_base), 1, len) != NULL;
}

static bool aliased(void)
{
    bool alias = false;
    memset(used_rings, 0, ram->size);
    for (unsigned n = 0; n < nconfigs; n++) {
        const struct oracle_queue *q = &configs[n];
        if (q->size == 0)
            continue;
        if (overlaps_used(q->used, 6 + 8ULL * q->size))
            alias = true;
        mark(used_rings, q->used, 6 + 8ULL * q->size);
    }
    for (unsigned n = 0; n < nconfigs; n++) {
        const struct oracle_queue *q = &configs[n];
        if (q->size && (overlaps_used(q->desc, 16ULL * q->size) ||
                        overlaps_used(q->avail, 6 + 2ULL * q->size)))
            alias = true;
    }
    for (uint64_t i = 0; i < ram->size && !alias; i++)
        if (bufw[i] && ring[i])
            alias = true;
    return alias;
}

/*
 * Can the device have rewritten descriptors it then followed: a writable
 * buffer or a used ring over a descriptor table? Then which bytes it may
 * write depends on states of RAM nobody kept, and only the sanitizers'
 * "inside guest RAM" holds.
 */
static bool tables_aliased(void)
{
    for (uint64_t i = 0; i < ram->size; i++)
        if (tables[i] && (bufw[i] || used_rings[i]))
            return true;
    return false;
}

void oracle_check(void)
{
    /* What the final RAM's descriptors allow, too (the device may have written them). */
    mark_queues(configs, nconfigs);
    bool alias = aliased(); /* also fills used_rings */
    if (tables_aliased())
        return;

    /* Most of RAM is unchanged: compare 256-byte blocks, look closer only where they differ. */
    for (uint64_t block = 0; block < ram->size; block += 256) {
        uint64_t n = ram->size - block < 256 ? ram->size - block : 256;
        if (memcmp(ram->host + block, before + block, n) == 0)
            continue;
        for (uint64_t i = block; i < block + n; i++)
            if (ram->host[i] != before[i] && !writable[i])
                fail("the device wrote a byte that is not device-writable", ram->gpa_base + i,
                     ram->host[i]);
    }

    for (unsigned i = 0; i < noutputs; i++)
        if (!is_readable(outputs[i].p, outputs[i].len))
            fail("the device handed the host bytes that are not device-readable",
                 (uint64_t)(outputs[i].p - ram->host), outputs[i].len);

    if (reconfigured)
        return;
    for (unsigned n = 0; n < nconfigs; n++) {
        const struct oracle_queue *q = &configs[n];
        if (q->size == 0 || !guest_mem_range_ok(ram, q->used, 6 + 8ULL * q->size))
            continue;
        const uint8_t *used = ram->host + (q->used - ram->gpa_base);
        const uint8_t *old = before + (q->used - ram->gpa_base);
        if (memcmp(used, old, 4 + 8ULL * q->size) == 0)
            continue; /* the device used nothing here (avail_event may have moved) */
        if (alias)
            return;
        /* The device counts from 0 for a fresh queue: elements 0 .. idx-1, the last `size`. */
        uint16_t idx = (uint16_t)(used[2] | used[3] << 8);
        uint32_t count = idx < q->size ? idx : q->size;
        for (uint32_t k = 0; k < count; k++) {
            uint32_t slot = (uint32_t)(idx - 1 - k) & (q->size - 1);
            struct vring_used_elem e;
            memcpy(&e, used + 4 + 8 * slot, 8);
            uint32_t id = le32toh(e.id), len = le32toh(e.len);
            if (id >= q->size)
                fail("used id out of range", id, q->size);
            if (len > writable_len(q, id))
                fail("used len exceeds the chain's writable bytes", len, writable_len(q, id));
        }
    }
}
