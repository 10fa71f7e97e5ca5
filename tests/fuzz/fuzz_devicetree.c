/*
 * fuzz_devicetree.c - libFuzzer target: device tree generation with any
 * command line, RAM, CPUs, initrd and devices (introduced in chapter 7).
 *
 * Besides the sanitizers: a tree that builds passes libfdt's full check
 * (fdt_check_full), and /chosen/bootargs reads back exactly as given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "devicetree.h"
#include "log.h"
#include "memmap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_muted(true);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 24)
        return 0;
    uint64_t ram_size = 0, initrd = 0;
    memcpy(&ram_size, data, 8);
    memcpy(&initrd, data + 8, 8);
    struct devicetree_device devices[1 + VIRTIO_MMIO_COUNT];
    size_t ndevices = data[16] % (2 + VIRTIO_MMIO_COUNT);
    for (size_t i = 0; i < ndevices; i++)
        devices[i] = i == 0 ? devicetree_pl011() : devicetree_virtio_mmio((unsigned)(i - 1));
    uint64_t mpidrs[DEVICETREE_MAX_CPUS];
    for (unsigned i = 0; i < DEVICETREE_MAX_CPUS; i++)
        mpidrs[i] = data[17] & 1 ? devicetree_cpu_mpidr(i) : (uint64_t)i * data[18];

    /* The rest is the command line, NUL-terminated by us. */
    char *bootargs = malloc(size - 24 + 1);
    if (!bootargs)
        return 0;
    memcpy(bootargs, data + 24, size - 24);
    bootargs[size - 24] = 0;

    struct devicetree_config cfg = {
        .ram_base = RAM_BASE,
        .ram_size = ram_size,
        .ncpus = data[19] % (DEVICETREE_MAX_CPUS + 2),
        .gic_version = data[20] % 4,
        .mpidrs = data[17] & 2 ? NULL : mpidrs,
        .bootargs = data[17] & 4 ? NULL : bootargs,
        .initrd_start = initrd & 0xffffffff,
        .initrd_end = initrd >> 32,
        .devices = devices,
        .ndevices = ndevices,
    };
    void *blob;
    size_t len;
    if (devicetree_build(&cfg, &blob, &len) == 0) {
        if (fdt_check_full(blob, len) != 0)
            abort();
        if (cfg.bootargs) {
            int node = fdt_path_offset(blob, "/chosen"), plen;
            const char *got = fdt_getprop(blob, node, "bootargs", &plen);
            if (!got || strcmp(got, bootargs) != 0)
                abort();
        }
        free(blob);
    }
    free(bootargs);
    return 0;
}
