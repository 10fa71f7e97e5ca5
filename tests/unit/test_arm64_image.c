/*
 * test_arm64_image.c - the arm64 Image header and gzip'd kernels (common/arm64_image.c).
 *
 * The "kernels" are built here in memory: a 64-byte header as booting.rst
 * describes it, followed by a recognisable pattern standing in for the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "arm64_image.h"

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE (16ULL << 20)

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* A fake Image of `len` bytes with the given header fields. */
static uint8_t *make_image(size_t len, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    for (size_t i = ARM64_IMAGE_HEADER_SIZE; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    put_le32(buf + 0, 0x14000010); /* code0: "b #0x40", like a real kernel */
    put_le64(buf + 8, text_offset);
    put_le64(buf + 16, image_size);
    put_le64(buf + 24, flags);
    put_le32(buf + 56, ARM64_IMAGE_MAGIC);
    return buf;
}

/* A 4 KiB-page, little-endian kernel, like every arm64 distribution kernel. */
#define FLAGS_4K (1ULL << ARM64_FLAG_PAGE_SIZE_SHIFT)

/* gzip (not zlib, not raw deflate) framing, as `gzip` writes it. */
static uint8_t *gzip_buf(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, len) + 32;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void good_header(void **state)
{
    (void)state;
    uint8_t *img = make_image(4096, 0, 3 << 20, FLAGS_4K | ARM64_FLAG_PHYS_ANYWHERE);
    struct arm64_image_info info;

    assert_int_equal(arm64_image_parse(img, 4096, &info), 0);
    assert_int_equal(info.text_offset, 0);
    assert_int_equal(info.image_size, 3 << 20);
    assert_int_equal(info.file_size, 4096);
    assert_int_equal(info.page_size, 4096);
    assert_int_equal(info.flags, FLAGS_4K | ARM64_FLAG_PHYS_ANYWHERE);
    assert_false(info.legacy);
    free(img);
}

static void page_sizes(void **state)
{
    (void)state;
    const unsigned expect[] = {0, 4096, 16384, 65536};
    for (uint64_t code = 0; code < 4; code++) {
        uint8_t *img = make_image(256, 0x80000, 1 << 20, code << ARM64_FLAG_PAGE_SIZE_SHIFT);
        struct arm64_image_info info;
        assert_int_equal(arm64_image_parse(img, 256, &info), 0);
        assert_int_equal(info.page_size, expect[code]);
        free(img);
    }
}

static void truncated(void **state)
{
    (void)state;
    uint8_t *img = make_image(64, 0, 1 << 20, FLAGS_4K);
    struct arm64_image_info info;

    assert_int_equal(arm64_image_parse(img, 64, &info), 0); /* the header alone is enough */
    assert_int_equal(arm64_image_parse(img, 63, &info), -ENOEXEC);
    assert_int_equal(arm64_image_parse(img, 0, &info), -ENOEXEC);
    assert_int_equal(arm64_image_parse(NULL, 64, &info), -ENOEXEC);
    free(img);
}

static void bad_magic(void **state)
{
    (void)state;
    uint8_t *img = make_image(4096, 0, 1 << 20, FLAGS_4K);
    struct arm64_image_info info;

    img[59] = 0x65; /* "ARM\x65" */
    assert_int_equal(arm64_image_parse(img, 4096, &info), -ENOEXEC);
    /* An ELF vmlinux is not an Image. */
    memcpy(img,
           "\x7f"
           "ELF",
           4);
    memset(img + 56, 0, 4);
    assert_int_equal(arm64_image_parse(img, 4096, &info), -ENOEXEC);
    free(img);
}

static void absurd_sizes(void **state)
{
    (void)state;
    struct arm64_image_info info;

    /* image_size smaller than the file it describes. */
    uint8_t *img = make_image(8192, 0, 4096, FLAGS_4K);
    assert_int_equal(arm64_image_parse(img, 8192, &info), -E2BIG);
    free(img);
    /* image_size equal to the file: a kernel without BSS, fine. */
    img = make_image(8192, 0, 8192, FLAGS_4K);
    assert_int_equal(arm64_image_parse(img, 8192, &info), 0);
    free(img);
    /* text_offset must stay inside the first 2 MiB block. */
    img = make_image(4096, ARM64_KERNEL_ALIGN, 1 << 20, FLAGS_4K);
    assert_int_equal(arm64_image_parse(img, 4096, &info), -E2BIG);
    free(img);
    img = make_image(4096, UINT64_MAX, 1 << 20, FLAGS_4K);
    assert_int_equal(arm64_image_parse(img, 4096, &info), -E2BIG);
    free(img);
    /* A huge image_size parses (the header is consistent) but cannot be placed. */
    img = make_image(4096, 0, UINT64_MAX, FLAGS_4K);
    assert_int_equal(arm64_image_parse(img, 4096, &info), 0);
    struct arm64_boot_layout layout;
    assert_int_equal(arm64_layout_kernel(&layout, RAM_BASE, RAM_SIZE, &info), -E2BIG);
    free(img);
}

static void big_endian_refused(void **state)
{
    (void)state;
    uint8_t *img = make_image(4096, 0, 1 << 20, FLAGS_4K | ARM64_FLAG_BE);
    struct arm64_image_info info;
    assert_int_equal(arm64_image_parse(img, 4096, &info), -ENOEXEC);
    free(img);
}

static void reserved_flags_ignored(void **state)
{
    (void)state;
    uint8_t *img = make_image(4096, 0, 1 << 20, FLAGS_4K | (1ULL << 40));
    struct arm64_image_info info;
    assert_int_equal(arm64_image_parse(img, 4096, &info), 0);
    free(img);
}

static void legacy_zero_image_size(void **state)
{
    (void)state;
    /* Pre-3.17: image_size 0; text_offset is assumed, whatever the field says. */
    uint8_t *img = make_image(10000, 0x1234, 0, ARM64_FLAG_BE);
    struct arm64_image_info info;

    assert_int_equal(arm64_image_parse(img, 10000, &info), 0);
    assert_true(info.legacy);
    assert_int_equal(info.text_offset, ARM64_LEGACY_TEXT_OFFSET);
    assert_int_equal(info.image_size, 10000);
    assert_int_equal(info.flags, 0); /* the field did not exist yet */
    assert_int_equal(info.page_size, 0);
    free(img);
}

static void gzip_detected_and_refused_by_parse(void **state)
{
    (void)state;
    uint8_t *img = make_image(4096, 0, 1 << 20, FLAGS_4K);
    size_t gz_len;
    uint8_t *gz = gzip_buf(img, 4096, &gz_len);
    struct arm64_image_info info;

    assert_true(arm64_image_is_gzip(gz, gz_len));
    assert_false(arm64_image_is_gzip(img, 4096));
    assert_false(arm64_image_is_gzip(gz, 1));
    assert_false(arm64_image_is_gzip(NULL, 0));
    assert_int_equal(arm64_image_parse(gz, gz_len, &info), -ENOEXEC);
    free(gz);
    free(img);
}

/*
 * A gzip bomb: `header` (if any) followed by `zeros` zero bytes, compressed
 * as it streams, so the test never holds the uncompressed data (deflate
 * packs zeros about 1000:1).
 */
static uint8_t *gzip_bomb(const uint8_t *header, size_t header_len, uint64_t zeros, size_t *out_len)
{
    static const uint8_t zero[1 << 16];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = zeros / 100 + 4096, used = 0;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)header;
    zs.avail_in = (uInt)header_len;
    for (;;) {
        int flush = Z_NO_FLUSH;
        if (zs.avail_in == 0) {
            if (zeros == 0)
                flush = Z_FINISH;
            else {
                size_t n = zeros < sizeof(zero) ? (size_t)zeros : sizeof(zero);
                zs.next_in = (Bytef *)zero;
                zs.avail_in = (uInt)n;
                zeros -= n;
            }
        }
        zs.next_out = out + used;
        zs.avail_out = (uInt)(cap - used);
        int zr = deflate(&zs, flush);
        used = cap - zs.avail_out;
        assert_true(used < cap);
        if (zr == Z_STREAM_END)
            break;
        assert_int_equal(zr, Z_OK);
    }
    deflateEnd(&zs);
    *out_len = used;
    return out;
}

