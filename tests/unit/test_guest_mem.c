/*
 * test_guest_mem.c - bounds checks on guest physical addresses (common/guest_mem.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_mem.h"

#define BASE 0x40000000ULL
#define SIZE (64ULL * 1024)

static int setup(void **state)
{
    static struct guest_mem mem;
    if (guest_mem_alloc(&mem, BASE, SIZE) != 0)
        return -1;
    *state = &mem;
    return 0;
}

static int teardown(void **state)
{
    guest_mem_free(*state);
    return 0;
}

static void alloc_rejects_bad_sizes(void **state)
{
    (void)state;
    struct guest_mem mem;
    long page = sysconf(_SC_PAGESIZE);

    assert_int_equal(guest_mem_alloc(&mem, BASE, 0), -EINVAL);
    assert_int_equal(guest_mem_alloc(&mem, BASE, (uint64_t)page + 1), -EINVAL);
    assert_int_equal(guest_mem_alloc(&mem, BASE + 1, (uint64_t)page), -EINVAL);
    /* A range that wraps past the top of the 64-bit address space. */
    assert_int_equal(guest_mem_alloc(&mem, UINT64_MAX - (uint64_t)page + 1, 2 * (uint64_t)page),
                     -EINVAL);
    assert_null(mem.host);
}

/*
 * KVM maps a 2 MiB stage-2 block only where host and guest addresses agree
 * modulo 2 MiB; mmap() alone promises 4 KiB. Several sizes and bases, so a
 * lucky placement cannot pass it.
 */
static void host_lines_up_with_guest_modulo_2mib(void **state)
{
    (void)state;
    const uint64_t bases[] = {BASE, BASE + 0x1000, BASE + 0x1ff000};
    const uint64_t sizes[] = {SIZE, 2ULL << 20, (6ULL << 20) + 0x3000};
    for (unsigned b = 0; b < 3; b++) {
        for (unsigned z = 0; z < 3; z++) {
            struct guest_mem mem;
            assert_int_equal(guest_mem_alloc(&mem, bases[b], sizes[z]), 0);
            assert_int_equal((uintptr_t)mem.host % GUEST_MEM_HUGE_ALIGN,
                             bases[b] % GUEST_MEM_HUGE_ALIGN);
            /* All of it is ours, writable, and zeroed. */
            assert_int_equal(mem.host[0], 0);
            assert_int_equal(mem.host[sizes[z] - 1], 0);
            mem.host[0] = mem.host[sizes[z] - 1] = 1;
            guest_mem_free(&mem);
        }
    }
}

static void memory_starts_zeroed(void **state)
{
    struct guest_mem *mem = *state;
    for (uint64_t i = 0; i < SIZE; i += 512)
        assert_int_equal(mem->host[i], 0);
}

static void range_checks(void **state)
{
    struct guest_mem *mem = *state;

    assert_true(guest_mem_range_ok(mem, BASE, SIZE));
    assert_true(guest_mem_range_ok(mem, BASE + SIZE - 1, 1)); /* last byte */
    assert_true(guest_mem_range_ok(mem, BASE + SIZE, 0));     /* empty, at the end */
    assert_false(guest_mem_range_ok(mem, BASE + SIZE, 1));
    assert_false(guest_mem_range_ok(mem, BASE - 1, 1));
    assert_false(guest_mem_range_ok(mem, BASE, SIZE + 1));
    assert_false(guest_mem_range_ok(mem, BASE + 8, UINT64_MAX)); /* would wrap */
    assert_false(guest_mem_range_ok(mem, UINT64_MAX, 2));
    assert_false(guest_mem_range_ok(mem, 0, 16));
}

static void ptr_translates_or_refuses(void **state)
{
    struct guest_mem *mem = *state;

    assert_ptr_equal(guest_mem_ptr(mem, BASE, 4), mem->host);
    assert_ptr_equal(guest_mem_ptr(mem, BASE + 0x100, 4), mem->host + 0x100);
    assert_null(guest_mem_ptr(mem, BASE + SIZE - 2, 4));
}

static void read_write_round_trip(void **state)
{
    struct guest_mem *mem = *state;
    const char msg[] = "hello guest";
    char back[sizeof(msg)];

    assert_int_equal(guest_mem_write(mem, BASE + SIZE - sizeof(msg), msg, sizeof(msg)), 0);
    assert_int_equal(guest_mem_read(mem, BASE + SIZE - sizeof(msg), back, sizeof(back)), 0);
    assert_memory_equal(msg, back, sizeof(msg));
    assert_int_equal(guest_mem_write(mem, BASE + SIZE - 1, msg, 2), -EFAULT);
    assert_int_equal(guest_mem_read(mem, BASE - 1, back, 1), -EFAULT);
}

static void load_file_fits_or_refuses(void **state)
{
    struct guest_mem *mem = *state;
    char path[] = "/tmp/god-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);

    uint64_t len = 0;
    assert_int_equal(guest_mem_load_file(mem, BASE + SIZE - 10, path, &len), 0);
    assert_int_equal(len, 10);
    assert_memory_equal(mem->host + SIZE - 10, "0123456789", 10);
    assert_int_equal(guest_mem_load_file(mem, BASE + SIZE - 9, path, &len), -EFBIG);
    assert_int_equal(guest_mem_load_file(mem, BASE, "/tmp", &len), -EISDIR);
    unlink(path);
    assert_int_equal(guest_mem_load_file(mem, BASE, path, &len), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_rejects_bad_sizes),
        cmocka_unit_test(host_lines_up_with_guest_modulo_2mib),
        cmocka_unit_test(memory_starts_zeroed),
        cmocka_unit_test(range_checks),
        cmocka_unit_test(ptr_translates_or_refuses),
        cmocka_unit_test(read_write_round_trip),
        cmocka_unit_test(load_file_fits_or_refuses),
    };
    return cmocka_run_group_tests_name("guest_mem", tests, setup, teardown);
}
