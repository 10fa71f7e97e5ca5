/*
 * test_devicetree.c - the guest's device tree (common/devicetree.c) and the
 * libfdt error helper (common/fdt_helpers.c).
 *
 * Each test builds a DTB and reads it back with libfdt's read-only API, the
 * way the kernel will. The blob must also decompile with dtc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devicetree.h"
#include "fdt_helpers.h"
#include "memmap.h"

#define RAM_SIZE     (256ULL << 20)
#define INITRD_START 0x48000000ULL
#define INITRD_END   0x48123457ULL
#define BOOTARGS     "console=ttyAMA0 earlycon rdinit=/init"

struct built {
    void *fdt;
    size_t size;
};

static struct built build_gic(unsigned gic_version, unsigned ncpus, bool initrd, size_t nvirtio)
{
    struct devicetree_device devs[1 + VIRTIO_MMIO_COUNT];
    devs[0] = devicetree_pl011();
    for (size_t i = 0; i < nvirtio; i++)
        devs[1 + i] = devicetree_virtio_mmio((unsigned)i);
    struct devicetree_config cfg = {
        .ram_base = RAM_BASE,
        .ram_size = RAM_SIZE,
        .ncpus = ncpus,
        .gic_version = gic_version,
        .bootargs = BOOTARGS,
        .initrd_start = initrd ? INITRD_START : 0,
        .initrd_end = initrd ? INITRD_END : 0,
        .devices = devs,
        .ndevices = 1 + nvirtio,
    };
    struct built b;
    assert_int_equal(devicetree_build(&cfg, &b.fdt, &b.size), 0);
    assert_int_equal(fdt_check_header(b.fdt), 0);
    assert_int_equal(fdt_totalsize(b.fdt), b.size);
    assert_true(b.size <= (2u << 20));
    return b;
}

/* The default: a GICv3 (gic_version 0). */
static struct built build(unsigned ncpus, bool initrd, size_t nvirtio)
{
    return build_gic(0, ncpus, initrd, nvirtio);
}

static int node(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        fail_msg("no node %s: %s", path, fdt_strerror(off));
    return off;
}

/* The property as an array of big-endian 32-bit cells; checks its length. */
static const fdt32_t *cells(const void *fdt, const char *path, const char *name, int ncells)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node(fdt, path), name, &len);
    if (!p)
        fail_msg("%s has no %s", path, name);
    assert_int_equal(len, ncells * 4);
    return p;
}

static uint32_t cell(const void *fdt, const char *path, const char *name)
{
    return fdt32_to_cpu(cells(fdt, path, name, 1)[0]);
}

/* Cells i and i+1 as one 64-bit number. */
static uint64_t u64_at(const fdt32_t *p, int i)
{
    return (uint64_t)fdt32_to_cpu(p[i]) << 32 | fdt32_to_cpu(p[i + 1]);
}

static const char *string(const void *fdt, const char *path, const char *name)
{
    const char *s = fdt_getprop(fdt, node(fdt, path), name, NULL);
    if (!s)
        fail_msg("%s has no %s", path, name);
    return s;
}

static bool has_prop(const void *fdt, const char *path, const char *name)
{
    return fdt_getprop(fdt, node(fdt, path), name, NULL) != NULL;
}

/* interrupts = <type number flags> */
static void assert_irq(const void *fdt, const char *path, uint32_t type, uint32_t nr,
                       uint32_t flags)
{
    const fdt32_t *p = cells(fdt, path, "interrupts", 3);
    assert_int_equal(fdt32_to_cpu(p[0]), type);
    assert_int_equal(fdt32_to_cpu(p[1]), nr);
    assert_int_equal(fdt32_to_cpu(p[2]), flags);
}

