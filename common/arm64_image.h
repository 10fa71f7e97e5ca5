/*
 * arm64_image.h - load an arm64 Linux `Image` and lay out the boot payload in
 * guest RAM (introduced in chapter 7).
 *
 * An arm64 kernel is not an ELF file but a flat binary, arch/arm64/boot/Image,
 * that starts with a 64-byte header. Documentation/arch/arm64/booting.rst
 * (Documentation/arm64/booting.rst before Linux 6.5) is the contract between a
 * boot loader and the kernel, and we are the boot loader:
 *
 *   - the Image goes text_offset bytes above a 2 MiB aligned base in RAM, and
 *     image_size bytes from there on belong to the kernel (its BSS, its
 *     initial page tables: more than the file itself);
 *   - the device tree blob (DTB) goes anywhere in RAM on an 8-byte boundary,
 *     is at most 2 MiB, and x0 holds its address when the kernel starts;
 *   - the initrd goes anywhere in RAM as long as it and the kernel fit in one
 *     1 GiB aligned window of at most 32 GiB.
 *
 * The resulting map of guest RAM (the defaults put RAM at 0x40000000):
 *
 *   ram_base (2 MiB aligned) = kernel_base
 *     + text_offset          kernel_start: Image copied here, entry point
 *     + image_size           kernel_end: the kernel's memory ends here
 *       ... free: the kernel's own allocations grow here ...
 *   initrd_start (page aligned)
 *   initrd_end               <= dtb_floor
 *   dtb_floor                the top 2 MiB aligned region(s), kept for the DTB
 *   dtb_start (8 aligned)    the DTB ends at the very top of RAM
 *   ram_base + ram_size
 *
 * Everything here is plain arithmetic on guest physical addresses, checked
 * for overflow, so it is unit-tested on any host. Functions return 0 or a
 * negative errno; arm64_image_strerror() turns one into a sentence.
 */
#ifndef GOD_ARM64_IMAGE_H
#define GOD_ARM64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define ARM64_IMAGE_HEADER_SIZE 64
#define ARM64_IMAGE_MAGIC       0x644d5241U /* "ARM\x64", little endian, at offset 56 */

/* booting.rst: the Image is placed text_offset bytes above a 2 MiB aligned base. */
#define ARM64_KERNEL_ALIGN        (2ULL << 20)
/* booting.rst: text_offset of kernels older than 3.17, whose image_size is 0. */
#define ARM64_LEGACY_TEXT_OFFSET  0x80000ULL
/* booting.rst: the DTB is 8-byte aligned and must not exceed 2 MiB. */
#define ARM64_DTB_ALIGN           8ULL
#define ARM64_DTB_MAX_SIZE        (2ULL << 20)
/* booting.rst: kernel and initrd must share a 1 GiB aligned window of <= 32 GiB. */
#define ARM64_INITRD_WINDOW_ALIGN (1ULL << 30)
#define ARM64_INITRD_WINDOW_SIZE  (32ULL << 30)
/* Not required by booting.rst, but the kernel frees the initrd page by page. */
#define ARM64_INITRD_ALIGN        4096ULL

/* The header flags field (booting.rst, "flags"). */
#define ARM64_FLAG_BE              (1ULL << 0) /* kernel is big endian */
#define ARM64_FLAG_PAGE_SIZE_SHIFT 1           /* bits 1-2: 0 unknown, 1 4K, 2 16K, 3 64K */
#define ARM64_FLAG_PAGE_SIZE_MASK  (3ULL << ARM64_FLAG_PAGE_SIZE_SHIFT)
#define ARM64_FLAG_PHYS_ANYWHERE   (1ULL << 3) /* base need not be near the start of RAM */

/* What the header says, decoded and validated by arm64_image_parse(). */
struct arm64_image_info {
    uint64_t text_offset; /* load address = 2 MiB aligned base + text_offset */
    uint64_t image_size;  /* bytes from the load address the kernel owns (>= file) */
    uint64_t flags;       /* the raw flags field */
    uint64_t file_size;   /* bytes of the Image file to copy */
    unsigned page_size;   /* 4096, 16384 or 65536; 0 when the header does not say */
    bool legacy;          /* image_size was 0 (pre-3.17): text_offset and size assumed */
};

/*
 * Decode and check the header of an (uncompressed) Image in buf[0, len).
 * Pure: no memory is touched but *out. Errors:
 *   -ENOEXEC  not an arm64 Image: shorter than the header, no "ARM\x64"
 *             magic, a big-endian kernel (bit 0 of flags), or gzip data
 *             (arm64_image_load() decompresses it)
 *   -E2BIG    absurd sizes: image_size smaller than the file, text_offset
 *             not below 2 MiB
 * For a legacy header (image_size 0) booting.rst says text_offset is 0x80000;
 * nothing bounds the kernel's memory then, so image_size is taken to be the
 * file size, and the layout below keeps the rest of RAM free after it, as
 * booting.rst asks for that case.
 */