/* gz holds img (len bytes, image_size 1 MiB, text_offset 0): load it into 16 MiB of RAM. */
static int load_gz(const uint8_t *gz, size_t gz_len, struct guest_mem *mem,
                   struct arm64_image_info *info)
{
    struct arm64_boot_layout layout;
    memset(mem->host, 0, mem->size);
    return arm64_image_load(mem, gz, gz_len, info, &layout);
}

static void gunzip_round_trip(void **state)
{
    (void)state;
    struct guest_mem mem;
    struct arm64_image_info info;
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);
    size_t gz_len;
    /* Exactly image_size bytes is allowed; one byte more is a bomb. */
    for (size_t len = (1 << 20) - 1; len <= (1 << 20) + 1; len++) {
        uint8_t *img = make_image(len, 0, 1 << 20, FLAGS_4K);
        uint8_t *gz = gzip_buf(img, len, &gz_len);
        assert_int_equal(load_gz(gz, gz_len, &mem, &info), len > (1 << 20) ? -EFBIG : 0);
        if (len <= (1 << 20)) {
            assert_int_equal(info.file_size, len);
            assert_memory_equal(mem.host, img, len);
        }
        free(gz);
        free(img);
    }
    guest_mem_free(&mem);
}

static void gunzip_ignores_a_second_member(void **state)
{
    (void)state;
    /*
     * Two gzip members back to back: the trailer at the end of the file is
     * the second one's. Only the first member is the kernel.
     */
    size_t len = 200000, gz1_len, gz2_len;
    uint8_t *img = make_image(len, 0, 1 << 20, FLAGS_4K);
    uint8_t tail[16] = {0};
    uint8_t *gz1 = gzip_buf(img, len, &gz1_len), *gz2 = gzip_buf(tail, sizeof(tail), &gz2_len);
    uint8_t *both = malloc(gz1_len + gz2_len);
    assert_non_null(both);
    memcpy(both, gz1, gz1_len);
    memcpy(both + gz1_len, gz2, gz2_len);
    struct guest_mem mem;
    struct arm64_image_info info;
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);

    assert_int_equal(load_gz(both, gz1_len + gz2_len, &mem, &info), 0);
    assert_int_equal(info.file_size, len);
    assert_memory_equal(mem.host, img, len);
    guest_mem_free(&mem);
    free(both);
    free(gz2);
    free(gz1);
    free(img);
}

