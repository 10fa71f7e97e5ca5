/*
 * arm64_image.c - the arm64 Linux Image header, gzip'd kernels, and where the
 * kernel, initrd and DTB go in guest RAM (introduced in chapter 7).
 *
 * The rules all come from Documentation/arch/arm64/booting.rst; see
 * arm64_image.h for a summary and a picture of the result. Every sum of two
 * guest addresses or sizes below is checked with __builtin_add_overflow: the
 * sizes come from a file, and a file can say anything.
 */
#include "arm64_image.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "file.h"

/* Header fields (booting.rst, "Call the kernel image"); all little endian. */
#define HDR_TEXT_OFFSET 8
#define HDR_IMAGE_SIZE  16
#define HDR_FLAGS       24
#define HDR_MAGIC       56

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* For a power-of-two `align`. Returns false when rounding up would wrap. */
static bool align_up(uint64_t x, uint64_t align, uint64_t *out)
{
    if (__builtin_add_overflow(x, align - 1, out))
        return false;
    *out &= ~(align - 1);
    return true;
}

static uint64_t align_down(uint64_t x, uint64_t align)
{
    return x & ~(align - 1);
}

/* The header is the first hdr_len bytes of a file of `len` bytes. */
static int parse_header(const uint8_t *buf, size_t hdr_len, size_t len,
                        struct arm64_image_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!buf || hdr_len < ARM64_IMAGE_HEADER_SIZE || len < hdr_len)
        return -ENOEXEC;
    /*
     * The magic is the only part of the header that identifies it: code0 and
     * code1 are instructions (a branch to the kernel's start, or an EFI "MZ"
     * signature followed by one), anything goes there.
     */
    if (get_le32(buf + HDR_MAGIC) != ARM64_IMAGE_MAGIC)
        return -ENOEXEC;

    uint64_t text_offset = get_le64(buf + HDR_TEXT_OFFSET);
    uint64_t image_size = get_le64(buf + HDR_IMAGE_SIZE);
    uint64_t flags = get_le64(buf + HDR_FLAGS);

    if (image_size == 0) {
        /*
         * A kernel older than 3.17: text_offset was written in the kernel's
         * own endianness and flags did not exist (the field was reserved).
         * booting.rst: "Where image_size is zero, text_offset can be assumed
         * to be 0x80000", and the boot loader should leave as much memory as
         * possible free after the image. We can only count the file; the
         * layout keeps the initrd and DTB at the top of RAM.
         */
        out->legacy = true;
        text_offset = ARM64_LEGACY_TEXT_OFFSET;
        image_size = len;
        flags = 0;
    }

    /* Bit 0: a big-endian kernel cannot run on our little-endian vCPUs. */
    if (flags & ARM64_FLAG_BE)
        return -ENOEXEC;
    /*
     * image_size counts the whole kernel including its BSS, so it is never
     * smaller than the file. And text_offset is an offset into the 2 MiB
     * block the kernel starts in: every kernel ever built used 0 (5.8 and
     * later), 0x80000, or a random page below 2 MiB. Anything else is a
     * corrupt or hostile header.
     */
    if (image_size < len)
        return -E2BIG;
    if (text_offset >= ARM64_KERNEL_ALIGN)
        return -E2BIG;

    /* Bits 1-2, the kernel's page size. Informational: KVM runs any of them. */
    static const unsigned page_sizes[] = {0, 4096, 16384, 65536};
    out->page_size = page_sizes[(flags & ARM64_FLAG_PAGE_SIZE_MASK) >> ARM64_FLAG_PAGE_SIZE_SHIFT];
    /*
     * Bit 3 (may the kernel live anywhere in RAM) needs no action: we put it
     * at the lowest 2 MiB boundary of RAM, which suits both answers. Bits
     * 4-63 are reserved; a future kernel may use them, so they are ignored.
     */
    out->text_offset = text_offset;
    out->image_size = image_size;
    out->flags = flags;
    out->file_size = len;
    return 0;
}

int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image_info *out)
{
    return parse_header(buf, len, len, out);
}

