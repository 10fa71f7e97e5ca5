/*
 * test_virtqueue.c - the split virtqueue walker against a hostile driver (common/virtqueue.c)
 * (introduced in chapter 8).
 *
 * The test plays the driver: it writes descriptors and ring entries into a
 * small fake guest RAM, exactly as a guest kernel would, and checks what the
 * device side makes of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"
#include "log.h"
#include "virtqueue.h"

#define BASE     0x40000000ULL
#define RAM_SIZE (64ULL * 1024)
#define QSIZE    8

/* Where the test driver puts things in guest RAM. */
#define DESC_GPA     (BASE + 0x0000)
#define AVAIL_GPA    (BASE + 0x1000)
#define USED_GPA     (BASE + 0x2000)
#define INDIRECT_GPA (BASE + 0x3000)
#define DATA_GPA     (BASE + 0x4000)

#define ALL_RING_FEATURES                                                                          \
    ((1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

struct fixture {
    struct guest_mem mem;
    struct virtq q;
    struct virtq_chain chain;
    uint16_t avail_idx; /* the driver's copy */
};

static void *host(struct fixture *f, uint64_t gpa)
{
    return f->mem.host + (gpa - BASE);
}

static void set_desc(struct fixture *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    struct vring_desc *d = (struct vring_desc *)host(f, table) + i;
    d->addr = htole64(addr);
    d->len = htole32(len);
    d->flags = htole16(flags);
    d->next = htole16(next);
}

/* Make chain `head` available, as the driver does: ring entry first, then idx. */
static void make_available(struct fixture *f, uint16_t head)
{
    struct vring_avail *avail = host(f, AVAIL_GPA);
    avail->ring[f->avail_idx % f->q.size] = htole16(head);
    f->avail_idx++;
    avail->idx = htole16(f->avail_idx);
}

static struct vring_used *used_ring(struct fixture *f)
{
    return host(f, USED_GPA);
}

static void point_queue(struct virtq *q, uint32_t size)
{
    virtq_reset(q);
    q->size = size;
    q->desc_gpa = DESC_GPA;
    q->avail_gpa = AVAIL_GPA;
    q->used_gpa = USED_GPA;
}

static int setup_features(void **state, uint64_t features)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    if (guest_mem_alloc(&f.mem, BASE, RAM_SIZE) != 0)
        return -1;
    point_queue(&f.q, QSIZE);
    if (virtq_enable(&f.q, &f.mem, VIRTQ_MAX_SIZE, features) != 0)
        return -1;
    log_set_muted(true);
    *state = &f;
    return 0;
}

static int setup(void **state)
{
    return setup_features(state, ALL_RING_FEATURES);
}

static int setup_plain(void **state)
{
    return setup_features(state, 0);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    guest_mem_free(&f->mem);
    return 0;
}

/* ---- enabling ------------------------------------------------------------ */

static void enable_rejects_bad_sizes(void **state)
{
    struct fixture *f = *state;
    struct virtq q;
    const uint32_t bad[] = {0, 3, 6, 100, 512, 65536, 0x80000000u};

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        point_queue(&q, bad[i]);
        assert_int_equal(virtq_enable(&q, &f->mem, 65536, 0), -EINVAL);
        assert_false(q.ready);
    }
    /* A power of two, but above what the device offers. */
    point_queue(&q, 64);
    assert_int_equal(virtq_enable(&q, &f->mem, 32, 0), -EINVAL);
    point_queue(&q, 1);
    assert_int_equal(virtq_enable(&q, &f->mem, 32, 0), 0);
}

static void enable_checks_alignment_and_ram(void **state)
{
    struct fixture *f = *state;
    struct virtq q;

    point_queue(&q, QSIZE);
    q.desc_gpa = DESC_GPA + 8;
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), -EINVAL);
    point_queue(&q, QSIZE);
    q.avail_gpa = AVAIL_GPA + 1;
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), -EINVAL);
    point_queue(&q, QSIZE);
    q.used_gpa = USED_GPA + 2;
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), -EINVAL);

    point_queue(&q, QSIZE);
    q.desc_gpa = BASE - 0x1000;
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), -EFAULT);
    point_queue(&q, QSIZE);
    q.desc_gpa = 0xfffffffffffffff0ULL; /* base + length wraps around */
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), -EFAULT);

    /* An avail ring (6 + 2 * 8 = 22 bytes) ending on RAM's last byte, then one past it. */
    point_queue(&q, QSIZE);
    q.avail_gpa = BASE + RAM_SIZE - 20;
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), -EFAULT);
    point_queue(&q, QSIZE);
    q.avail_gpa = BASE + RAM_SIZE - 22;
    assert_int_equal(virtq_enable(&q, &f->mem, QSIZE, 0), 0);
}

/* ---- popping good chains ------------------------------------------------- */

static void pop_empty_queue(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_pop(&f->q, &f->chain), -EAGAIN);
}