static void root_and_memory(void **state)
{
    (void)state;
    struct built b = build(1, false, 0);

    assert_int_equal(cell(b.fdt, "/", "#address-cells"), 2);
    assert_int_equal(cell(b.fdt, "/", "#size-cells"), 2);
    assert_int_equal(fdt_node_check_compatible(b.fdt, 0, "linux,dummy-virt"), 0);
    /* interrupt-parent is the GIC's phandle. */
    uint32_t gic = fdt_get_phandle(b.fdt, node(b.fdt, "/intc@8000000"));
    assert_int_not_equal(gic, 0);
    assert_int_equal(cell(b.fdt, "/", "interrupt-parent"), gic);

    const fdt32_t *reg = cells(b.fdt, "/memory@40000000", "reg", 4);
    assert_int_equal(u64_at(reg, 0), RAM_BASE);
    assert_int_equal(u64_at(reg, 2), RAM_SIZE);
    assert_string_equal(string(b.fdt, "/memory@40000000", "device_type"), "memory");
    free(b.fdt);
}

static int count_cpus(const void *fdt)
{
    int n = 0, child;
    fdt_for_each_subnode(child, fdt, node(fdt, "/cpus"))
    {
        const char *dt = fdt_getprop(fdt, child, "device_type", NULL);
        if (dt && strcmp(dt, "cpu") == 0)
            n++;
    }
    return n;
}

static void cpus_and_psci(void **state)
{
    (void)state;
    struct built b = build(4, false, 0);

    assert_int_equal(count_cpus(b.fdt), 4);
    assert_int_equal(cell(b.fdt, "/cpus", "#address-cells"), 1);
    assert_int_equal(cell(b.fdt, "/cpus", "#size-cells"), 0);
    assert_int_equal(cell(b.fdt, "/cpus/cpu@3", "reg"), 3);
    assert_string_equal(string(b.fdt, "/cpus/cpu@0", "enable-method"), "psci");
    assert_string_equal(string(b.fdt, "/cpus/cpu@0", "compatible"), "arm,arm-v8");

    int psci = node(b.fdt, "/psci");
    assert_int_equal(fdt_node_check_compatible(b.fdt, psci, "arm,psci-0.2"), 0);
    assert_int_equal(fdt_node_check_compatible(b.fdt, psci, "arm,psci"), 0);
    assert_int_equal(fdt_stringlist_search(b.fdt, psci, "compatible", "arm,psci-0.2"), 0);
    assert_string_equal(string(b.fdt, "/psci", "method"), "hvc");
    assert_int_equal(cell(b.fdt, "/psci", "cpu_on"), 0xc4000003);
    free(b.fdt);
}

static void cpus_beyond_sixteen(void **state)
{
    (void)state;
    /* vCPU 16 is Aff1 = 1, Aff0 = 0 for KVM: cpu@100. */
    struct built b = build(17, false, 0);
    assert_int_equal(count_cpus(b.fdt), 17);
    assert_int_equal(cell(b.fdt, "/cpus/cpu@f", "reg"), 0xf);
    assert_int_equal(cell(b.fdt, "/cpus/cpu@100", "reg"), 0x100);
    assert_int_equal(devicetree_cpu_mpidr(16), 0x100);
    assert_int_equal(devicetree_cpu_mpidr(4096 + 17), 0x10101);
    free(b.fdt);

    /* MPIDRs read from the vCPUs win over the default. */
    const uint64_t mpidrs[] = {0x80000000ULL | 0x0, 0x80000000ULL | 0x200};
    struct devicetree_config cfg = {
        .ram_base = RAM_BASE, .ram_size = RAM_SIZE, .ncpus = 2, .mpidrs = mpidrs};
    assert_int_equal(devicetree_build(&cfg, &b.fdt, &b.size), 0);
    assert_int_equal(cell(b.fdt, "/cpus/cpu@200", "reg"), 0x200);
    free(b.fdt);
}

static void gic(void **state)
{
    (void)state;
    struct built b = build(3, false, 0);
    const char *p = "/intc@8000000";

    assert_int_equal(fdt_node_check_compatible(b.fdt, node(b.fdt, p), "arm,gic-v3"), 0);
    assert_int_equal(cell(b.fdt, p, "#interrupt-cells"), 3);
    assert_true(has_prop(b.fdt, p, "interrupt-controller"));
    const fdt32_t *reg = cells(b.fdt, p, "reg", 8);
    assert_int_equal(u64_at(reg, 0), GIC_DIST_BASE);
    assert_int_equal(u64_at(reg, 2), GIC_DIST_SIZE);
    assert_int_equal(u64_at(reg, 4), GIC_REDIST_BASE);
    assert_int_equal(u64_at(reg, 6), 3 * GIC_REDIST_SIZE_EACH);
    free(b.fdt);
}

