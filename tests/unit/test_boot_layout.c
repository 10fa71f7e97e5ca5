/*
 * test_boot_layout.c - where the kernel, initrd and DTB go in guest RAM
 * (common/arm64_image.c: arm64_layout_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "arm64_image.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE (256 * MiB)

static struct arm64_image_info kernel(uint64_t text_offset, uint64_t image_size)
{
    return (struct arm64_image_info){
        .text_offset = text_offset, .image_size = image_size, .file_size = image_size / 2};
}

/* No two of kernel, initrd and DTB overlap, and all are inside RAM. */
static void assert_sane(const struct arm64_boot_layout *l)
{
    uint64_t ram_end = l->ram_base + l->ram_size;
    assert_true(l->kernel_base >= l->ram_base);
    assert_int_equal(l->kernel_base % ARM64_KERNEL_ALIGN, 0);
    assert_true(l->kernel_start >= l->kernel_base);
    assert_true(l->kernel_end <= l->dtb_floor);
    if (l->initrd_end) {
        assert_int_equal(l->initrd_start % ARM64_INITRD_ALIGN, 0);
        assert_true(l->initrd_start >= l->kernel_end);
        assert_true(l->initrd_end <= l->dtb_floor);
    }
    if (l->dtb_end) {
        assert_int_equal(l->dtb_start % ARM64_DTB_ALIGN, 0);
        assert_true(l->dtb_start >= l->dtb_floor);
        assert_true(l->dtb_end <= ram_end);
        /* The DTB shares no 2 MiB block with the kernel. */
        assert_true(l->dtb_start / ARM64_KERNEL_ALIGN > (l->kernel_end - 1) / ARM64_KERNEL_ALIGN);
    }
}

static void default_machine(void **state)
{
    (void)state;
    struct arm64_image_info k = kernel(0, 30 * MiB);
    struct arm64_boot_layout l;

    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), 0);
    assert_int_equal(l.kernel_base, RAM_BASE);
    assert_int_equal(l.kernel_start, RAM_BASE);
    assert_int_equal(l.kernel_end, RAM_BASE + 30 * MiB);
    assert_int_equal(l.dtb_floor, RAM_BASE + RAM_SIZE - 2 * MiB);
    assert_int_equal(l.initrd_end, 0);
    assert_int_equal(l.dtb_end, 0);

    assert_int_equal(arm64_layout_initrd(&l, 1000001), 0);
    assert_int_equal(l.initrd_end - l.initrd_start, 1000001);
    assert_true(l.dtb_floor - l.initrd_end < ARM64_INITRD_ALIGN); /* as high as possible */

    assert_int_equal(arm64_layout_dtb(&l, 2049), 0);
    assert_int_equal(l.dtb_end - l.dtb_start, 2049);
    assert_true(RAM_BASE + RAM_SIZE - l.dtb_end < ARM64_DTB_ALIGN); /* at the top */
    assert_sane(&l);
}

static void text_offset_and_unaligned_ram(void **state)
{
    (void)state;
    struct arm64_image_info k = kernel(0x80000, 20 * MiB);
    struct arm64_boot_layout l;

    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), 0);
    assert_int_equal(l.kernel_start, RAM_BASE + 0x80000);
    assert_int_equal(l.kernel_end, RAM_BASE + 0x80000 + 20 * MiB);

    /* RAM starting 1 MiB past a 2 MiB boundary: the base moves up to the next one. */
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE + MiB, RAM_SIZE, &k), 0);
    assert_int_equal(l.kernel_base, RAM_BASE + 2 * MiB);
    assert_int_equal(l.kernel_start, RAM_BASE + 2 * MiB + 0x80000);
    /* RAM ending 1 MiB past a 2 MiB boundary: the DTB floor is a 2 MiB boundary. */
    assert_int_equal(l.dtb_floor % ARM64_KERNEL_ALIGN, 0);
    assert_int_equal(l.dtb_floor, RAM_BASE + RAM_SIZE - 2 * MiB);
    assert_int_equal(arm64_layout_dtb(&l, ARM64_DTB_MAX_SIZE), 0);
    assert_sane(&l);
}

static void kernel_must_fit(void **state)
{
    (void)state;
    struct arm64_boot_layout l;
    /* Exactly up to the DTB's region is fine, one byte more is not. */
    struct arm64_image_info k = kernel(0, RAM_SIZE - 2 * MiB);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), 0);
    assert_sane(&l);
    k.image_size++;
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), -E2BIG);
    assert_int_equal(l.ram_size, 0); /* a failed step 1 leaves no half layout */
    k = kernel(0, RAM_SIZE * 2);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), -E2BIG);
    /* RAM too small to hold even the DTB's 2 MiB. */
    k = kernel(0, 4096);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, MiB, &k), -E2BIG);
    /* A 2 MiB RAM is all DTB region. */
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, 2 * MiB, &k), -E2BIG);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, 4 * MiB, &k), 0);
}