static void pop_header_data_status_chain(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 5, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
    set_desc(f, DESC_GPA, 2, DATA_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
    set_desc(f, DESC_GPA, 7, DATA_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
    make_available(f, 5);

    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.head, 5);
    assert_int_equal(f->chain.count, 3);
    assert_int_equal(f->chain.num_read, 1);
    assert_int_equal(f->chain.read_len, 16);
    assert_int_equal(f->chain.write_len, 513);
    assert_int_equal(f->chain.segs[1].gpa, DATA_GPA + 0x100);
    assert_true(f->chain.segs[1].is_write);
    assert_false(f->chain.segs[0].is_write);

    /* Consumed: nothing more until the driver adds something. */
    assert_int_equal(virtq_pop(&f->q, &f->chain), -EAGAIN);
}

static void push_fills_used_ring(void **state)
{
    struct fixture *f = *state;
    struct vring_used *used = used_ring(f);

    virtq_push(&f->q, 5, 513);
    assert_int_equal(le16toh(used->idx), 1);
    assert_int_equal(le32toh(used->ring[0].id), 5);
    assert_int_equal(le32toh(used->ring[0].len), 513);

    /* The guest scribbling on used->idx does not fool us: we keep our own count. */
    used->idx = htole16(1234);
    virtq_push(&f->q, 3, 0);
    assert_int_equal(le16toh(used->idx), 2);
    assert_int_equal(le32toh(used->ring[1].id), 3);
}

static void buffer_ending_at_last_byte_of_ram(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, BASE + RAM_SIZE - 512, 512, VRING_DESC_F_WRITE, 0);
    make_available(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.segs[0].len, 512);

    /* One byte further is outside. */
    set_desc(f, DESC_GPA, 0, BASE + RAM_SIZE - 511, 512, VRING_DESC_F_WRITE, 0);
    make_available(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), -EFAULT);
}

static void avail_index_wraps_around(void **state)
{
    struct fixture *f = *state;

    /* Both sides near the end of the 16-bit index space. */
    f->q.last_avail_idx = 0xffff;
    f->avail_idx = 0xffff;
    set_desc(f, DESC_GPA, 1, DATA_GPA, 8, 0, 0);
    set_desc(f, DESC_GPA, 2, DATA_GPA, 8, 0, 0);
    make_available(f, 1); /* slot 7, idx becomes 0 */
    make_available(f, 2); /* slot 0, idx becomes 1 */
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.head, 1);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.head, 2);
    assert_int_equal(virtq_pop(&f->q, &f->chain), -EAGAIN);
}

/* ---- malformed chains ---------------------------------------------------- */

static void expect_pop_error(struct fixture *f, int err)
{
    unsigned warnings = log_warning_count();
    uint16_t last = f->q.last_avail_idx;

    assert_int_equal(virtq_pop(&f->q, &f->chain), err);
    assert_int_equal(f->q.last_avail_idx, last); /* nothing consumed */
    assert_true(log_warning_count() > warnings);
}

static void chain_leaving_ram(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, BASE + RAM_SIZE, 16, 0, 0);
    make_available(f, 0);
    expect_pop_error(f, -EFAULT);
}

static void chain_below_ram(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, 0x1000, 16, 0, 0);
    make_available(f, 0);
    expect_pop_error(f, -EFAULT);
}

static void descriptor_wrapping_address_space(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, UINT64_MAX - 8, 0x100, 0, 0);
    make_available(f, 0);
    expect_pop_error(f, -EFAULT);
}

