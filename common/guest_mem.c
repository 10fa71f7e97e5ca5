/*
 * guest_mem.c - guest RAM allocation and bounds-checked access (introduced in chapter 2).
 */
#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "file.h"

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
     *
     * Placed so that host address and guest address are equal modulo 2 MiB:
     * KVM maps guest RAM with one 2 MiB stage-2 block (one fault instead of
     * 512) only where the host backs it with a transparent huge page *and*
     * the two addresses line up within the block (arch/arm64/kvm/mmu.c,
     * fault_supports_stage2_huge_mapping()). mmap() guarantees 4 KiB
     * alignment only, so we map 2 MiB more, keep the part that lines up and
     * give the rest back.
     */
    size_t len = (size_t)size + GUEST_MEM_HUGE_ALIGN;
    if (len < size)
        return -ENOMEM;
    uint8_t *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    uintptr_t want = (uintptr_t)(gpa_base % GUEST_MEM_HUGE_ALIGN);
    uintptr_t have = (uintptr_t)p % GUEST_MEM_HUGE_ALIGN;
    size_t head = (want - have) % GUEST_MEM_HUGE_ALIGN; /* page multiples, both */
    if (head)
        munmap(p, head);
    if (GUEST_MEM_HUGE_ALIGN - head)
        munmap(p + head + size, GUEST_MEM_HUGE_ALIGN - head);
    p += head;
    /*
     * And ask for huge pages: the host's policy may be "madvise" (only
     * regions that ask get them). No error if it cannot: a host without
     * transparent huge pages still runs the guest, with 4 KiB pages.
     */
    (void)madvise(p, (size_t)size, MADV_HUGEPAGE);

    mem->gpa_base = gpa_base;
    mem->size = size;
    mem->host = p;
    return 0;
}

uint64_t guest_mem_host_ram(void)
{
    struct sysinfo si;
    return sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
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
    uint64_t size;
    int fd = file_open_regular(path, &size);
    if (fd < 0)
        return fd;
    /* Check the whole file fits before writing a byte of it. */
    uint8_t *dst = guest_mem_ptr(mem, gpa, size);
    int64_t got = dst ? file_read_at(fd, dst, size, 0) : -EFBIG;
    close(fd);
    if (got < 0)
        return (int)got;
    *len = (uint64_t)got; /* less than size if the file shrank while we read it */
    return 0;
}
