/*
 * guest_mem.h - guest RAM as the VMM sees it (introduced in chapter 2).
 *
 * Guest RAM is ordinary anonymous host memory that KVM maps into the guest's
 * physical address space. The VMM reaches it through `host`; the guest sees
 * it at `gpa_base`. Every address the guest hands us (a virtqueue, a kernel
 * load address, a buffer) is a guest physical address and must go through
 * guest_mem_ptr(), which refuses anything not entirely inside RAM.
 *
 * No <linux/kvm.h> here: registering the memory with KVM is kvm.c's job, so
 * this file builds and is unit-tested on any host.
 */
#ifndef GOD_GUEST_MEM_H
#define GOD_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem {
    uint64_t gpa_base; /* guest physical address of the first byte */
    uint64_t size;     /* bytes; a multiple of the host page size */
    uint8_t *host;     /* where the first byte lives in our address space */
};

/* Host and guest addresses of guest RAM agree modulo this (see guest_mem_alloc()). */
#define GUEST_MEM_HUGE_ALIGN (2u << 20)

/*
 * Reserve `size` bytes of zeroed memory for a guest that will see them at
 * `gpa_base`. Returns 0, -EINVAL for a size that is zero or not a multiple of
 * the page size (or a base that is not page aligned, or a range that wraps),
 * -ENOMEM when the host refuses the mapping. `host` is congruent to
 * `gpa_base` modulo GUEST_MEM_HUGE_ALIGN, and transparent huge pages are
 * asked for, so that KVM can map the guest's RAM in 2 MiB blocks.
 */
int guest_mem_alloc(struct guest_mem *mem, uint64_t gpa_base, uint64_t size);
void guest_mem_free(struct guest_mem *mem);

/*
 * The host's RAM in bytes (sysinfo), 0 if unknown. A guest larger than this
 * could only run into the OOM killer: refuse it up front with a message.
 */
uint64_t guest_mem_host_ram(void);

/*
 * True when [gpa, gpa + len) lies entirely inside guest RAM. Overflow-safe:
 * a huge len that would wrap around the address space is rejected. A range
 * that ends exactly at the last byte of RAM is inside; len 0 is inside when
 * gpa is (or is one past the end of RAM).
 */
bool guest_mem_range_ok(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Host pointer to [gpa, gpa + len), or NULL when the range is not all RAM. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy in and out of guest RAM. Return 0 or -EFAULT (range not in RAM). */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);

/*
 * Copy the whole file at `path` into guest RAM at `gpa`, storing its size in
 * *len. Returns 0, -errno from open/read (-ENOENT: no such file), -EISDIR or
 * -ENODEV for something that is not a regular file (file_strerror() says
 * which), -EFBIG when the file does not fit between gpa and the end of RAM.
 */
int guest_mem_load_file(const struct guest_mem *mem, uint64_t gpa, const char *path, uint64_t *len);

#endif
