/*
 * file.c - read a whole file into memory, with a limit (introduced in chapter 7).
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;

    struct stat st;
    int ret = 0;
    uint8_t *data = NULL;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        ret = -EFBIG;
        goto out;
    }
    /* malloc(0) may return NULL: ask for at least one byte. */
    data = malloc((size_t)st.st_size + 1);
    if (!data) {
        ret = -ENOMEM;
        goto out;
    }
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, data + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto out;
        }
        if (n == 0)
            break; /* the file shrank under us: take what is there */
        done += (size_t)n;
    }
    *buf = data;
    *len = done;
    data = NULL;
out:
    free(data);
    close(fd);
    return ret;
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
