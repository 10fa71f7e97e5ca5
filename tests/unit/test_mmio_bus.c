/*
 * test_mmio_bus.c - routing of guest MMIO accesses to devices (common/mmio_bus.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mmio_bus.h"

/* A device that remembers its last access and answers reads with a fixed value. */
struct fake_dev {
    unsigned reads, writes;
    uint64_t offset;
    unsigned width;
    uint64_t written;
    uint64_t read_value;
};

static uint64_t fake_read(void *opaque, uint64_t offset, unsigned width)
{
    struct fake_dev *dev = opaque;
    dev->reads++;
    dev->offset = offset;
    dev->width = width;
    return dev->read_value;
}

static void fake_write(void *opaque, uint64_t offset, unsigned width, uint64_t value)
{
    struct fake_dev *dev = opaque;
    dev->writes++;
    dev->offset = offset;
    dev->width = width;
    dev->written = value;
}

static const char *fake_reg_name(void *opaque, uint64_t offset)
{
    (void)opaque;
    return offset == 0x18 ? "STATUS" : NULL;
}

static struct mmio_region window(struct fake_dev *dev, uint64_t base, uint64_t size)
{
    return (struct mmio_region){
        .name = "fake",
        .base = base,
        .size = size,
        .opaque = dev,
        .read = fake_read,
        .write = fake_write,
        .reg_name = fake_reg_name,
    };
}

static void add_rejects_bad_windows(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {0};
    struct mmio_region r;

    r = window(&dev, 0x1000, 0);
    assert_int_equal(mmio_bus_add(&bus, &r), -EINVAL); /* empty */
    r = window(&dev, UINT64_MAX - 0xF, 0x20);
    assert_int_equal(mmio_bus_add(&bus, &r), -EINVAL); /* wraps past the top */
    r = window(&dev, 0x1000, 0x100);
    r.read = NULL;
    assert_int_equal(mmio_bus_add(&bus, &r), -EINVAL);
    r = window(&dev, 0x1000, 0x100);
    r.write = NULL;
    assert_int_equal(mmio_bus_add(&bus, &r), -EINVAL);
    assert_int_equal(bus.count, 0);

    /* A window may end exactly at the top of the address space. */
    r = window(&dev, UINT64_MAX - 0xF, 0x10);
    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    /* reg_name is optional. */
    r = window(&dev, 0x1000, 0x100);
    r.reg_name = NULL;
    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    assert_int_equal(bus.count, 2);
}

static void add_rejects_overlaps(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {0};
    struct mmio_region r = window(&dev, 0x1000, 0x100); /* [0x1000, 0x10ff] */
    assert_int_equal(mmio_bus_add(&bus, &r), 0);

    const uint64_t bad[][2] = {
        {0x1000, 0x100}, /* the same window */
        {0x0f00, 0x101}, /* its last byte is our first */
        {0x10ff, 0x100}, /* its first byte is our last */
        {0x1040, 0x10},  /* inside */
        {0x0800, 0x1000} /* around */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = window(&dev, bad[i][0], bad[i][1]);
        assert_int_equal(mmio_bus_add(&bus, &r), -EINVAL);
    }

    /* Neighbours that touch without overlapping are fine. */
    r = window(&dev, 0x0f00, 0x100);
    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    r = window(&dev, 0x1100, 0x100);
    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    assert_int_equal(bus.count, 3);
}

static void add_reports_full_bus(void **state)
{
    (void)state;
    static struct mmio_bus bus;
    struct fake_dev dev = {0};
    struct mmio_region r;

    memset(&bus, 0, sizeof(bus));
    for (unsigned i = 0; i < MMIO_BUS_MAX_REGIONS; i++) {
        r = window(&dev, 0x10000 + 0x1000ULL * i, 0x1000);
        assert_int_equal(mmio_bus_add(&bus, &r), 0);
    }
    r = window(&dev, 0x900000, 0x1000);
    assert_int_equal(mmio_bus_add(&bus, &r), -ENOSPC);
}