static void gunzip_rejects_damage(void **state)
{
    (void)state;
    size_t len = 50000, gz_len;
    uint8_t *img = make_image(len, 0, 1 << 20, FLAGS_4K);
    uint8_t *gz = gzip_buf(img, len, &gz_len);
    struct guest_mem mem;
    struct arm64_image_info info;
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);

    /* Cut short, or shorter than the smallest gzip file. */
    assert_int_equal(load_gz(gz, gz_len / 2, &mem, &info), -ENOEXEC);
    assert_int_equal(load_gz(gz, 17, &mem, &info), -ENOEXEC);
    /* A flipped bit in the data: the CRC or the deflate stream catches it. */
    gz[gz_len / 2] ^= 0x10;
    assert_int_equal(load_gz(gz, gz_len, &mem, &info), -ENOEXEC);
    guest_mem_free(&mem);
    free(gz);
    free(img);
}

/* A legacy (image_size 0) gzip'd kernel: bounded by the room below the DTB. */
static void gunzip_legacy_kernel(void **state)
{
    (void)state;
    size_t len = 100000, gz_len;
    uint8_t *img = make_image(len, 0x1234, 0, 0);
    uint8_t *gz = gzip_buf(img, len, &gz_len);
    struct guest_mem mem;
    struct arm64_image_info info;
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);
    struct arm64_boot_layout layout;
    assert_int_equal(arm64_image_load(&mem, gz, gz_len, &info, &layout), 0);
    assert_true(info.legacy);
    assert_int_equal(info.file_size, len);
    assert_int_equal(layout.kernel_start, RAM_BASE + ARM64_LEGACY_TEXT_OFFSET);
    assert_int_equal(layout.kernel_end, layout.kernel_start + len);
    assert_memory_equal(mem.host + ARM64_LEGACY_TEXT_OFFSET, img, len);
    free(gz);
    free(img);
    /* RAM_SIZE of zeros behind a legacy header cannot fit below the DTB. */
    uint8_t *hdr = make_image(ARM64_IMAGE_HEADER_SIZE, 0, 0, 0);
    gz = gzip_bomb(hdr, ARM64_IMAGE_HEADER_SIZE, RAM_SIZE, &gz_len);
    assert_int_equal(arm64_image_load(&mem, gz, gz_len, &info, &layout), -E2BIG);
    free(gz);
    free(hdr);
    guest_mem_free(&mem);
}

