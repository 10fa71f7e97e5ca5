/*
 * test_file.c - reading files whole and in place (common/file.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

static char path[64];

static int make_file(void **state)
{
    (void)state;
    strcpy(path, "/tmp/god-file-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, "0123456789", 10) != 10)
        return -1;
    close(fd);
    return 0;
}

static int remove_file(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void open_regular_only(void **state)
{
    (void)state;
    uint64_t size = 0;
    int fd = file_open_regular(path, &size);
    assert_true(fd >= 0);
    assert_int_equal(size, 10);
    close(fd);
    assert_int_equal(file_open_regular("/tmp", &size), -EISDIR);
    assert_int_equal(file_open_regular("/dev/null", &size), -ENODEV);
    assert_int_equal(file_open_regular("/nonexistent/file", &size), -ENOENT);
    assert_string_not_equal(file_strerror(-ENODEV), strerror(ENODEV));
}

/* Issue 8 item 4: a FIFO nobody writes to is refused at once, not waited on in open(). */
static void fifo_refused_without_blocking(void **state)
{
    (void)state;
    char fifo[64];
    snprintf(fifo, sizeof(fifo), "/tmp/god-fifo-%d", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    uint64_t size;
    alarm(5); /* a hang is a failure: SIGALRM ends the test program */
    int fd = file_open_regular(fifo, &size);
    alarm(0);
    unlink(fifo);
    assert_int_equal(fd, -ENODEV);
}

static void read_at_stops_at_end_of_file(void **state)
{
    (void)state;
    uint64_t size;
    char buf[32] = {0};
    int fd = file_open_regular(path, &size);
    assert_true(fd >= 0);
    assert_int_equal(file_read_at(fd, buf, 4, 3), 4);
    assert_memory_equal(buf, "3456", 4);
    assert_int_equal(file_read_at(fd, buf, sizeof(buf), 6), 4); /* only 4 bytes left */
    assert_int_equal(file_read_at(fd, buf, 8, 100), 0);
    close(fd);
    assert_int_equal(file_read_at(-1, buf, 1, 0), -EBADF);
}

static void read_all_respects_the_limit(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(path, 9, &buf, &len), -EFBIG);
    assert_null(buf);
    assert_int_equal(file_read_all(path, 10, &buf, &len), 0);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "0123456789", 10);
    free(buf);

    uint64_t size;
    assert_int_equal(file_size(path, &size), 0);
    assert_int_equal(size, 10);
    assert_int_equal(file_size("/tmp", &size), -EISDIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_regular_only),
        cmocka_unit_test(fifo_refused_without_blocking),
        cmocka_unit_test(read_at_stops_at_end_of_file),
        cmocka_unit_test(read_all_respects_the_limit),
    };
    return cmocka_run_group_tests_name("file", tests, make_file, remove_file);
}