static void dispatch_by_address(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev a = {.read_value = 0xA}, b = {.read_value = 0xB};
    struct mmio_region ra = window(&a, 0x09000000, 0x1000);
    struct mmio_region rb = window(&b, 0x0A000000, 0x200);
    uint8_t data[8] = {0};

    assert_int_equal(mmio_bus_add(&bus, &ra), 0);
    assert_int_equal(mmio_bus_add(&bus, &rb), 0);

    assert_ptr_equal(mmio_bus_find(&bus, 0x09000000)->opaque, &a);
    assert_ptr_equal(mmio_bus_find(&bus, 0x09000FFF)->opaque, &a); /* last byte */
    assert_ptr_equal(mmio_bus_find(&bus, 0x0A0001FF)->opaque, &b);
    assert_null(mmio_bus_find(&bus, 0x09001000));
    assert_null(mmio_bus_find(&bus, 0x0A000200));

    /* The device sees offsets relative to its base. */
    assert_int_equal(mmio_bus_access(&bus, 0x09000018, data, 4, false), 0);
    assert_int_equal(a.reads, 1);
    assert_int_equal(a.offset, 0x18);
    assert_int_equal(a.width, 4);
    assert_int_equal(data[0], 0xA);

    assert_int_equal(mmio_bus_access(&bus, 0x0A000070, data, 2, true), 0);
    assert_int_equal(b.writes, 1);
    assert_int_equal(b.offset, 0x70);
    assert_int_equal(b.width, 2);
    assert_int_equal(a.writes, 0);
}

static void unmapped_address_is_enoent(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.read_value = 0xFF};
    struct mmio_region r = window(&dev, 0x09000000, 0x1000);
    uint8_t data[8];

    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    memset(data, 0xAA, sizeof(data));
    assert_int_equal(mmio_bus_access(&bus, 0x08FFFFFC, data, 4, false), -ENOENT);
    for (int i = 0; i < 4; i++)
        assert_int_equal(data[i], 0); /* the guest reads zeroes, not stale bytes */
    assert_int_equal(mmio_bus_access(&bus, 0x09001000, data, 4, true), -ENOENT);
    assert_int_equal(dev.reads + dev.writes, 0);
}

static void bad_width_is_einval(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.read_value = 0xFF};
    struct mmio_region r = window(&dev, 0x09000000, 0x1000);
    uint8_t data[8];

    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    const unsigned widths[] = {0, 3, 5, 16};
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        assert_int_equal(mmio_bus_access(&bus, 0x09000000, data, widths[i], true), -EINVAL);
        memset(data, 0xAA, sizeof(data));
        assert_int_equal(mmio_bus_access(&bus, 0x09000000, data, widths[i], false), -EINVAL);
    }
    assert_int_equal(data[0], 0); /* the 16-byte read cleared all 8 bytes of KVM's buffer */
    assert_int_equal(data[7], 0);
    assert_int_equal(dev.reads + dev.writes, 0);

    const unsigned good[] = {1, 2, 4, 8};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(mmio_bus_access(&bus, 0x09000000, data, good[i], false), 0);
    assert_int_equal(dev.reads, 4);
}

static void straddling_access_is_einval(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.read_value = 0xFF}, next = {0};
    struct mmio_region r = window(&dev, 0x09000000, 0x1000);
    struct mmio_region rn = window(&next, 0x09001000, 0x1000);
    uint8_t data[8];

    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    assert_int_equal(mmio_bus_add(&bus, &rn), 0);
    memset(data, 0xAA, sizeof(data));
    assert_int_equal(mmio_bus_access(&bus, 0x09000FFE, data, 4, false), -EINVAL);
    assert_int_equal(data[0] | data[1] | data[2] | data[3], 0);
    assert_int_equal(mmio_bus_access(&bus, 0x09000FF9, data, 8, true), -EINVAL);
    assert_int_equal(dev.reads + dev.writes + next.reads + next.writes, 0);

    /* Right up to the last byte is fine. */
    assert_int_equal(mmio_bus_access(&bus, 0x09000FFC, data, 4, false), 0);
    assert_int_equal(mmio_bus_access(&bus, 0x09000FF8, data, 8, true), 0);
    assert_int_equal(dev.offset, 0xFF8);
}

