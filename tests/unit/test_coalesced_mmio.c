/*
 * test_coalesced_mmio.c - applying the writes KVM coalesced (common/coalesced_mmio.c):
 * where the ring is, the order writes reach their device, the ring's wrap,
 * and writes nobody can take.
 *
 * coalesced_mmio.c includes <linux/kvm.h> (the ring's layout), so
 * tests/Makefile leaves it out of the core library: this test compiles it
 * itself. There is no KVM here: a buffer plays the vCPU's kvm_run mapping,
 * the test plays KVM by filling the ring, and kvm_check_extension() is ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kvm.h names this arm64-only struct in a prototype; declared here, it compiles anywhere. */
struct kvm_vcpu_init;
#include "../../common/coalesced_mmio.c"

static int ring_page = 1; /* what KVM_CAP_COALESCED_MMIO answers: 0 = not supported */

int kvm_check_extension(int fd, long capability)
{
    (void)fd;
    return capability == KVM_CAP_COALESCED_MMIO ? ring_page : 0;
}

/* A device that remembers its writes. */
#define DEV_BASE 0x9000000
struct recorder {
    unsigned n;
    uint64_t offset[8], value[8];
    unsigned width[8];
};

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned width)
{
    (void)opaque, (void)offset, (void)width;
    return 0;
}

static void rec_write(void *opaque, uint64_t offset, unsigned width, uint64_t value)
{
    struct recorder *r = opaque;
    assert_true(r->n < 8);
    r->offset[r->n] = offset;
    r->width[r->n] = width;
    r->value[r->n++] = value;
}

struct fixture {
    long page;
    void *run; /* two pages: kvm_run, then the ring */
    struct vcpu vcpu;
    struct mmio_bus bus;
    struct recorder dev;
    struct coalesced_mmio c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->page = sysconf(_SC_PAGESIZE);
    f->run = aligned_alloc((size_t)f->page, 2 * (size_t)f->page);
    memset(f->run, 0, 2 * (size_t)f->page);
    f->vcpu = (struct vcpu){.fd = -1, .run = f->run, .run_size = 2 * (size_t)f->page};
    struct mmio_region r = {.name = "dev",
                            .base = DEV_BASE,
                            .size = 0x1000,
                            .opaque = &f->dev,
                            .read = rec_read,
                            .write = rec_write};
    assert_int_equal(mmio_bus_add(&f->bus, &r), 0);
    ring_page = 1;
    /* Size 0: the ring, but no zone (there is no VM to register one with). */
    assert_int_equal(coalesced_mmio_init(&f->c, -1, &f->vcpu, &f->bus, DEV_BASE, 0), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    coalesced_mmio_destroy(&f->c);
    free(f->run);
    free(f);
    return 0;
}

/* What KVM does in coalesced_mmio_write(): fill the entry at `last`, then move `last`. */
static void kvm_queues(struct coalesced_mmio *c, uint64_t addr, unsigned len, uint64_t value)
{
    struct kvm_coalesced_mmio *w = &c->ring->coalesced_mmio[c->ring->last];
    w->phys_addr = addr;
    w->len = len;
    memcpy(w->data, &value, sizeof(w->data));
    c->ring->last = (c->ring->last + 1) % c->max;
}

static void ring_is_the_page_the_capability_names(void **state)
{
    struct fixture *f = *state;
    assert_ptr_equal(f->c.ring, (char *)f->run + f->page);
    /* KVM_COALESCED_MMIO_MAX for this page size: 170 entries with 4 KiB pages. */
    assert_int_equal(f->c.max, (f->page - 8) / 24);
    if (f->page == 4096)
        assert_int_equal(f->c.max, 170);
}

static void no_capability_means_no_ring(void **state)
{
    struct fixture *f = *state;
    struct coalesced_mmio c;

    /* Not coalescing (0), and no zone asked of KVM: with a ring it would fail on fd -1. */
    ring_page = 0;
    assert_int_equal(coalesced_mmio_init(&c, -1, &f->vcpu, &f->bus, DEV_BASE, 4), 0);
    assert_null(c.ring);
    coalesced_mmio_flush(&c); /* nothing to do, and no crash */
    coalesced_mmio_destroy(&c);

    /* A kvm_run mapping too small to hold the page KVM names is no ring either. */
    ring_page = 2;
    assert_int_equal(coalesced_mmio_init(&c, -1, &f->vcpu, &f->bus, DEV_BASE, 4), 0);
    assert_null(c.ring);
    coalesced_mmio_destroy(&c);
}

static void a_zone_kvm_refuses_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct coalesced_mmio c;

