/*
 * oracle.c - checks beyond the sanitizers for the virtio fuzz targets: see oracle.h.
 */
#include "oracle.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#define MAX_RAM (1u << 20)

static const struct guest_mem *ram;
static uint8_t before[MAX_RAM];
static uint8_t writable[MAX_RAM], readable[MAX_RAM];
static struct oracle_queue queues[4];
static unsigned nqueues;
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
    memcpy(d, ram->host + (table + 16ULL * i - ram->gpa_base), 16);
    return true;
}

/* Every buffer a descriptor in this table names, by its WRITE flag. */
static void mark_table(uint64_t table, uint32_t entries, bool indirect_ok)
{
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
        mark(flags & VRING_DESC_F_WRITE ? writable : readable, addr, len);
    }
}

static void mark_queues(const struct oracle_queue *qs, unsigned count)
{
    for (unsigned q = 0; q < count; q++) {
        if (qs[q].size == 0)
            continue;
        mark(writable, qs[q].used, 6 + 8ULL * qs[q].size); /* flags, idx, ring, avail_event */
        mark_table(qs[q].desc, qs[q].size, qs[q].indirect);
    }
}

void oracle_begin(const struct guest_mem *mem, const struct oracle_queue *qs, unsigned count)
{
    if (mem->size > MAX_RAM || count > 4)
        abort();
    ram = mem;
    nqueues = count;
    reconfigured = false;
    noutputs = 0;
    memcpy(queues, qs, count * sizeof(*qs));
    memcpy(before, mem->host, mem->size);
    memset(writable, 0, mem->size);
    memset(readable, 0, mem->size);
    mark_queues(qs, count);
}

void oracle_add(const struct oracle_queue *qs, unsigned count)
{
    if (count != nqueues || memcmp(qs, queues, count * sizeof(*qs)) != 0)
        reconfigured = true;
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

void oracle_check(void)
{
    for (uint64_t i = 0; i < ram->size; i++)
        if (ram->host[i] != before[i] && !writable[i])
            fail("the device wrote a byte that is not device-writable", ram->gpa_base + i,
                 ram->host[i]);

    for (unsigned i = 0; i < noutputs; i++)
        if (!is_readable(outputs[i].p, outputs[i].len))
            fail("the device handed the host bytes that are not device-readable",
                 (uint64_t)(outputs[i].p - ram->host), outputs[i].len);

    for (unsigned n = 0; n < nqueues && !reconfigured; n++) {
        const struct oracle_queue *q = &queues[n];
        if (q->size == 0 || !guest_mem_range_ok(ram, q->used, 6 + 8ULL * q->size))
            continue;
        const uint8_t *used = ram->host + (q->used - ram->gpa_base);
        const uint8_t *old = before + (q->used - ram->gpa_base);
        uint16_t idx = (uint16_t)(used[2] | used[3] << 8);
        if (memcmp(used, old, 4 + 8ULL * q->size) == 0)
            continue; /* the device used nothing here (avail_event may have moved) */
        /* The device counts from 0 for a fresh queue: elements 0 .. idx-1, the last `size`. */
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
