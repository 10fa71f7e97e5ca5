/*
 * file.c - reading files whole and in place (introduced in chapter 2).
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int file_open_regular(const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int err = fstat(fd, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
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
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    *size = (uint64_t)st.st_size;
    return 0;
}