static void timer(void **state)
{
    (void)state;
    struct built b = build(2, false, 0);

    assert_int_equal(fdt_node_check_compatible(b.fdt, node(b.fdt, "/timer"), "arm,armv8-timer"), 0);
    /* sec-phys, phys, virt, hyp: PPIs 13 14 11 10, level-high, no CPU mask (GICv3). */
    const fdt32_t *irq = cells(b.fdt, "/timer", "interrupts", 12);
    const uint32_t ppi[] = {13, 14, 11, 10};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fdt32_to_cpu(irq[3 * i]), 1);
        assert_int_equal(fdt32_to_cpu(irq[3 * i + 1]), ppi[i]);
        assert_int_equal(fdt32_to_cpu(irq[3 * i + 2]), 4);
    }
    assert_true(has_prop(b.fdt, "/timer", "always-on"));
    free(b.fdt);
}

/* A GICv2 (arm,gic.yaml): distributor + memory-mapped CPU interface, no redistributors. */
static void gic_v2(void **state)
{
    (void)state;
    struct built b = build_gic(2, 3, false, 1);
    const char *p = "/intc@8000000";
    int off = node(b.fdt, p);

    assert_int_equal(fdt_node_check_compatible(b.fdt, off, "arm,cortex-a15-gic"), 0);
    assert_int_not_equal(fdt_node_check_compatible(b.fdt, off, "arm,gic-v3"), 0);
    assert_int_equal(cell(b.fdt, p, "#interrupt-cells"), 3);
    assert_int_equal(cell(b.fdt, p, "#address-cells"), 0);
    assert_true(has_prop(b.fdt, p, "interrupt-controller"));
    const fdt32_t *reg = cells(b.fdt, p, "reg", 8);
    assert_int_equal(u64_at(reg, 0), 0x08000000);
    assert_int_equal(u64_at(reg, 2), 0x1000); /* KVM_VGIC_V2_DIST_SIZE */
    assert_int_equal(u64_at(reg, 4), 0x08010000);
    assert_int_equal(u64_at(reg, 6), 0x2000); /* KVM_VGIC_V2_CPU_SIZE: GICC_DIR included */
    assert_int_equal(cell(b.fdt, "/", "interrupt-parent"), fdt_get_phandle(b.fdt, off));

    /* SPIs read the same on both versions: the UART level-high, virtio edge-rising. */
    assert_irq(b.fdt, "/pl011@9000000", 0, PL011_SPI, 4);
    assert_irq(b.fdt, "/virtio_mmio@a000000", 0, VIRTIO_SPI_FIRST, 1);
    free(b.fdt);
}

/* On a GICv2 each timer PPI carries the mask of the CPUs it is wired to, bits [15:8]. */
static void timer_v2_cpu_masks(void **state)
{
    (void)state;
    const struct {
        unsigned ncpus;
        uint32_t flags;
    } cases[] = {{1, 0x0104}, {2, 0x0304}, {5, 0x1f04}, {8, 0xff04}};
    const uint32_t ppi[] = {13, 14, 11, 10};

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct built b = build_gic(2, cases[c].ncpus, false, 0);
        const fdt32_t *irq = cells(b.fdt, "/timer", "interrupts", 12);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(fdt32_to_cpu(irq[3 * i]), 1);
            assert_int_equal(fdt32_to_cpu(irq[3 * i + 1]), ppi[i]);
            assert_int_equal(fdt32_to_cpu(irq[3 * i + 2]), cases[c].flags);
        }
        free(b.fdt);
    }
    /* An explicit 3 is the default's tree: no masks. */
    struct built b = build_gic(3, 2, false, 0);
    assert_int_equal(fdt32_to_cpu(cells(b.fdt, "/timer", "interrupts", 12)[2]), 4);
    free(b.fdt);
}

