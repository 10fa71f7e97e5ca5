/*
 * devicetree.h - the device tree that tells the guest kernel what hardware it
 * has (introduced in chapter 7).
 *
 * Linux on arm64 does not probe for hardware: the boot loader hands it a
 * flattened device tree (a DTB) whose address is in x0 at entry
 * (booting.rst). The tree says where RAM is, how many CPUs there are and how
 * to start them (PSCI), where the interrupt controller and each device live
 * and which interrupt each one raises. Each node follows a binding, a schema
 * in the kernel's Documentation/devicetree/bindings/; devicetree.c cites the
 * one it follows for every property.
 *
 * The tree mirrors memmap.h. To see what we generate:
 *
 *     devicetree_write_file(blob, size, "guest.dtb");   (god --dump-dtb)
 *     dtc -I dtb -O dts guest.dtb
 */
#ifndef GOD_DEVICETREE_H
#define GOD_DEVICETREE_H

#include <stddef.h>
#include <stdint.h>

enum devicetree_device_type {
    DEVICETREE_PL011,       /* an "arm,pl011" UART */
    DEVICETREE_VIRTIO_MMIO, /* a "virtio,mmio" transport window (chapter 8) */
};

struct devicetree_device {
    enum devicetree_device_type type;
    uint64_t base, size; /* its MMIO window */
    unsigned spi;        /* its interrupt, as an SPI number (INTID - 32) */
};

struct devicetree_config {
    uint64_t ram_base, ram_size;
    unsigned ncpus; /* 1 .. DEVICETREE_MAX_CPUS (DEVICETREE_MAX_CPUS_GICV2 on a GICv2) */
    /*
     * The GIC the VMM created (common/gic.c): 3 or 2. 0 means 3. The GIC
     * node and the timer's PPI flags follow it.
     */
    unsigned gic_version;
    /*
     * Each vCPU's MPIDR_EL1 affinity (read it with KVM_GET_ONE_REG), or NULL
     * for what KVM assigns by default: devicetree_cpu_mpidr().
     */
    const uint64_t *mpidrs;
    const char *bootargs; /* the kernel command line; NULL for none */
    /* [initrd_start, initrd_end) in guest RAM; both 0 when there is none. */
    uint64_t initrd_start, initrd_end;
    /*
     * Entropy for the kernel's random number generator (/chosen/rng-seed),
     * e.g. from devicetree_rng_seed(); rng_seed_len 0 for none.
     */
    const uint8_t *rng_seed;
    size_t rng_seed_len;
    /* The console path for /chosen, e.g. "/pl011@9000000"; NULL: the first PL011. */
    const char *stdout_path;
    const struct devicetree_device *devices;
    size_t ndevices;
};

/*
 * The longest command line the kernel keeps: it copies /chosen/bootargs
 * into a COMMAND_LINE_SIZE buffer (2048 on arm64:
 * arch/arm64/include/uapi/asm/setup.h, drivers/of/fdt.c) and drops the rest
 * without a word, so we refuse longer ones instead.
 */
#define DEVICETREE_BOOTARGS_MAX 2047

/* The redistributor region of memmap.h has room for this many vCPUs. */
#define DEVICETREE_MAX_CPUS       123
/* A GICv2 serves at most 8 CPUs (its PPI CPU masks have 8 bits). */
#define DEVICETREE_MAX_CPUS_GICV2 8

/*
 * Fill seed[0 .. DEVICETREE_RNG_SEED_SIZE) from the host's random pool
 * (getrandom(2), never blocking). Returns the bytes filled: the size, or 0
 * when the host has none to give yet (then boot without a seed).
 */
#define DEVICETREE_RNG_SEED_SIZE 64
size_t devicetree_rng_seed(uint8_t *seed);

/* The devices of memmap.h, ready to list in devicetree_config.devices. */
struct devicetree_device devicetree_pl011(void);
struct devicetree_device devicetree_virtio_mmio(unsigned index); /* index < VIRTIO_MMIO_COUNT */

/*
 * The MPIDR affinity KVM gives vCPU n unless told otherwise: Aff0 = n % 16,
 * Aff1 = (n / 16) % 256, Aff2 = (n / 4096) % 256. Sixteen CPUs per Aff0
 * group because a GICv3 SGI addresses at most 16 CPUs of one group.
 */
uint64_t devicetree_cpu_mpidr(unsigned n);

/*
 * Build the DTB. On success *blob is a malloc'd flattened tree (free() it)
 * of *size bytes, at most 2 MiB (the arm64 limit). Errors: -EINVAL (bad
 * config: no CPUs or too many for the GIC, a GIC version other than 0, 2 or 3, RAM size 0,
 * initrd_end < initrd_start, an unknown device type, or a libfdt error: fdt_helpers_last_error()
 * says which call failed), -E2BIG (bootargs longer than DEVICETREE_BOOTARGS_MAX, or a tree
 * larger than 2 MiB), -ENOMEM.
 */
int devicetree_build(const struct devicetree_config *cfg, void **blob, size_t *size);

/* Write a DTB to a file (for --dump-dtb). Returns 0 or -errno. */
int devicetree_write_file(const void *blob, size_t size, const char *path);

#endif
