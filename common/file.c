/*
 * file.c - reading files whole and in place (introduced in chapter 2).
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int file_check_regular(mode_t mode)
{
    if (S_ISREG(mode))
        return 0;
    return S_ISDIR(mode) ? -EISDIR : -ENODEV;
}

const char *file_strerror(int err)
{
    switch (err) {
    case -EISDIR:
        return "is a directory, not a file";
    case -ENODEV:
        return "not a regular file (a device, FIFO or socket)";
    default:
        return strerror(-err);
    }
}

int file_open_nonblocking(const char *path, int flags, struct stat *st)
{
    /*
     * O_NONBLOCK makes open() itself return at once for a FIFO without a
     * writer (or a reader) and for devices that would wait for a carrier;
     * regular files and block devices ignore it, but we clear it anyway so
     * nothing later depends on it.
     */
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, st) < 0 || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int file_open_regular(const char *path, uint64_t *size)
{
    struct stat st;
    int fd = file_open_nonblocking(path, O_RDONLY, &st);
    if (fd < 0)
        return fd;
    int err = file_check_regular(st.st_mode);
    if (err < 0) {
        close(fd);
        return err;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

int64_t file_read_at(int fd, void *buf, uint64_t len, uint64_t offset)
{
    uint64_t done = 0;
    while (done < len) {
        /* pread() may return less than asked for, or be interrupted: keep going. */
        ssize_t n = pread(fd, (uint8_t *)buf + done, (size_t)(len - done), (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break; /* end of file: the file is shorter than it was (or than asked) */
        done += (uint64_t)n;
    }
    return (int64_t)done;
}

int file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    uint64_t size;
    int fd = file_open_regular(path, &size);
    if (fd < 0)
        return fd;
    if (size > max) {
        close(fd);
        return -EFBIG;
    }
    /* malloc(0) may return NULL: ask for at least one byte. */
    uint8_t *data = malloc((size_t)size + 1);
    int64_t got = data ? file_read_at(fd, data, size, 0) : -ENOMEM;
    close(fd);
    if (got < 0) {
        free(data);
        return (int)got;
    }
    *buf = data;
    *len = (size_t)got;
    return 0;
}

int file_size(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    int err = file_check_regular(st.st_mode);
    if (err < 0)
        return err;
    *size = (uint64_t)st.st_size;
    return 0;
}
