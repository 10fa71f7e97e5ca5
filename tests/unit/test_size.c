/*
 * test_size.c - command-line size parsing (common/size.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "size.h"

static void parses_plain_and_suffixed(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(size_parse("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(size_parse("256M", &v), 0);
    assert_int_equal(v, 256ULL << 20);
    assert_int_equal(size_parse("1g", &v), 0);
    assert_int_equal(v, 1ULL << 30);
    assert_int_equal(size_parse("2GiB", &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(size_parse("64KB", &v), 0);
    assert_int_equal(v, 64ULL << 10);
    assert_int_equal(size_parse("0", &v), 0);
    assert_int_equal(v, 0);
}

static void rejects_junk(void **state)
{
    (void)state;
    uint64_t v = 42;
    assert_int_equal(size_parse("", &v), -EINVAL);
    assert_int_equal(size_parse("-1", &v), -EINVAL);
    assert_int_equal(size_parse(" 5", &v), -EINVAL);
    assert_int_equal(size_parse("M", &v), -EINVAL);
    assert_int_equal(size_parse("12Q", &v), -EINVAL);
    assert_int_equal(size_parse("12MM", &v), -EINVAL);
    assert_int_equal(size_parse("12iB", &v), -EINVAL);
    assert_int_equal(size_parse(NULL, &v), -EINVAL);
    assert_int_equal(v, 42); /* untouched on failure */
}

static void rejects_overflow(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(size_parse("99999999999999999999", &v), -ERANGE);
    assert_int_equal(size_parse("16777216T", &v), -ERANGE); /* 2^24 TiB = 2^64 */
    assert_int_equal(size_parse("16777215T", &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_plain_and_suffixed),
        cmocka_unit_test(rejects_junk),
        cmocka_unit_test(rejects_overflow),
    };
    return cmocka_run_group_tests_name("size", tests, NULL, NULL);
}