static void kernel_overflow(void **state)
{
    (void)state;
    struct arm64_boot_layout l;
    struct arm64_image_info k = kernel(0x80000, UINT64_MAX - 0x1000);

    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), -E2BIG);
    k = kernel(0, UINT64_MAX);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), -E2BIG);
    /* RAM at the very top of the address space: the 2 MiB round-up wraps. */
    k = kernel(0, MiB);
    assert_int_equal(arm64_layout_kernel(&l, UINT64_MAX - 8 * MiB + 2, 4 * MiB, &k), -E2BIG);
    /* RAM that wraps, or is empty. */
    assert_int_equal(arm64_layout_kernel(&l, UINT64_MAX - MiB, 4 * MiB, &k), -EINVAL);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, 0, &k), -EINVAL);
}

static void initrd_rejections(void **state)
{
    (void)state;
    struct arm64_boot_layout l;
    memset(&l, 0, sizeof(l));
    /* Step 1 first. */
    assert_int_equal(arm64_layout_initrd(&l, 4096), -EINVAL);
    assert_int_equal(arm64_layout_dtb(&l, 4096), -EINVAL);

    struct arm64_image_info k = kernel(0, 100 * MiB);
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), 0);
    assert_int_equal(arm64_layout_initrd(&l, 0), -EINVAL);
    /* Room between the kernel and the DTB region: 256 - 100 - 2 MiB. */
    uint64_t room = RAM_SIZE - 100 * MiB - 2 * MiB;
    assert_int_equal(arm64_layout_initrd(&l, room), 0);
    assert_int_equal(l.initrd_start, l.kernel_end);
    assert_sane(&l);
    assert_int_equal(arm64_layout_initrd(&l, room + 1), -E2BIG);
    assert_int_equal(arm64_layout_initrd(&l, UINT64_MAX), -E2BIG);
    assert_int_equal(arm64_layout_initrd(&l, l.dtb_floor), -E2BIG);
    /* The failed attempts left the good placement alone. */
    assert_int_equal(l.initrd_start, l.kernel_end);
}

static void initrd_within_32g_window(void **state)
{
    (void)state;
    struct arm64_boot_layout l;
    struct arm64_image_info k = kernel(0, 40 * MiB);

    /* 64 GiB of RAM from 1 GiB: the window is [1 GiB, 33 GiB). */
    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, 64 * GiB, &k), 0);
    assert_int_equal(arm64_layout_initrd(&l, 10 * MiB), 0);
    assert_true(l.initrd_end <= RAM_BASE + 32 * GiB);
    assert_true(l.initrd_end > RAM_BASE + 32 * GiB - 4096 - 10 * MiB);
    /* The DTB still goes to the top of RAM: booting.rst puts no window on it. */
    assert_int_equal(arm64_layout_dtb(&l, 4096), 0);
    assert_int_equal(l.dtb_end, RAM_BASE + 64 * GiB);
    assert_sane(&l);
    /* An initrd larger than the window can never fit. */
    assert_int_equal(arm64_layout_initrd(&l, 32 * GiB), -E2BIG);
}

static void dtb_rules(void **state)
{
    (void)state;
    struct arm64_boot_layout l;
    struct arm64_image_info k = kernel(0, 10 * MiB);

    assert_int_equal(arm64_layout_kernel(&l, RAM_BASE, RAM_SIZE, &k), 0);
    assert_int_equal(arm64_layout_dtb(&l, 0), -EINVAL);
    assert_int_equal(arm64_layout_dtb(&l, ARM64_DTB_MAX_SIZE + 1), -E2BIG);
    assert_int_equal(arm64_layout_dtb(&l, UINT64_MAX), -E2BIG);
    assert_int_equal(arm64_layout_dtb(&l, ARM64_DTB_MAX_SIZE), 0);
    assert_int_equal(l.dtb_start, l.dtb_floor);
    for (uint64_t size = 1; size < 64; size++) {
        assert_int_equal(arm64_layout_dtb(&l, size), 0);
        assert_sane(&l);
    }
    /* Initrd after the DTB works too: both keep to their sides of dtb_floor. */
    assert_int_equal(arm64_layout_initrd(&l, 5 * MiB), 0);
    assert_sane(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_machine),   cmocka_unit_test(text_offset_and_unaligned_ram),
        cmocka_unit_test(kernel_must_fit),   cmocka_unit_test(kernel_overflow),
        cmocka_unit_test(initrd_rejections), cmocka_unit_test(initrd_within_32g_window),
        cmocka_unit_test(dtb_rules),
    };
    return cmocka_run_group_tests_name("boot_layout", tests, NULL, NULL);
}