static void load_plain_and_gzip(void **state)
{
    (void)state;
    struct guest_mem mem;
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);

    size_t len = 100000, gz_len;
    uint8_t *img = make_image(len, 0x80000, 1 << 20, FLAGS_4K);
    uint8_t *gz = gzip_buf(img, len, &gz_len);
    struct arm64_image_info info;
    struct arm64_boot_layout layout;

    const uint8_t *files[] = {img, gz};
    const size_t lens[] = {len, gz_len};
    for (int i = 0; i < 2; i++) {
        memset(mem.host, 0, mem.size);
        assert_int_equal(arm64_image_load(&mem, files[i], lens[i], &info, &layout), 0);
        assert_int_equal(info.file_size, len);
        assert_int_equal(layout.kernel_base, RAM_BASE);
        assert_int_equal(layout.kernel_start, RAM_BASE + 0x80000);
        assert_int_equal(layout.kernel_end, RAM_BASE + 0x80000 + (1 << 20));
        assert_memory_equal(mem.host + 0x80000, img, len);
    }
    /* info is optional. */
    assert_int_equal(arm64_image_load(&mem, img, len, NULL, &layout), 0);
    free(gz);
    free(img);

    /* A kernel that does not fit copies nothing. */
    memset(mem.host, 0, mem.size);
    img = make_image(len, 0, RAM_SIZE, FLAGS_4K);
    assert_int_equal(arm64_image_load(&mem, img, len, &info, &layout), -E2BIG);
    assert_int_equal(layout.kernel_end, 0);
    for (size_t i = 0; i < len; i += 997)
        assert_int_equal(mem.host[i], 0);
    free(img);

    guest_mem_free(&mem);
}