bool arm64_image_is_gzip(const uint8_t *buf, size_t len)
{
    /* RFC 1952: every gzip member starts with ID1 = 0x1f, ID2 = 0x8b. */
    return buf && len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

int arm64_layout_kernel(struct arm64_boot_layout *layout, uint64_t ram_base, uint64_t ram_size,
                        const struct arm64_image_info *info)
{
    uint64_t ram_end, base, start, end;

    memset(layout, 0, sizeof(*layout));
    if (ram_size == 0 || __builtin_add_overflow(ram_base, ram_size, &ram_end))
        return -EINVAL;
    /* The top 2 MiB of RAM (rounded down to a 2 MiB boundary) wait for the DTB. */
    if (ram_size < ARM64_DTB_MAX_SIZE)
        return -E2BIG;
    uint64_t dtb_floor = align_down(ram_end - ARM64_DTB_MAX_SIZE, ARM64_KERNEL_ALIGN);

    if (!align_up(ram_base, ARM64_KERNEL_ALIGN, &base) ||
        __builtin_add_overflow(base, info->text_offset, &start) ||
        __builtin_add_overflow(start, info->image_size, &end))
        return -E2BIG;
    /*
     * Not just "inside RAM": the kernel must end at or below dtb_floor.
     * dtb_floor is 2 MiB aligned, so the kernel and the DTB never share a
     * 2 MiB block, which booting.rst asks for because the kernel maps the
     * DTB with 2 MiB block mappings of its own.
     */
    if (end > dtb_floor)
        return -E2BIG;

    layout->ram_base = ram_base;
    layout->ram_size = ram_size;
    layout->kernel_base = base;
    layout->kernel_start = start;
    layout->kernel_end = end;
    layout->dtb_floor = dtb_floor;
    return 0;
}

int arm64_layout_initrd(struct arm64_boot_layout *layout, uint64_t size)
{
    if (layout->ram_size == 0 || size == 0)
        return -EINVAL;

    /*
     * booting.rst: the initrd must lie in a 1 GiB aligned window of at most
     * 32 GiB that also covers the kernel. Take the window starting at the
     * kernel's 1 GiB boundary; it only matters for guests with > 31 GiB RAM.
     */
    uint64_t window_end, top = layout->dtb_floor;
    if (!__builtin_add_overflow(align_down(layout->kernel_start, ARM64_INITRD_WINDOW_ALIGN),
                                ARM64_INITRD_WINDOW_SIZE, &window_end) &&
        window_end < top)
        top = window_end;

    /* As high as possible: the room after the kernel is the kernel's to use. */
    if (size > top)
        return -E2BIG;
    uint64_t start = align_down(top - size, ARM64_INITRD_ALIGN);
    if (start < layout->kernel_end)
        return -E2BIG;

    layout->initrd_start = start;
    layout->initrd_end = start + size;
    return 0;
}

int arm64_layout_dtb(struct arm64_boot_layout *layout, uint64_t size)
{
    if (layout->ram_size == 0 || size == 0)
        return -EINVAL;
    /* booting.rst: "must not exceed 2 megabytes in size". */
    if (size > ARM64_DTB_MAX_SIZE)
        return -E2BIG;

    /*
     * At the very top of RAM, on an 8-byte boundary (booting.rst). Since
     * size <= 2 MiB, the start is at or above dtb_floor; checked anyway.
     */
    uint64_t ram_end = layout->ram_base + layout->ram_size; /* checked in step 1 */
    uint64_t start = align_down(ram_end - size, ARM64_DTB_ALIGN);
    if (start < layout->dtb_floor || start < layout->initrd_end)
        return -E2BIG;

    layout->dtb_start = start;
    layout->dtb_end = start + size;
    return 0;
}

/*
 * Decompress into `dst` (room bytes), continuing the stream in `zs`. zlib
 * counts in uInt, so large outputs go in pieces. Returns the bytes written
 * (all of room unless the stream ended first); *ended says whether it did.
 */
static int64_t inflate_into(z_stream *zs, uint8_t *dst, uint64_t room, bool *ended)
{
    uint64_t produced = 0;
    *ended = false;
    while (produced < room) {
        uint64_t piece = room - produced < UINT_MAX ? room - produced : UINT_MAX;
        zs->next_out = dst + produced;
        zs->avail_out = (uInt)piece;
        int zr = inflate(zs, Z_NO_FLUSH);
        produced += piece - zs->avail_out;
        if (zr == Z_STREAM_END) {
            *ended = true; /* anything after the first gzip member is ignored */
            break;
        }
        if (zr == Z_MEM_ERROR)
            return -ENOMEM;
        /* Z_BUF_ERROR with output room left: the input ended mid-stream. */
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && zs->avail_out == 0))
            return -ENOEXEC;
    }
    return (int64_t)produced;
}

/*
 * A gzip'd kernel, straight into guest RAM. The header is the first 64 bytes
 * out of the decompressor: it is checked before anything else is unpacked,
 * the kernel is placed by what it says, and the rest is unpacked in place,
 * never past image_size (for a legacy header, which has none, never past the
 * room below the DTB). A gzip bomb thus costs at most one kernel's worth of
 * work, and garbage costs 64 bytes.
 */
static int gunzip_load(struct guest_mem *mem, const uint8_t *file, size_t len,
                       struct arm64_image_info *info, struct arm64_boot_layout *layout)
{
    uint8_t header[ARM64_IMAGE_HEADER_SIZE];
    uint8_t extra;
    bool ended;
    int err;

    if (len < 18) /* the smallest gzip file: 10-byte header, 8-byte trailer */
        return -ENOEXEC;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 16 + MAX_WBITS: expect a gzip header and trailer around the deflate data. */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -ENOMEM;
    /* The whole input at once: it is in memory; a kernel.gz is far below 4 GiB. */
    if (len > UINT_MAX) {
        err = -E2BIG;
        goto out;
    }
    zs.next_in = (Bytef *)file;
    zs.avail_in = (uInt)len;