static void pl011_and_clock(void **state)
{
    (void)state;
    struct built b = build(1, false, 0);
    const char *p = "/pl011@9000000";
    int off = node(b.fdt, p);

    assert_int_equal(fdt_stringlist_search(b.fdt, off, "compatible", "arm,pl011"), 0);
    assert_int_equal(fdt_stringlist_search(b.fdt, off, "compatible", "arm,primecell"), 1);
    const fdt32_t *reg = cells(b.fdt, p, "reg", 4);
    assert_int_equal(u64_at(reg, 0), PL011_BASE);
    assert_int_equal(u64_at(reg, 2), PL011_SIZE);
    assert_irq(b.fdt, p, 0, PL011_SPI, 4);

    /* Both clocks point at the fixed 24 MHz clock. */
    uint32_t clk = fdt_get_phandle(b.fdt, node(b.fdt, "/apb-pclk"));
    assert_int_not_equal(clk, 0);
    const fdt32_t *clocks = cells(b.fdt, p, "clocks", 2);
    assert_int_equal(fdt32_to_cpu(clocks[0]), clk);
    assert_int_equal(fdt32_to_cpu(clocks[1]), clk);
    assert_int_equal(fdt_stringlist_search(b.fdt, off, "clock-names", "uartclk"), 0);
    assert_int_equal(fdt_stringlist_search(b.fdt, off, "clock-names", "apb_pclk"), 1);
    assert_int_equal(cell(b.fdt, "/apb-pclk", "clock-frequency"), 24000000);
    assert_int_equal(cell(b.fdt, "/apb-pclk", "#clock-cells"), 0);
    assert_int_equal(fdt_node_check_compatible(b.fdt, node(b.fdt, "/apb-pclk"), "fixed-clock"), 0);
    free(b.fdt);
}

static void chosen(void **state)
{
    (void)state;
    struct built b = build(1, true, 0);

    assert_string_equal(string(b.fdt, "/chosen", "bootargs"), BOOTARGS);
    assert_string_equal(string(b.fdt, "/chosen", "stdout-path"), "/pl011@9000000");
    /* stdout-path must lead somewhere. */
    node(b.fdt, string(b.fdt, "/chosen", "stdout-path"));
    assert_int_equal(u64_at(cells(b.fdt, "/chosen", "linux,initrd-start", 2), 0), INITRD_START);
    assert_int_equal(u64_at(cells(b.fdt, "/chosen", "linux,initrd-end", 2), 0), INITRD_END);
    free(b.fdt);

    b = build(1, false, 0);
    assert_false(has_prop(b.fdt, "/chosen", "linux,initrd-start"));
    assert_false(has_prop(b.fdt, "/chosen", "linux,initrd-end"));
    free(b.fdt);

    /* An explicit stdout-path, and no bootargs. */
    struct devicetree_config cfg = {.ram_base = RAM_BASE,
                                    .ram_size = RAM_SIZE,
                                    .ncpus = 1,
                                    .stdout_path = "/virtio_mmio@a000000"};
    assert_int_equal(devicetree_build(&cfg, &b.fdt, &b.size), 0);
    assert_string_equal(string(b.fdt, "/chosen", "stdout-path"), "/virtio_mmio@a000000");
    assert_false(has_prop(b.fdt, "/chosen", "bootargs"));
    free(b.fdt);
}

