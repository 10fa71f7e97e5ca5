/*
 * guest_mem.c - guest RAM allocation and bounds-checked access (introduced in chapter 2).
 */
#include "guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int guest_mem_alloc(struct guest_mem *mem, uint64_t gpa_base, uint64_t size)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

    memset(mem, 0, sizeof(*mem));
    if (size == 0 || size % page != 0 || gpa_base % page != 0)
        return -EINVAL;
    if (gpa_base + size < gpa_base) /* the range would wrap around */
        return -EINVAL;
    if (size > SIZE_MAX)
        return -ENOMEM;

    /*
     * MAP_NORESERVE: a 4 GiB guest that touches 100 MiB costs 100 MiB. The
     * kernel hands out zeroed pages on first touch, just like real RAM that
     * firmware cleared.
     */
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;

    mem->gpa_base = gpa_base;
    mem->size = size;
    mem->host = p;
    return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
    if (mem->host)
        munmap(mem->host, (size_t)mem->size);
    memset(mem, 0, sizeof(*mem));
}

bool guest_mem_range_ok(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    /* Written as subtractions so that no sum can overflow. */
    if (gpa < mem->gpa_base)
        return false;
    uint64_t offset = gpa - mem->gpa_base;
    if (offset > mem->size)
        return false;
    return len <= mem->size - offset;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    if (!mem->host || !guest_mem_range_ok(mem, gpa, len))
        return NULL;
    return mem->host + (gpa - mem->gpa_base);
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
    const void *src = guest_mem_ptr(mem, gpa, len);
    if (!src)
        return -EFAULT;
    memcpy(dst, src, (size_t)len);
    return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
    void *dst = guest_mem_ptr(mem, gpa, len);
    if (!dst)
        return -EFAULT;
    memcpy(dst, src, (size_t)len);
    return 0;
}

int guest_mem_load_file(const struct guest_mem *mem, uint64_t gpa, const char *path, uint64_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;

    struct stat st;
    int ret = 0;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto out;
    }
    uint8_t *dst = guest_mem_ptr(mem, gpa, (uint64_t)st.st_size);
    if (!dst) {
        ret = -EFBIG;
        goto out;
    }
    /* read() may return less than asked for; keep going until EOF. */
    uint64_t done = 0;
    while (done < (uint64_t)st.st_size) {
        ssize_t n = read(fd, dst + done, (size_t)((uint64_t)st.st_size - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto out;
        }
        if (n == 0)
            break; /* the file shrank while we read it: load what is there */
        done += (uint64_t)n;
    }
    *len = done;
out:
    close(fd);
    return ret;
}
