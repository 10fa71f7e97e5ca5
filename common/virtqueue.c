/*
 * virtqueue.c - the device side of a split virtqueue (introduced in chapter 8).
 *
 * Everything in the rings is little-endian (virtio 1.x, section 2.7), hence
 * the le16toh()/htole32() around every access: on an arm64 or x86 host they
 * compile to nothing, on a big-endian host they swap.
 *
 * Memory ordering. The driver runs on other CPUs and shares the rings with us
 * with no lock, so the order in which each side's stores become visible
 * matters. The spec states it from the driver's side (sections 2.7.13 and
 * 2.7.14); the matching device-side rules are:
 *
 *   - read avail->idx with acquire ordering, so the ring entries and
 *     descriptors the driver wrote *before* bumping idx are visible to the
 *     reads that follow (pairs with the driver's write barrier);
 *   - write used->idx with release ordering, so the used element we filled
 *     in is visible *before* the driver can see the new idx;
 *   - a full fence between "I published something" and "now I read the
 *     other side's suppression hint": store->load ordering is the one thing
 *     acquire/release do not give, and without it both sides could decide
 *     the other needs no notification and the ring would stall.
 */
#include "virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"

/* Sizes of the three parts, section 2.7: each ring ends with an event-index field. */
static uint64_t desc_table_bytes(uint32_t size)
{
    return 16ULL * size;
}

static uint64_t avail_ring_bytes(uint32_t size)
{
    return 6 + 2ULL * size; /* flags, idx, ring[size], used_event */
}

static uint64_t used_ring_bytes(uint32_t size)
{
    return 6 + 8ULL * size; /* flags, idx, ring[size], avail_event */
}

/* The event-index fields sit just past the end of each ring (section 2.7.6, 2.7.8). */
static uint16_t *used_event_field(struct virtq *q)
{
    return &q->avail->ring[q->size];
}

static uint16_t *avail_event_field(struct virtq *q)
{
    return (uint16_t *)&q->used->ring[q->size];
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
}

int virtq_enable(struct virtq *q, const struct guest_mem *mem, uint32_t max_size, uint64_t features)
{
    uint32_t size = q->size;

    /* Section 2.7: "Queue Size value is always a power of 2". */
    if (size == 0 || (size & (size - 1)) != 0 || size > max_size || size > VIRTQ_MAX_SIZE)
        return -EINVAL;

    /*
     * Alignment from the table in section 2.7: 16, 2 and 4 bytes. Guest RAM
     * is page aligned on both sides, so the host pointers inherit it and the
     * atomic 16-bit accesses to the ring indexes below are naturally aligned.
     */
    if (q->desc_gpa % 16 != 0 || q->avail_gpa % 2 != 0 || q->used_gpa % 4 != 0)
        return -EINVAL;

    struct vring_desc *desc = guest_mem_ptr(mem, q->desc_gpa, desc_table_bytes(size));
    struct vring_avail *avail = guest_mem_ptr(mem, q->avail_gpa, avail_ring_bytes(size));
    struct vring_used *used = guest_mem_ptr(mem, q->used_gpa, used_ring_bytes(size));
    if (!desc || !avail || !used)
        return -EFAULT;

    q->mem = mem;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
    q->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    q->last_avail_idx = 0;
    q->used_idx = 0;
    q->signalled_used = 0;
    q->ready = true;
    return 0;
}

/*
 * Append one buffer to the host copy of a chain, checking it as we go.
 * Section 2.7.4.2: writable buffers come after all readable ones.
 */
static int chain_add(struct virtq *q, struct virtq_chain *chain, uint64_t gpa, uint32_t len,
                     bool is_write)
{
    if (chain->count >= q->size)
        return -EINVAL; /* longer than the queue: a loop, or a broken driver */
    if (len == 0)
        return -EINVAL;
    if (!guest_mem_range_ok(q->mem, gpa, len))
        return -EFAULT; /* also catches gpa + len wrapping around */
    if (!is_write && chain->num_read != chain->count)
        return -EINVAL; /* readable after writable */
    /*
     * Section 2.7.5.2 caps a chain at 2^32 bytes. One byte less keeps any
     * "bytes written" count a device reports representable in used.len.
     */
    if (chain->read_len + chain->write_len + len > UINT32_MAX)
        return -EINVAL;

    chain->segs[chain->count++] = (struct virtq_seg){.gpa = gpa, .len = len, .is_write = is_write};
    if (is_write) {
        chain->write_len += len;
    } else {
        chain->num_read++;
        chain->read_len += len;
    }
    return 0;
}

/*
 * Follow the chain that starts at descriptor `head`. The main table has
 * q->size entries; an indirect descriptor (section 2.7.5.3) switches us to a
 * table of its own, which we then walk instead. The walk ends at the first
 * descriptor without VIRTQ_DESC_F_NEXT. Every descriptor is copied to the
 * stack once and only the copy is used, so a guest rewriting the table under
 * our feet cannot make us use a value we did not check.
 *
 * Loops need no separate detection: each step adds a segment, chain_add()
 * refuses more than q->size of them, so a loop ends in -EINVAL.
 */
