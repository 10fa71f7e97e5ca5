/*
 * test_console.c - the interactive console (common/console.c): the Ctrl-A
 * escape decoder, and the input thread with a device that takes no input.
 */
#define _GNU_SOURCE /* posix_openpt() and friends */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

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

static void last_console_parameter_wins(void **state)
{
    (void)state;
    size_t len;
    const char *v = console_cmdline_console("earlycon=pl011,0x9000000 console=ttyAMA0 quiet", &len);
    assert_non_null(v);
    assert_int_equal(len, 7);
    assert_memory_equal(v, "ttyAMA0", 7);
    v = console_cmdline_console("console=ttyAMA0  console=hvc0", &len);
    assert_non_null(v);
    assert_int_equal(len, 4);
    assert_memory_equal(v, "hvc0", 4);
    assert_null(console_cmdline_console("earlycon=pl011 xconsole=hvc0 quiet", &len));
    assert_null(console_cmdline_console("", &len));
    assert_null(console_cmdline_console(NULL, &len));
}

/* ---- The input thread, against a fake device whose room we control ---- */

struct fake_device {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t room; /* how many more bytes it takes */
    uint8_t got[2 * CONSOLE_BACKLOG];
    size_t got_len;
    bool quit; /* on_quit was called */
};

static size_t fake_receive(void *ctx, const uint8_t *buf, size_t len)
{
    struct fake_device *dev = ctx;
    pthread_mutex_lock(&dev->lock);
    size_t n = len < dev->room ? len : dev->room;
    memcpy(dev->got + dev->got_len, buf, n);
    dev->got_len += n;
    dev->room -= n;
    pthread_cond_broadcast(&dev->changed);
    pthread_mutex_unlock(&dev->lock);
    return n;
}

static void fake_quit(void *ctx)
{
    struct fake_device *dev = ctx;
    pthread_mutex_lock(&dev->lock);
    dev->quit = true;
    pthread_cond_broadcast(&dev->changed);
    pthread_mutex_unlock(&dev->lock);
}

/* Wait up to 5 s for the device to have quit (want_len == 0) or to hold want_len bytes. */
static bool wait_device(struct fake_device *dev, size_t want_len)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&dev->lock);
    while (!(want_len ? dev->got_len >= want_len : dev->quit))
        if (pthread_cond_timedwait(&dev->changed, &dev->lock, &deadline) == ETIMEDOUT)
            break;
    bool done = want_len ? dev->got_len >= want_len : dev->quit;
    pthread_mutex_unlock(&dev->lock);
    return done;
}

static void fake_init(struct fake_device *dev, size_t room)
{
    memset(dev, 0, sizeof(*dev));
    pthread_mutex_init(&dev->lock, NULL);
    pthread_cond_init(&dev->changed, NULL);
    dev->room = room;
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static struct console console; /* big (its backlog): not on the stack */

/* The guest never reads (still booting, panicked, no driver): Ctrl-A x still quits. */
static void escape_seen_while_the_device_takes_nothing(void **state)
{
    (void)state;
    struct fake_device dev;
    fake_init(&dev, 0);
    int in[2];
    assert_int_equal(pipe(in), 0);
    struct console_sink sink = {.receive = fake_receive, .ctx = &dev};
    assert_int_equal(console_init(&console, in[0], &sink, fake_quit, &dev), 0);
    assert_int_equal(console_start(&console), 0);

    const char typed[] = "ls -l /proc/self\r echo nobody is reading this\r \x01x";
    write_all(in[1], typed, strlen(typed));
    assert_true(wait_device(&dev, 0)); /* the escape was seen */
    assert_int_equal(dev.got_len, 0);  /* and the device never took a byte */

    console_stop(&console);
    close(in[0]);
    close(in[1]);
}

/* What waited in the backlog reaches the device, in order, once it reports room. */
static void backlog_delivered_when_the_device_has_room(void **state)
{
    (void)state;
    struct fake_device dev;
    fake_init(&dev, 0);
    int in[2];
    assert_int_equal(pipe(in), 0);
    struct console_sink sink = {.receive = fake_receive, .ctx = &dev};
    assert_int_equal(console_init(&console, in[0], &sink, fake_quit, &dev), 0);
    assert_int_equal(console_start(&console), 0);

    /* More than the backlog holds: a pipe is read no faster than the device takes it. */
    static uint8_t typed[CONSOLE_BACKLOG + 1000];
    for (size_t i = 0; i < sizeof(typed); i++)
        typed[i] = (uint8_t)('a' + i % 26);
    write_all(in[1], typed, sizeof(typed));
    usleep(100 * 1000);
    assert_int_equal(dev.got_len, 0);

    pthread_mutex_lock(&dev.lock);
    dev.room = sizeof(typed);
    pthread_mutex_unlock(&dev.lock);
    console_input_room(&console);
    assert_true(wait_device(&dev, sizeof(typed)));
    assert_memory_equal(dev.got, typed, sizeof(typed));

    console_stop(&console);
    assert_int_equal(console.dropped, 0); /* nothing scripted is lost */
    close(in[0]);
    close(in[1]);
}

/*
 * On a terminal the input is always read, so typing beyond the backlog is
 * dropped rather than blocking the escape behind it; the terminal's mode is
 * restored at the end.
 */
static void terminal_overflow_is_dropped_and_escape_still_works(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(tty >= 0);

    struct fake_device dev;
    fake_init(&dev, 0);
    struct console_sink sink = {.receive = fake_receive, .ctx = &dev};
    assert_int_equal(console_init(&console, tty, &sink, fake_quit, &dev), 0);
    struct termios t;
    assert_int_equal(tcgetattr(tty, &t), 0);
    assert_false(t.c_lflag & ICANON); /* raw */
    assert_int_equal(console_start(&console), 0);

    static uint8_t typed[CONSOLE_BACKLOG + 1000 + 2];
    memset(typed, 'k', sizeof(typed) - 2);
    memcpy(typed + sizeof(typed) - 2, "\x01x", 2);
    write_all(master, typed, sizeof(typed));
    assert_true(wait_device(&dev, 0));
    assert_int_equal(console.dropped, 1000);

    console_stop(&console);
    assert_int_equal(tcgetattr(tty, &t), 0);
    assert_true(t.c_lflag & ICANON); /* restored */
    close(tty);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_bytes_pass_through),
        cmocka_unit_test(ctrl_a_x_quits_after_earlier_bytes),
        cmocka_unit_test(escape_split_across_reads),
        cmocka_unit_test(double_ctrl_a_sends_one),
        cmocka_unit_test(unknown_escape_sends_both),
        cmocka_unit_test(last_console_parameter_wins),
        cmocka_unit_test(escape_seen_while_the_device_takes_nothing),
        cmocka_unit_test(backlog_delivered_when_the_device_has_room),
        cmocka_unit_test(terminal_overflow_is_dropped_and_escape_still_works),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