/* /chosen/rng-seed: the bytes given, as a byte string; none without them. */
static void rng_seed(void **state)
{
    (void)state;
    uint8_t seed[DEVICETREE_RNG_SEED_SIZE];
    struct devicetree_config cfg = {.ram_base = RAM_BASE, .ram_size = RAM_SIZE, .ncpus = 1};
    void *fdt;
    size_t size;
    int len;

    assert_int_equal(devicetree_rng_seed(seed), DEVICETREE_RNG_SEED_SIZE);
    cfg.rng_seed = seed;
    cfg.rng_seed_len = sizeof(seed);
    assert_int_equal(devicetree_build(&cfg, &fdt, &size), 0);
    const void *p = fdt_getprop(fdt, node(fdt, "/chosen"), "rng-seed", &len);
    assert_non_null(p);
    assert_int_equal(len, DEVICETREE_RNG_SEED_SIZE);
    assert_memory_equal(p, seed, sizeof(seed));
    free(fdt);

    /* Two seeds are not the same (a 2^-512 chance of a false alarm). */
    uint8_t other[DEVICETREE_RNG_SEED_SIZE];
    assert_int_equal(devicetree_rng_seed(other), DEVICETREE_RNG_SEED_SIZE);
    assert_memory_not_equal(seed, other, sizeof(seed));

    cfg.rng_seed_len = 0;
    assert_int_equal(devicetree_build(&cfg, &fdt, &size), 0);
    assert_false(has_prop(fdt, "/chosen", "rng-seed"));
    free(fdt);
}

/* The kernel keeps 2047 bytes of bootargs: one more is refused, not cut off. */
static void bootargs_longer_than_the_kernel_keeps(void **state)
{
    (void)state;
    char longest[DEVICETREE_BOOTARGS_MAX + 2];
    memset(longest, 'x', sizeof(longest) - 1);
    longest[DEVICETREE_BOOTARGS_MAX] = 0;
    struct devicetree_config cfg = {
        .ram_base = RAM_BASE, .ram_size = RAM_SIZE, .ncpus = 1, .bootargs = longest};
    void *fdt;
    size_t size;

    assert_int_equal(devicetree_build(&cfg, &fdt, &size), 0);
    assert_int_equal(strlen(string(fdt, "/chosen", "bootargs")), DEVICETREE_BOOTARGS_MAX);
    free(fdt);

    longest[DEVICETREE_BOOTARGS_MAX] = 'x';
    longest[DEVICETREE_BOOTARGS_MAX + 1] = 0;
    assert_int_equal(devicetree_build(&cfg, &fdt, &size), -E2BIG);
}

static void virtio_nodes(void **state)
{
    (void)state;
    struct built b = build(2, true, 3);
    const char *paths[] = {"/virtio_mmio@a000000", "/virtio_mmio@a000200", "/virtio_mmio@a000400"};

    for (unsigned i = 0; i < 3; i++) {
        int off = node(b.fdt, paths[i]);
        assert_int_equal(fdt_node_check_compatible(b.fdt, off, "virtio,mmio"), 0);
        const fdt32_t *reg = cells(b.fdt, paths[i], "reg", 4);
        assert_int_equal(u64_at(reg, 0), VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE);
        assert_int_equal(u64_at(reg, 2), VIRTIO_MMIO_SIZE);
        assert_irq(b.fdt, paths[i], 0, VIRTIO_SPI_FIRST + i, 1); /* edge rising */
        assert_true(has_prop(b.fdt, paths[i], "dma-coherent"));
    }
    assert_true(fdt_path_offset(b.fdt, "/virtio_mmio@a000600") < 0);
    free(b.fdt);
}

static void all_devices_still_small(void **state)
{
    (void)state;
    struct built b = build(DEVICETREE_MAX_CPUS, true, VIRTIO_MMIO_COUNT);
    assert_int_equal(count_cpus(b.fdt), DEVICETREE_MAX_CPUS);
    assert_true(b.size > 16 * 1024); /* bigger than the first buffer: it grew */
    free(b.fdt);
}