int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image_info *out);

/*
 * True when buf starts like a gzip file (1f 8b): arch/arm64/boot/Image.gz,
 * which some distributions install as vmlinuz. (Debian 12's arm64 vmlinuz is
 * a plain Image with an EFI header in code0/code1: it parses as it is. An
 * EFI "zboot" kernel, "MZ" then "zimg", is neither and gets -ENOEXEC.)
 */
bool arm64_image_is_gzip(const uint8_t *buf, size_t len);

/* Where everything goes in guest RAM: filled in step by step, see below. */
struct arm64_boot_layout {
    uint64_t ram_base, ram_size; /* guest RAM: [ram_base, ram_base + ram_size) */
    uint64_t kernel_base;        /* the 2 MiB aligned base */
    uint64_t kernel_start;       /* kernel_base + text_offset: Image and entry point */
    uint64_t kernel_end;         /* kernel_start + image_size */
    uint64_t dtb_floor;          /* lowest address the DTB may take; initrd ends below */
    uint64_t initrd_start;       /* [initrd_start, initrd_end): 0, 0 when none */
    uint64_t initrd_end;
    uint64_t dtb_start; /* [dtb_start, dtb_end): x0 = dtb_start */
    uint64_t dtb_end;
};

/*
 * Step 1: place a kernel described by `info` in RAM [ram_base, +ram_size).
 * Fills kernel_* and dtb_floor and clears the rest. The base is the first
 * 2 MiB boundary in RAM: as low as possible, as booting.rst recommends
 * (older kernels cannot use memory below themselves). Errors: -EINVAL (empty
 * or wrapping RAM), -E2BIG (the kernel plus the DTB's 2 MiB do not fit).
 */
int arm64_layout_kernel(struct arm64_boot_layout *layout, uint64_t ram_base, uint64_t ram_size,
                        const struct arm64_image_info *info);

/*
 * Step 2 (optional): place an initrd of `size` bytes as high as possible
 * below dtb_floor, page aligned, above kernel_end, and inside the 32 GiB
 * window that starts at the kernel's 1 GiB boundary. Errors: -EINVAL
 * (step 1 not done, size 0), -E2BIG (does not fit).
 */
int arm64_layout_initrd(struct arm64_boot_layout *layout, uint64_t size);

/*
 * Step 3: place a DTB of `size` bytes at the top of RAM, 8-byte aligned, at
 * or above dtb_floor (so in 2 MiB regions of its own, shared with neither
 * the kernel nor the initrd). Build the DTB after step 2, since it names the
 * initrd. Errors: -EINVAL (step 1 not done, size 0), -E2BIG (larger than
 * 2 MiB).
 */
int arm64_layout_dtb(struct arm64_boot_layout *layout, uint64_t size);

/*
 * Load a kernel file's contents into guest RAM: parse the header, do step 1
 * on mem's RAM and copy the Image to kernel_start. `info` may be NULL.
 * A gzip'd kernel is decompressed straight into place: its header is checked
 * on the first 64 bytes out of the decompressor, before the rest is
 * unpacked, and the output stops at the header's image_size, so a "gzip
 * bomb" costs no more than the kernel it claims to be. On error the layout
 * is cleared (a gzip'd kernel may have been partly unpacked into RAM).
 * Errors: those of the functions above, -EFBIG (a gzip'd kernel unpacks to
 * more than its image_size), -ENOEXEC (corrupt or truncated gzip data),
 * -EFAULT from guest_mem_write() (only if `mem` disagrees with itself).
 */
int arm64_image_load(struct guest_mem *mem, const uint8_t *file, size_t len,
                     struct arm64_image_info *info, struct arm64_boot_layout *layout);

/*
 * The same, reading the file at `path`. An uncompressed Image (the usual
 * case, and 30+ MiB for a distribution kernel) is read straight into guest
 * RAM after its header is checked, with no copy in between; a gzip'd one is
 * read whole (it is small) and unpacked. Errors: those of arm64_image_load()
 * and -errno from open/read (-ENOENT: no such file), and file_open_regular()'s
 * -EISDIR (a directory) and -ENODEV (a device, FIFO or socket: refused
 * without waiting, see file.h).
 */
int arm64_image_load_file(struct guest_mem *mem, const char *path, struct arm64_image_info *info,
                          struct arm64_boot_layout *layout);

/*
 * A sentence for the errors above, in the words of this file ("not an arm64
 * Image ...", "does not fit in guest RAM ..."), for "god: kernel: %s".
 */
const char *arm64_image_strerror(int err);

#endif
