/*
 * test_disk_image.c - naming, opening and locking disk images (common/disk_image.c)
 * (introduced in chapter 8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_image.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/god-disk-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* dir/name, `size` bytes long. Returns the path (static: use before the next call). */
static const char *make_file(const char *name, off_t size)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
    return path;
}

static void parse(const char *arg, const char *want_path, bool want_ro)
{
    struct disk_spec spec;
    const char *err = disk_spec_parse(arg, &spec);
    if (err)
        fail_msg("%s: %s", arg, err);
    assert_string_equal(spec.path, want_path);
    assert_int_equal(spec.read_only, want_ro);
    disk_spec_free(&spec);
}

static void parse_refused(const char *arg)
{
    struct disk_spec spec;
    assert_non_null(disk_spec_parse(arg, &spec));
    assert_null(spec.path);
}

static void spec_syntax(void **state)
{
    (void)state;
    parse("disk.img", "disk.img", false);
    parse("disk.img,ro", "disk.img", true);
    /* A comma in the file name is doubled, as in QEMU's -drive file=. */
    parse("x,,ro", "x,ro", false);
    parse("x,,ro,ro", "x,ro", true);
    parse("a,,,,b", "a,,b", false);
    parse("/dev/vdb,ro,ro", "/dev/vdb", true);
    parse("x,,,ro", "x,", true);
    /* Any other comma belongs to the name: only a trailing run of ",ro" is options. */
    parse("a,b.img", "a,b.img", false);
    parse("a,b.img,ro", "a,b.img", true);
    parse("x,rw", "x,rw", false);
    parse("x,ro,", "x,ro,", false);
    parse("x,ro,b", "x,ro,b", false);
    parse(",", ",", false);
    /* No file name. */
    parse_refused("");
    parse_refused(",ro");
    parse_refused(",ro,ro");
}

static void open_checks_the_file(void **state)
{
    (void)state;
    struct disk_image img;
    static const off_t too_small[] = {0, 100, 511};

    for (unsigned i = 0; i < 3; i++) {
        const char *path = make_file("small.img", too_small[i]);
        assert_int_equal(disk_image_open(&img, path, false), -ENOSPC);
        assert_int_equal(img.fd, -1);
        assert_int_equal(disk_image_open(&img, path, true), -ENOSPC);
    }
    const char *path = make_file("one.img", 512);
    assert_int_equal(disk_image_open(&img, path, false), 0);
    assert_int_equal(img.size, 512);
    assert_false(img.is_block_device);
    disk_image_close(&img);
    disk_image_close(&img); /* twice is fine */

    assert_int_equal(disk_image_open(&img, dir, true), -EISDIR);
    assert_int_equal(disk_image_open(&img, "/dev/zero", true), -ENODEV);
    assert_int_equal(disk_image_open(&img, "/dev/null", false), -ENODEV);
    assert_int_equal(disk_image_open(&img, "/nonexistent/disk.img", true), -ENOENT);

    /* A FIFO nobody writes to: refused at once, read-only or not. */
    char fifo[128];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(5); /* a hang fails the test */
    assert_int_equal(disk_image_open(&img, fifo, true), -ENODEV);
    assert_int_equal(disk_image_open(&img, fifo, false), -ENODEV);
    alarm(0);

    /* Every error has a sentence of its own. */
    const int errs[] = {-ENOSPC, -EAGAIN, -EISDIR, -ENODEV};
    for (unsigned i = 0; i < 4; i++)
        assert_string_not_equal(disk_image_strerror(errs[i]), strerror(-errs[i]));
}

/* OFD locks conflict between open file descriptions, even in one process: a stand-in for two gods.
 */
static void locks_exclusive_and_shared(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s", make_file("lock.img", 4096));
    struct disk_image a, b, c;

    assert_int_equal(disk_image_open(&a, path, false), 0);
    assert_int_equal(disk_image_lock(&a), 0);
    /* A second writer, or a reader, while someone writes: refused. */
    assert_int_equal(disk_image_open(&b, path, false), 0);
    assert_int_equal(disk_image_lock(&b), -EAGAIN);
    disk_image_close(&b);
    assert_int_equal(disk_image_open(&b, path, true), 0);
    assert_int_equal(disk_image_lock(&b), -EAGAIN);
    disk_image_close(&b);
    /* The writer leaves: readers may share. */
    disk_image_close(&a);
    assert_int_equal(disk_image_open(&b, path, true), 0);
    assert_int_equal(disk_image_lock(&b), 0);
    assert_int_equal(disk_image_open(&c, path, true), 0);
    assert_int_equal(disk_image_lock(&c), 0);
    /* ... and no writer may join them. */
    assert_int_equal(disk_image_open(&a, path, false), 0);
    assert_int_equal(disk_image_lock(&a), -EAGAIN);
    assert_true(disk_image_same_file(&a, &b));
    disk_image_close(&a);
    disk_image_close(&b);
    disk_image_close(&c);

    const char *other = make_file("other.img", 4096);
    assert_int_equal(disk_image_open(&a, other, true), 0);
    assert_int_equal(disk_image_open(&b, path, true), 0);
    assert_false(disk_image_same_file(&a, &b));
    disk_image_close(&a);
    disk_image_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_syntax),
        cmocka_unit_test(open_checks_the_file),
        cmocka_unit_test(locks_exclusive_and_shared),
    };
    return cmocka_run_group_tests_name("disk_image", tests, make_dir, remove_dir);
}