static char *write_temp(const uint8_t *data, size_t len)
{
    static char path[64];
    strcpy(path, "/tmp/god-image-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Loading from a file: the plain Image goes straight into RAM, a gzip'd one is unpacked. */
static void load_from_file(void **state)
{
    (void)state;
    struct guest_mem mem;
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);
    size_t len = 100000, gz_len;
    uint8_t *img = make_image(len, 0x80000, 1 << 20, FLAGS_4K);
    uint8_t *gz = gzip_buf(img, len, &gz_len);
    struct arm64_image_info info;
    struct arm64_boot_layout layout;

    const uint8_t *files[] = {img, gz};
    const size_t lens[] = {len, gz_len};
    for (int i = 0; i < 2; i++) {
        char *path = write_temp(files[i], lens[i]);
        memset(mem.host, 0, mem.size);
        assert_int_equal(arm64_image_load_file(&mem, path, &info, &layout), 0);
        assert_int_equal(info.file_size, len);
        assert_int_equal(layout.kernel_start, RAM_BASE + 0x80000);
        assert_memory_equal(mem.host + 0x80000, img, len);
        unlink(path);
    }

    /* Too short for a header, bad magic, not there, not a file, too big for RAM. */
    char *path = write_temp(img, 40);
    assert_int_equal(arm64_image_load_file(&mem, path, &info, &layout), -ENOEXEC);
    unlink(path);
    img[56] ^= 0xff;
    path = write_temp(img, len);
    assert_int_equal(arm64_image_load_file(&mem, path, &info, &layout), -ENOEXEC);
    assert_int_equal(arm64_image_load_file(&mem, "/nonexistent/Image", &info, &layout), -ENOENT);
    /* A directory or a device is named as such, not as a bad request. */
    assert_int_equal(arm64_image_load_file(&mem, "/tmp", &info, &layout), -EISDIR);
    assert_int_equal(arm64_image_load_file(&mem, "/dev/zero", &info, &layout), -ENODEV);
    assert_int_equal(arm64_image_load_file(&mem, "/dev/null", &info, &layout), -ENODEV);
    unlink(path);
    free(img);
    img = make_image(len, 0, RAM_SIZE, FLAGS_4K);
    path = write_temp(img, len);
    assert_int_equal(arm64_image_load_file(&mem, path, &info, &layout), -E2BIG);
    unlink(path);
    free(img);
    free(gz);
    guest_mem_free(&mem);
}

/*
 * Issue 8 item 9: the header is checked on the first bytes out of the
 * decompressor, and the output is bounded by the image_size it states, so a
 * bomb fails after at most image_size bytes, with an error that says what it
 * is, whatever the RAM size.
 */
static void gzip_bomb_stops_early(void **state)
{
    (void)state;
    struct guest_mem mem;
    struct arm64_image_info info;
    struct arm64_boot_layout layout;
    size_t gz_len;
    const uint64_t bomb = 256ULL << 20; /* 16 times the guest RAM */
    assert_int_equal(guest_mem_alloc(&mem, RAM_BASE, RAM_SIZE), 0);

    /* No header at all: refused on the first 64 bytes, not after filling RAM. */
    uint8_t *gz = gzip_bomb(NULL, 0, bomb, &gz_len);
    memset(mem.host, 0xaa, mem.size);
    assert_int_equal(arm64_image_load(&mem, gz, gz_len, &info, &layout), -ENOEXEC);
    assert_int_equal(layout.kernel_end, 0);
    for (size_t i = 0; i < mem.size; i += 4093)
        assert_int_equal(mem.host[i], 0xaa);
    char *path = write_temp(gz, gz_len);
    assert_int_equal(arm64_image_load_file(&mem, path, &info, &layout), -ENOEXEC);
    unlink(path);
    free(gz);

    /* A good header promising 1 MiB, then 256 MiB: stopped at the promise. */
    uint8_t *hdr = make_image(ARM64_IMAGE_HEADER_SIZE, 0, 1 << 20, FLAGS_4K);
    gz = gzip_bomb(hdr, ARM64_IMAGE_HEADER_SIZE, bomb, &gz_len);
    memset(mem.host, 0xaa, mem.size);
    assert_int_equal(arm64_image_load(&mem, gz, gz_len, &info, &layout), -EFBIG);
    assert_int_equal(layout.kernel_end, 0);
    /* Nothing was written past the kernel's image_size. */
    for (size_t i = 1 << 20; i < mem.size; i += 4093)
        assert_int_equal(mem.host[i], 0xaa);
    path = write_temp(gz, gz_len);
    assert_int_equal(arm64_image_load_file(&mem, path, &info, &layout), -EFBIG);
    unlink(path);
    assert_string_not_equal(arm64_image_strerror(-EFBIG), strerror(EFBIG));
    free(gz);
    free(hdr);
    guest_mem_free(&mem);
}

static void strerror_says_something(void **state)
{
    (void)state;
    const int errs[] = {-ENOEXEC, -E2BIG, -EINVAL, -ENOMEM, -EFAULT, -EIO};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        const char *s = arm64_image_strerror(errs[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 5);
    }
    assert_non_null(strstr(arm64_image_strerror(-ENOEXEC), "Image"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_header),
        cmocka_unit_test(page_sizes),
        cmocka_unit_test(truncated),
        cmocka_unit_test(bad_magic),
        cmocka_unit_test(absurd_sizes),
        cmocka_unit_test(big_endian_refused),
        cmocka_unit_test(reserved_flags_ignored),
        cmocka_unit_test(legacy_zero_image_size),
        cmocka_unit_test(gzip_detected_and_refused_by_parse),
        cmocka_unit_test(gunzip_round_trip),
        cmocka_unit_test(gunzip_ignores_a_second_member),
        cmocka_unit_test(gunzip_legacy_kernel),
        cmocka_unit_test(gunzip_rejects_damage),
        cmocka_unit_test(load_plain_and_gzip),
        cmocka_unit_test(gzip_bomb_stops_early),
        cmocka_unit_test(load_from_file),
        cmocka_unit_test(strerror_says_something),
    };
    return cmocka_run_group_tests_name("arm64_image", tests, NULL, NULL);
}