static void data_is_little_endian(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.read_value = 0x1122334455667788ULL};
    struct mmio_region r = window(&dev, 0x09000000, 0x1000);
    assert_int_equal(mmio_bus_add(&bus, &r), 0);

    uint8_t in[8] = {0x78, 0x56, 0x34, 0x12, 0xEE, 0xEE, 0xEE, 0xEE};
    assert_int_equal(mmio_bus_access(&bus, 0x09000000, in, 4, true), 0);
    assert_int_equal(dev.written, 0x12345678); /* the 0xEE bytes are not part of it */

    uint8_t in8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(mmio_bus_access(&bus, 0x09000000, in8, 8, true), 0);
    assert_int_equal(dev.written, 0x0807060504030201ULL);

    uint8_t out[8];
    memset(out, 0xAA, sizeof(out));
    assert_int_equal(mmio_bus_access(&bus, 0x09000000, out, 2, false), 0);
    const uint8_t want2[8] = {0x88, 0x77, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA};
    assert_memory_equal(out, want2, 8); /* only `len` bytes are written */

    assert_int_equal(mmio_bus_access(&bus, 0x09000000, out, 8, false), 0);
    const uint8_t want8[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    assert_memory_equal(out, want8, 8);

    assert_int_equal(mmio_bus_get_le(want8, 3), 0x667788);
    mmio_bus_put_le(out, 4, 0xDEADBEEF);
    assert_int_equal(out[0], 0xEF);
    assert_int_equal(out[3], 0xDE);
}

static void format_and_describe(void **state)
{
    (void)state;
    char buf[64];

    mmio_bus_format_access(buf, sizeof(buf), "UARTFR", 0x18, false, 0x90, false);
    assert_string_equal(buf, "UARTFR read 0x90");
    mmio_bus_format_access(buf, sizeof(buf), "UARTDR", 0, true, 'H', true);
    assert_string_equal(buf, "UARTDR write 'H'");
    mmio_bus_format_access(buf, sizeof(buf), "UARTDR", 0, true, '\n', true);
    assert_string_equal(buf, "UARTDR write 0x0a");
    mmio_bus_format_access(buf, sizeof(buf), "UARTDR", 0, true, '\'', true);
    assert_string_equal(buf, "UARTDR write 0x27");
    mmio_bus_format_access(buf, sizeof(buf), NULL, 0x4c, false, 0, false);
    assert_string_equal(buf, "+0x04c read 0x0");

    /* Truncated, but always terminated. */
    mmio_bus_format_access(buf, 7, "UARTFR", 0x18, false, 0x90, false);
    assert_string_equal(buf, "UARTFR");

    struct mmio_bus bus = {0};
    struct fake_dev dev = {0};
    struct mmio_region r = window(&dev, 0x09000000, 0x1000);
    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    const uint8_t data[8] = {0x90};

    mmio_bus_describe(&bus, 0x09000018, data, 4, false, buf, sizeof(buf));
    assert_string_equal(buf, "fake STATUS read 0x90");
    mmio_bus_describe(&bus, 0x09000020, data, 4, true, buf, sizeof(buf));
    assert_string_equal(buf, "fake +0x020 write 0x90");
    mmio_bus_describe(&bus, 0x1000, data, 1, false, buf, sizeof(buf));
    assert_string_equal(buf, "unmapped 0x00001000 read 0x90");
}

static void device_describe(uint64_t offset, bool is_write, uint64_t value, char *buf, size_t len)
{
    snprintf(buf, len, "custom %#llx %s %llu", (unsigned long long)offset, is_write ? "w" : "r",
             (unsigned long long)value);
}

/* A device's own describe callback wins over the generic rendering. */
static void region_describe_hook(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct fake_dev dev = {0};
    struct mmio_region r = window(&dev, 0x0a000000, 0x200);
    r.describe = device_describe;
    char buf[96];
    const uint8_t data[4] = {7};

    assert_int_equal(mmio_bus_add(&bus, &r), 0);
    mmio_bus_describe(&bus, 0x0a000010, data, 4, true, buf, sizeof(buf));
    assert_string_equal(buf, "fake custom 0x10 w 7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_rejects_bad_windows),     cmocka_unit_test(add_rejects_overlaps),
        cmocka_unit_test(add_reports_full_bus),        cmocka_unit_test(dispatch_by_address),
        cmocka_unit_test(unmapped_address_is_enoent),  cmocka_unit_test(bad_width_is_einval),
        cmocka_unit_test(straddling_access_is_einval), cmocka_unit_test(data_is_little_endian),
        cmocka_unit_test(format_and_describe),         cmocka_unit_test(region_describe_hook),
    };
    return cmocka_run_group_tests_name("mmio_bus", tests, NULL, NULL);
}