static void bad_configs(void **state)
{
    (void)state;
    struct devicetree_device bogus = {.type = 99, .base = 0x1000, .size = 0x100};
    struct devicetree_config good = {.ram_base = RAM_BASE, .ram_size = RAM_SIZE, .ncpus = 1};
    struct devicetree_config cfg;
    void *blob;
    size_t size;

    cfg = good;
    cfg.ncpus = 0;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    assert_null(blob);
    cfg.ncpus = DEVICETREE_MAX_CPUS + 1;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    /* A GICv2 serves 8 CPUs; versions other than 2 and 3 (or 0, the default) do not exist. */
    cfg.gic_version = 2;
    cfg.ncpus = DEVICETREE_MAX_CPUS_GICV2 + 1;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    cfg.ncpus = DEVICETREE_MAX_CPUS_GICV2;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), 0);
    free(blob);
    cfg.ncpus = 1;
    cfg.gic_version = 4;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    cfg.gic_version = 1;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    cfg = good;
    cfg.ram_size = 0;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    cfg = good;
    cfg.initrd_start = INITRD_END;
    cfg.initrd_end = INITRD_START;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    cfg = good;
    cfg.devices = &bogus;
    cfg.ndevices = 1;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
    cfg.devices = NULL;
    assert_int_equal(devicetree_build(&cfg, &blob, &size), -EINVAL);
}

/* A function in the style of devicetree.c, to see FDT_TRY fail. */
static int two_nodes(void *fdt, int len)
{
    FDT_TRY(fdt_create(fdt, len));
    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_string(fdt, "model", "a rather long model name to fill the buffer"));
    FDT_TRY(fdt_end_node(fdt));
    FDT_TRY(fdt_finish(fdt));
    return 0;
}

static void fdt_try_records_the_failure(void **state)
{
    (void)state;
    char buf[4096];

    fdt_helpers_clear();
    assert_string_equal(fdt_helpers_last_error(), "no libfdt error");
    assert_int_equal(two_nodes(buf, sizeof(buf)), 0);
    assert_string_equal(fdt_helpers_last_error(), "no libfdt error");

    /* Too small: NOSPACE becomes -ENOSPC, and the message names the call. */
    assert_int_equal(two_nodes(buf, 90), -ENOSPC);
    const char *msg = fdt_helpers_last_error();
    assert_non_null(strstr(msg, "fdt_property_string(fdt, \"model\""));
    assert_non_null(strstr(msg, "FDT_ERR_NOSPACE"));
    assert_non_null(strstr(msg, "test_devicetree.c:"));

    /* The first failure is kept until cleared. */
    assert_int_equal(fdt_helpers_fail(-FDT_ERR_BADSTATE, "later", "x.c", 1), -EINVAL);
    assert_non_null(strstr(fdt_helpers_last_error(), "FDT_ERR_NOSPACE"));
    fdt_helpers_clear();
    assert_int_equal(fdt_helpers_fail(-FDT_ERR_BADSTATE, "later()", "dir/x.c", 7), -EINVAL);
    assert_string_equal(fdt_helpers_last_error(), "later(): FDT_ERR_BADSTATE (x.c:7)");
    fdt_helpers_clear();

    assert_int_equal(fdt_helpers_errno(0), 0);
    assert_int_equal(fdt_helpers_errno(5), 0);
    assert_int_equal(fdt_helpers_errno(-FDT_ERR_NOSPACE), -ENOSPC);
    assert_int_equal(fdt_helpers_errno(-FDT_ERR_NOTFOUND), -EINVAL);
}