static void zero_length_descriptor(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 0, VRING_DESC_F_WRITE, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void chain_with_loop(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void self_loop(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 3, DATA_GPA, 16, VRING_DESC_F_NEXT, 3);
    make_available(f, 3);
    expect_pop_error(f, -EINVAL);
}

static void chain_as_long_as_queue_is_fine(void **state)
{
    struct fixture *f = *state;

    for (unsigned i = 0; i < QSIZE; i++)
        set_desc(f, DESC_GPA, i, DATA_GPA + 16 * i, 16, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    make_available(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.count, QSIZE);
}

static void next_index_out_of_range(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, QSIZE);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void head_index_out_of_range(void **state)
{
    struct fixture *f = *state;

    make_available(f, QSIZE);
    expect_pop_error(f, -EINVAL);
}

static void readable_after_writable(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 16, 0, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void avail_idx_too_far_ahead(void **state)
{
    struct vring_avail *avail;
    struct fixture *f = *state;

    for (unsigned i = 0; i < QSIZE; i++)
        set_desc(f, DESC_GPA, i, DATA_GPA, 16, 0, 0);
    avail = host(f, AVAIL_GPA);
    avail->idx = htole16(QSIZE + 1);
    expect_pop_error(f, -EINVAL);

    /* A full ring (exactly QSIZE ahead) is legal. */
    avail->idx = htole16(QSIZE);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

/* ---- indirect descriptors (section 2.7.5.3) ------------------------------ */

static void indirect_table(void **state)
{
    struct fixture *f = *state;

    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, DATA_GPA + 0x100, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    set_desc(f, INDIRECT_GPA, 2, DATA_GPA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
    /* The WRITE flag on the descriptor pointing at the table is meaningless: ignored. */
    set_desc(f, DESC_GPA, 4, INDIRECT_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
    make_available(f, 4);

    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.head, 4);
    assert_int_equal(f->chain.count, 3);
    assert_int_equal(f->chain.num_read, 1);
    assert_int_equal(f->chain.write_len, 4097);
}

static void indirect_after_direct(void **state)
{
    struct fixture *f = *state;

    set_desc(f, INDIRECT_GPA, 0, DATA_GPA + 0x100, 8, VRING_DESC_F_WRITE, 0);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->chain.count, 2);
}

static void indirect_bad_length(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 24, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 0, VRING_DESC_F_INDIRECT, 0);
    expect_pop_error(f, -EINVAL);
}

static void indirect_table_outside_ram(void **state)
{
    struct fixture *f = *state;

    set_desc(f, DESC_GPA, 0, BASE + RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EFAULT);
}

static void indirect_nested(void **state)
{
    struct fixture *f = *state;

    set_desc(f, INDIRECT_GPA, 0, INDIRECT_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void indirect_with_next(void **state)
{
    struct fixture *f = *state;

    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 16, 0, 0);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 16, 0, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void indirect_longer_than_queue(void **state)
{
    struct fixture *f = *state;

    /* 9 descriptors chained in a 9-entry table, for a queue of 8. */
    for (unsigned i = 0; i <= QSIZE; i++)
        set_desc(f, INDIRECT_GPA, i, DATA_GPA, 16, i < QSIZE ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, (QSIZE + 1) * 16, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void indirect_loop(void **state)
{
    struct fixture *f = *state;

    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void indirect_next_outside_table(void **state)
{
    struct fixture *f = *state;

    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
    set_desc(f, INDIRECT_GPA, 2, DATA_GPA, 16, 0, 0);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 32, VRING_DESC_F_INDIRECT, 0); /* 2 entries */
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

static void indirect_not_negotiated(void **state)
{
    struct fixture *f = *state; /* setup_plain: no ring features */

    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 16, 0, 0);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    make_available(f, 0);
    expect_pop_error(f, -EINVAL);
}

/* ---- notification suppression (sections 2.7.7 and 2.7.10) --------------- */

static void notify_without_event_idx(void **state)
{
    struct fixture *f = *state; /* setup_plain */
    struct vring_avail *avail = host(f, AVAIL_GPA);

    assert_false(virtq_should_notify(&f->q)); /* nothing pushed */
    virtq_push(&f->q, 0, 0);
    assert_true(virtq_should_notify(&f->q));
    assert_false(virtq_should_notify(&f->q)); /* already told */

    avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
    virtq_push(&f->q, 1, 0);
    assert_false(virtq_should_notify(&f->q));
    avail->flags = 0;
    virtq_push(&f->q, 2, 0);
    assert_true(virtq_should_notify(&f->q));
}

static void notify_with_event_idx(void **state)
{
    struct fixture *f = *state;
    struct vring_avail *avail = host(f, AVAIL_GPA);
    uint16_t *used_event = &avail->ring[QSIZE];

    /* NO_INTERRUPT means nothing once EVENT_IDX is negotiated. */
    avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
    *used_event = htole16(0);
    virtq_push(&f->q, 0, 0); /* used idx 0 -> 1 crosses used_event 0 */
    assert_true(virtq_should_notify(&f->q));

    virtq_push(&f->q, 1, 0); /* 1 -> 3: used_event 0 already passed */
    virtq_push(&f->q, 2, 0);
    assert_false(virtq_should_notify(&f->q));

    *used_event = htole16(4); /* "interrupt me when entry 4 is used" */
    virtq_push(&f->q, 3, 0);  /* 3 -> 4: not yet */
    assert_false(virtq_should_notify(&f->q));
    virtq_push(&f->q, 4, 0); /* 4 -> 5: now */
    assert_true(virtq_should_notify(&f->q));
}

static void going_idle_publishes_avail_event(void **state)
{
    struct fixture *f = *state;
    uint16_t *avail_event = (uint16_t *)&used_ring(f)->ring[QSIZE];

    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, 0, 0);
    make_available(f, 0);
    make_available(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), -EAGAIN);
    /* "Kick me when avail->idx moves past 2." */
    assert_int_equal(le16toh(*avail_event), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(enable_rejects_bad_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(enable_checks_alignment_and_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(pop_empty_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(pop_header_data_status_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(push_fills_used_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(buffer_ending_at_last_byte_of_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(avail_index_wraps_around, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_leaving_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_below_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(descriptor_wrapping_address_space, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_length_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_with_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(self_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_as_long_as_queue_is_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(next_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(head_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(readable_after_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(avail_idx_too_far_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_table, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_after_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_bad_length, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_table_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_with_next, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_longer_than_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_next_outside_table, setup, teardown),
        cmocka_unit_test_setup_teardown(indirect_not_negotiated, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(notify_without_event_idx, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(notify_with_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(going_idle_publishes_avail_event, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