    /* With a ring, the zone goes to KVM_REGISTER_COALESCED_MMIO: on fd -1, EBADF. */
    assert_int_equal(coalesced_mmio_init(&c, -1, &f->vcpu, &f->bus, DEV_BASE, 4), -EBADF);
    coalesced_mmio_destroy(&c);
}

static void flush_applies_writes_in_order(void **state)
{
    struct fixture *f = *state;

    kvm_queues(&f->c, DEV_BASE, 1, 'a');
    kvm_queues(&f->c, DEV_BASE + 4, 2, 0x1234);
    kvm_queues(&f->c, DEV_BASE, 4, 'b');
    coalesced_mmio_flush(&f->c);

    assert_int_equal(f->dev.n, 3);
    assert_int_equal(f->dev.value[0], 'a');
    assert_int_equal(f->dev.width[0], 1);
    assert_int_equal(f->dev.offset[1], 4);
    assert_int_equal(f->dev.value[1], 0x1234);
    assert_int_equal(f->dev.width[1], 2);
    assert_int_equal(f->dev.value[2], 'b');
    /* Consumed: the ring is empty, and a second flush applies nothing again. */
    assert_int_equal(f->c.ring->first, f->c.ring->last);
    coalesced_mmio_flush(&f->c);
    assert_int_equal(f->dev.n, 3);
    assert_int_equal(*coalesced_mmio_counter(&f->c, &f->bus.regions[0]), 3);
}

static void flush_follows_the_ring_around(void **state)
{
    struct fixture *f = *state;

    /* As if KVM had queued and we had applied max - 2 writes before. */
    f->c.ring->first = f->c.ring->last = f->c.max - 2;
    for (unsigned i = 0; i < 4; i++)
        kvm_queues(&f->c, DEV_BASE, 1, '0' + i);
    assert_int_equal(f->c.ring->last, 2);
    coalesced_mmio_flush(&f->c);

    assert_int_equal(f->dev.n, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(f->dev.value[i], '0' + i);
    assert_int_equal(f->c.ring->first, 2);
}

static void writes_nobody_takes_are_counted_and_dropped(void **state)
{
    struct fixture *f = *state;

    kvm_queues(&f->c, 0x1000, 4, 1);     /* no device there */
    kvm_queues(&f->c, DEV_BASE, 3, 2);   /* a width no bus has */
    kvm_queues(&f->c, DEV_BASE, 200, 3); /* a length KVM never writes */
    kvm_queues(&f->c, DEV_BASE, 2, 4);
    coalesced_mmio_flush(&f->c);

    assert_int_equal(f->dev.n, 1); /* only the last one was a write the device can take */
    assert_int_equal(f->dev.value[0], 4);
    assert_int_equal(*coalesced_mmio_counter(&f->c, NULL), 1);
    assert_int_equal(*coalesced_mmio_counter(&f->c, &f->bus.regions[0]), 3);
    assert_int_equal(f->c.ring->first, f->c.ring->last);
}

static void trace_names_each_write(void **state)
{
    struct fixture *f = *state;
    char *buf = NULL;
    size_t len = 0;

    f->c.trace = open_memstream(&buf, &len);
    kvm_queues(&f->c, DEV_BASE + 8, 4, 0x2a);
    coalesced_mmio_flush(&f->c);
    fclose(f->c.trace);
    f->c.trace = NULL;
    assert_string_equal(buf, "[coalesced] MMIO dev +0x008 write 0x2a\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ring_is_the_page_the_capability_names, setup, teardown),
        cmocka_unit_test_setup_teardown(no_capability_means_no_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(a_zone_kvm_refuses_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_applies_writes_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_follows_the_ring_around, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_nobody_takes_are_counted_and_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(trace_names_each_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