static void dump_and_decompile(void **state)
{
    (void)state;
    struct built b = build(2, true, 2);
    char path[] = "/tmp/god-test-dtb-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);

    assert_int_equal(devicetree_write_file(b.fdt, b.size, path), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *back = malloc(b.size + 1);
    assert_non_null(back);
    assert_int_equal(fread(back, 1, b.size + 1, f), b.size);
    fclose(f);
    assert_memory_equal(back, b.fdt, b.size);
    free(back);

    /* dtc (installed with the tests' packages) must turn it back into source. */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts -o - %s | grep -q 'linux,dummy-virt'", path);
    assert_int_equal(system(cmd), 0);
    unlink(path);
    free(b.fdt);

    assert_int_equal(devicetree_write_file("x", 1, "/nonexistent-dir/guest.dtb"), -ENOENT);
}

/*
 * The tree as dtc decompiles it, one node at a time: the text a learner
 * sees with `dtc -I dtb -O dts`, for both GIC versions. Returns the
 * node's block ("\tname {" up to its "\t};"), malloc'd.
 */
static char *decompiled_node(const struct built *b, const char *name)
{
    char path[] = "/tmp/god-test-dtb-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(devicetree_write_file(b->fdt, b->size, path), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts -o - %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char dts[64 * 1024];
    size_t n = fread(dts, 1, sizeof(dts) - 1, p);
    dts[n] = '\0';
    assert_int_equal(pclose(p), 0);
    unlink(path);

    char start[64];
    snprintf(start, sizeof(start), "\n\t%s {\n", name);
    char *from = strstr(dts, start);
    if (!from)
        fail_msg("dtc output has no node %s", name);
    char *to = strstr(from, "\n\t};\n");
    assert_non_null(to);
    return strndup(from, (size_t)(to - from) + 5);
}

static void assert_has_line(const char *block, const char *line)
{
    if (!strstr(block, line))
        fail_msg("expected \"%s\" in:%s", line, block);
}

static void decompiled_gic_and_timer_nodes(void **state)
{
    (void)state;
    /* GICv3, 2 vCPUs: distributor + 2 x 128 KiB of redistributors; timer flags 4. */
    struct built b = build_gic(3, 2, false, 0);
    char *gic = decompiled_node(&b, "intc@8000000");
    assert_has_line(gic, "\t\tcompatible = \"arm,gic-v3\";\n");
    assert_has_line(gic, "\t\treg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000>;\n");
    assert_has_line(gic, "\t\t#interrupt-cells = <0x03>;\n");
    assert_has_line(gic, "\t\tinterrupt-controller;\n");
    char *timer = decompiled_node(&b, "timer");
    assert_has_line(timer, "\t\tinterrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 "
                           "0x01 0x0a 0x04>;\n");
    free(gic);
    free(timer);
    free(b.fdt);

    /* GICv2, 2 vCPUs: distributor + CPU interface; timer PPIs wired to CPUs 0 and 1. */
    b = build_gic(2, 2, false, 1);
    gic = decompiled_node(&b, "intc@8000000");
    assert_has_line(gic, "\t\tcompatible = \"arm,cortex-a15-gic\";\n");
    assert_has_line(gic, "\t\treg = <0x00 0x8000000 0x00 0x1000 0x00 0x8010000 0x00 0x2000>;\n");
    assert_has_line(gic, "\t\t#interrupt-cells = <0x03>;\n");
    assert_has_line(gic, "\t\tinterrupt-controller;\n");
    assert_null(strstr(gic, "0x80a0000")); /* no redistributors */
    timer = decompiled_node(&b, "timer");
    assert_has_line(timer, "\t\tinterrupts = <0x01 0x0d 0x304 0x01 0x0e 0x304 0x01 0x0b 0x304 "
                           "0x01 0x0a 0x304>;\n");
    char *uart = decompiled_node(&b, "pl011@9000000");
    assert_has_line(uart, "\t\tinterrupts = <0x00 0x01 0x04>;\n");
    free(gic);
    free(timer);
    free(uart);
    free(b.fdt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(root_and_memory),
        cmocka_unit_test(cpus_and_psci),
        cmocka_unit_test(cpus_beyond_sixteen),
        cmocka_unit_test(gic),
        cmocka_unit_test(timer),
        cmocka_unit_test(gic_v2),
        cmocka_unit_test(timer_v2_cpu_masks),
        cmocka_unit_test(pl011_and_clock),
        cmocka_unit_test(chosen),
        cmocka_unit_test(rng_seed),
        cmocka_unit_test(virtio_nodes),
        cmocka_unit_test(all_devices_still_small),
        cmocka_unit_test(bad_configs),
        cmocka_unit_test(bootargs_longer_than_the_kernel_keeps),
        cmocka_unit_test(fdt_try_records_the_failure),
        cmocka_unit_test(dump_and_decompile),
        cmocka_unit_test(decompiled_gic_and_timer_nodes),
    };
    return cmocka_run_group_tests_name("devicetree", tests, NULL, NULL);
}
