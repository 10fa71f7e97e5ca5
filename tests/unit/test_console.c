/*
 * test_console.c - the Ctrl-A escape decoder of the interactive console (common/console.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "console.h"

static enum console_action filter(struct console_escape *esc, const char *in, char *out,
                                  size_t *out_len, size_t *used)
{
    return console_escape_filter(esc, (const uint8_t *)in, strlen(in), (uint8_t *)out, out_len,
                                 used);
}

static void plain_bytes_pass_through(void **state)
{
    (void)state;
    struct console_escape esc = {0};
    char out[16];
    size_t n, used;
    assert_int_equal(filter(&esc, "ls\r\x03", out, &n, &used), CONSOLE_NONE);
    assert_int_equal(n, 4);
    assert_int_equal(used, 4);
    assert_memory_equal(out, "ls\r\x03", 4); /* Ctrl-C goes to the guest */
}

static void ctrl_a_x_quits_after_earlier_bytes(void **state)
{
    (void)state;
    struct console_escape esc = {0};
    char out[16];
    size_t n, used;
    assert_int_equal(filter(&esc, "ab\x01xcd", out, &n, &used), CONSOLE_QUIT);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "ab", 2);
    assert_int_equal(used, 4); /* "cd" is left for the caller */
}

static void escape_split_across_reads(void **state)
{
    (void)state;
    struct console_escape esc = {0};
    char out[16];
    size_t n, used;
    assert_int_equal(filter(&esc, "q\x01", out, &n, &used), CONSOLE_NONE);
    assert_int_equal(n, 1);
    assert_int_equal(filter(&esc, "h", out, &n, &used), CONSOLE_HELP);
    assert_int_equal(n, 0);
}

static void double_ctrl_a_sends_one(void **state)
{
    (void)state;
    struct console_escape esc = {0};
    char out[16];
    size_t n, used;
    assert_int_equal(filter(&esc, "\x01\x01z", out, &n, &used), CONSOLE_NONE);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\x01z", 2);
}

static void unknown_escape_sends_both(void **state)
{
    (void)state;
    struct console_escape esc = {0};
    char out[16];
    size_t n, used;
    assert_int_equal(filter(&esc, "\x01q", out, &n, &used), CONSOLE_NONE);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\x01q", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_bytes_pass_through),
        cmocka_unit_test(ctrl_a_x_quits_after_earlier_bytes),
        cmocka_unit_test(escape_split_across_reads),
        cmocka_unit_test(double_ctrl_a_sends_one),
        cmocka_unit_test(unknown_escape_sends_both),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