static int chain_walk(struct virtq *q, uint16_t head, struct virtq_chain *chain)
{
    const struct vring_desc *table = q->desc;
    uint32_t table_len = q->size;
    bool in_indirect = false;
    uint32_t i = head;

    chain->head = head;
    chain->count = 0;
    chain->num_read = 0;
    chain->read_len = 0;
    chain->write_len = 0;

    for (;;) {
        if (i >= table_len)
            return -EINVAL;

        struct vring_desc d;
        memcpy(&d, &table[i], sizeof(d));
        uint64_t addr = le64toh(d.addr);
        uint32_t len = le32toh(d.len);
        uint16_t flags = le16toh(d.flags);

        if (flags & VRING_DESC_F_INDIRECT) {
            /*
             * Section 2.7.5.3.1: only if negotiated, never inside an indirect
             * table, never combined with NEXT; the table is whole descriptors.
             * The WRITE flag of this descriptor means nothing and is ignored.
             */
            if (!q->indirect || in_indirect || (flags & VRING_DESC_F_NEXT))
                return -EINVAL;
            if (len == 0 || len % sizeof(struct vring_desc) != 0)
                return -EINVAL;
            table = guest_mem_ptr(q->mem, addr, len);
            if (!table)
                return -EFAULT;
            table_len = len / sizeof(struct vring_desc);
            in_indirect = true;
            i = 0;
            continue;
        }

        int err = chain_add(q, chain, addr, len, flags & VRING_DESC_F_WRITE);
        if (err)
            return err;
        if (!(flags & VRING_DESC_F_NEXT))
            return 0;
        i = le16toh(d.next);
    }
}

/* The driver's avail->idx. Acquire: see "Memory ordering" at the top. */
static uint16_t avail_idx_load(struct virtq *q)
{
    return le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
}

/*
 * With EVENT_IDX the driver only kicks us when avail->idx passes avail_event
 * (section 2.7.10). We are about to go idle, so ask to be kicked for the very
 * next buffer, then look once more: a buffer added between our last look and
 * the store would otherwise wait forever for a kick that was never sent.
 * The seq_cst fence orders our avail_event store before the idx load; the
 * driver does the mirror image (store idx, full barrier, load avail_event).
 */
static bool still_empty_after_arming(struct virtq *q)
{
    if (!q->event_idx)
        return true;
    __atomic_store_n(avail_event_field(q), htole16(q->last_avail_idx), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return avail_idx_load(q) == q->last_avail_idx;
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
    static unsigned warned_ahead, warned_chain;

    if (!q->ready)
        return -EAGAIN;

    uint16_t avail = avail_idx_load(q);
    if (avail == q->last_avail_idx) {
        if (still_empty_after_arming(q))
            return -EAGAIN;
        avail = avail_idx_load(q);
    }

    /*
     * Indexes are free-running 16-bit counters, so the subtraction wraps
     * correctly. More than a full ring ahead is impossible for a correct
     * driver (section 2.7.6): it would mean it reused entries we never saw.
     */
    uint16_t pending = (uint16_t)(avail - q->last_avail_idx);
    if (pending > q->size) {
        log_warn_limited(&warned_ahead, "virtqueue: avail.idx %u is %u ahead of %u (size %u)",
                         avail, pending, q->last_avail_idx, q->size);
        return -EINVAL;
    }

    /* size is a power of two, so masking picks the ring slot (section 2.7.6). */
    uint16_t slot = q->last_avail_idx & (q->size - 1);
    uint16_t head = le16toh(__atomic_load_n(&q->avail->ring[slot], __ATOMIC_RELAXED));

    int err = chain_walk(q, head, chain);
    if (err) {
        log_warn_limited(&warned_chain, "virtqueue: malformed chain at head %u (%s)", head,
                         err == -EFAULT ? "buffer outside guest RAM" : "invalid descriptor");
        return err;
    }
    q->last_avail_idx++;
    return 0;
}

void virtq_unpop(struct virtq *q)
{
    q->last_avail_idx--;
}

bool virtq_has_available(struct virtq *q)
{
    return q->ready && avail_idx_load(q) != q->last_avail_idx;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
    struct vring_used_elem *elem = &q->used->ring[q->used_idx & (q->size - 1)];
    elem->id = htole32(head);
    elem->len = htole32(len);

    /* Release: the element above must be visible before the new idx (section 2.7.8). */
    q->used_idx++;
    __atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
    uint16_t old = q->signalled_used;
    uint16_t new = q->used_idx;

    if (old == new)
        return false;
    q->signalled_used = new;

    /*
     * Full fence: our used->idx store must be ordered before we read the
     * driver's hint, or we could read a stale "no interrupt" the driver set
     * before it saw our used->idx, and both sides would wait (section 2.7.7).
     */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    if (q->event_idx) {
        /* Interrupt only if used_event lies in [old, new): the driver asked for it. */
        uint16_t event = le16toh(__atomic_load_n(used_event_field(q), __ATOMIC_RELAXED));
        return vring_need_event(event, new, old);
    }
    uint16_t flags = le16toh(__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED));
    return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}
