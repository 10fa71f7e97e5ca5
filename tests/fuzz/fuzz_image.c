/*
 * fuzz_image.c - libFuzzer target: the arm64 Image header, gzip, and the boot
 * layout of kernel, initrd and DTB (introduced in chapter 7).
 *
 * The input is a kernel file (maybe gzip'd, maybe with absurd header
 * fields) plus a RAM size and initrd and DTB sizes in its first 16 bytes.
 * Besides the sanitizers: whatever is accepted lies inside RAM, in order
 * (kernel, initrd, DTB), without overlap, aligned as booting.rst says, and
 * the kernel bytes in RAM are the file's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arm64_image.h"
#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "bytes.h"

#define RAM_MAX (8u << 20)

static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_muted(true);
    if (guest_mem_alloc(&mem, RAM_BASE, RAM_MAX) != 0)
        abort();
    return 0;
}

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16)
        return 0;
    /* A RAM of 2..8 MiB in 2 MiB steps (the smallest that can hold a DTB region and more). */
    struct guest_mem ram = mem;
    ram.size = (2u << 20) * (1 + data[0] % 4);
    uint64_t initrd = le64_at(data) >> 8, dtb = le64_at(data + 8) % (3u << 20);

    struct arm64_image_info info;
    struct arm64_boot_layout l;
    if (arm64_image_load(&ram, data + 16, size - 16, &info, &l) != 0)
        return 0;
    uint64_t end = ram.gpa_base + ram.size;
    check(l.kernel_base % ARM64_KERNEL_ALIGN == 0 && l.kernel_base >= ram.gpa_base);
    check(l.kernel_start == l.kernel_base + info.text_offset);
    check(l.kernel_end >= l.kernel_start + info.file_size && l.kernel_end <= l.dtb_floor);
    check(l.dtb_floor <= end);
    if (!arm64_image_is_gzip(data + 16, size - 16))
        check(memcmp(ram.host + (l.kernel_start - ram.gpa_base), data + 16, info.file_size) == 0);

    if (initrd && arm64_layout_initrd(&l, initrd) == 0) {
        check(l.initrd_start % ARM64_INITRD_ALIGN == 0);
        check(l.initrd_start >= l.kernel_end && l.initrd_end <= l.dtb_floor);
        check(l.initrd_end - l.initrd_start == initrd);
    }
    if (dtb && arm64_layout_dtb(&l, dtb) == 0) {
        check(l.dtb_start % ARM64_DTB_ALIGN == 0 && l.dtb_start >= l.dtb_floor);
        check(l.dtb_end == l.dtb_start + dtb && l.dtb_end <= end && dtb <= ARM64_DTB_MAX_SIZE);
    }
    return 0;
}