    int64_t got = inflate_into(&zs, header, sizeof(header), &ended);
    if (got < 0 || (size_t)got < sizeof(header)) {
        err = got < 0 ? (int)got : -ENOEXEC;
        goto out;
    }
    /* The file's length is not known yet: check the header as if it were all. */
    if ((err = parse_header(header, sizeof(header), sizeof(header), info)) < 0 ||
        (err = arm64_layout_kernel(layout, mem->gpa_base, mem->size, info)) < 0)
        goto out;
    uint64_t limit = info->legacy ? layout->dtb_floor - layout->kernel_start : info->image_size;
    uint8_t *dst = guest_mem_ptr(mem, layout->kernel_start, limit);
    if (!dst) {
        err = -E2BIG;
        goto out;
    }
    memcpy(dst, header, sizeof(header));
    got = ended ? 0 : inflate_into(&zs, dst + sizeof(header), limit - sizeof(header), &ended);
    if (got < 0) {
        err = (int)got;
        goto out;
    }
    /* Room used up: one more byte out of the stream means it is larger than promised. */
    if (!ended && (got = inflate_into(&zs, &extra, 1, &ended)) != 0) {
        err = got < 0 ? (int)got : info->legacy ? -E2BIG : -EFBIG;
        goto out;
    }
    info->file_size = sizeof(header) + (uint64_t)got;
    if (info->legacy) { /* image_size was the file's size: only known now */
        info->image_size = info->file_size;
        layout->kernel_end = layout->kernel_start + info->file_size;
    }
out:
    inflateEnd(&zs);
    if (err)
        memset(layout, 0, sizeof(*layout));
    return err;
}

int arm64_image_load(struct guest_mem *mem, const uint8_t *file, size_t len,
                     struct arm64_image_info *info, struct arm64_boot_layout *layout)
{
    struct arm64_image_info local;
    int err;

    if (!info)
        info = &local;
    memset(layout, 0, sizeof(*layout));

    /*
     * booting.rst, "Decompress the kernel image": arm64 has no
     * self-decompressor, the boot loader does it (for Image.gz; gzip is
     * what `make Image.gz` produces).
     */
    if (arm64_image_is_gzip(file, len))
        return gunzip_load(mem, file, len, info, layout);

    err = arm64_image_parse(file, len, info);
    if (!err)
        err = arm64_layout_kernel(layout, mem->gpa_base, mem->size, info);
    if (!err)
        err = guest_mem_write(mem, layout->kernel_start, file, len);
    return err;
}

const char *arm64_image_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case -ENOEXEC:
        return "not a little-endian arm64 Linux Image (bad header or magic, big-endian kernel, "
               "or corrupt gzip data)";
    case -E2BIG:
        return "does not fit in guest RAM, or the header's sizes are absurd";
    case -EFBIG:
        return "decompresses to more than the image_size its header gives (a gzip bomb, or "
               "a corrupt kernel): stopped there";
    case -EISDIR:
    case -ENODEV:
        return file_strerror(err);
    case -EINVAL:
        return "invalid request (empty or wrapping RAM, zero size, or no kernel placed yet)";
    case -ENOMEM:
        return "out of host memory";
    case -EFAULT:
        return "address outside guest RAM";
    default:
        return strerror(-err);
    }
}

int arm64_image_load_file(struct guest_mem *mem, const char *path, struct arm64_image_info *info,
                          struct arm64_boot_layout *layout)
{
    struct arm64_image_info local;
    uint8_t header[ARM64_IMAGE_HEADER_SIZE];
    uint64_t size;
    int64_t got;
    int err;

    if (!info)
        info = &local;
    memset(layout, 0, sizeof(*layout));
    int fd = file_open_regular(path, &size);
    if (fd < 0)
        return fd;
    got = file_read_at(fd, header, sizeof(header), 0);
    if (got < 0 || (uint64_t)got < sizeof(header)) {
        err = got < 0 ? (int)got : -ENOEXEC;
        goto out;
    }

    if (arm64_image_is_gzip(header, sizeof(header))) {
        /* Compressed: smaller than the RAM it unpacks into, so read it whole. */
        uint8_t *file;
        size_t len;
        err = file_read_all(path, (size_t)mem->size, &file, &len);
        if (err == -EFBIG)
            err = -E2BIG;
        if (err == 0) {
            err = arm64_image_load(mem, file, len, info, layout);
            free(file);
        }
        goto out;
    }

    /* Uncompressed: check the header, place the kernel, read it into place. */
    if ((err = parse_header(header, sizeof(header), (size_t)size, info)) < 0 ||
        (err = arm64_layout_kernel(layout, mem->gpa_base, mem->size, info)) < 0)
        goto out;
    uint8_t *dst = guest_mem_ptr(mem, layout->kernel_start, size);
    got = dst ? file_read_at(fd, dst, size, 0) : -E2BIG;
    err = got < 0 ? (int)got : (uint64_t)got < size ? -ENOEXEC /* it shrank */ : 0;
out:
    close(fd);
    return err;
}
