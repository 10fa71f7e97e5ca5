/*
 * devicetree.c - generate the guest's device tree with libfdt (introduced in
 * chapter 7).
 *
 * libfdt's sequential-write API builds the blob front to back, exactly in the
 * order of the source it would decompile to: fdt_begin_node(), its
 * properties, its child nodes, fdt_end_node(). One function per node below,
 * in the order they appear in the tree:
 *
 *   /                 dt_root()      the board
 *     chosen          dt_chosen()    command line, console, initrd
 *     memory@...      dt_memory()    guest RAM
 *     cpus/cpu@...    dt_cpus()      the vCPUs
 *     psci            dt_psci()      how to start and stop them
 *     intc@8000000    dt_gic()       the GIC: v3, or v2
 *     timer           dt_timer()     the architected timer
 *     apb-pclk        dt_apb_pclk()  the clock the PL011 asks for
 *     pl011@9000000   dt_pl011()     the UART
 *     virtio_mmio@... dt_virtio()    chapter 8's devices
 *
 * The bindings cited are in the kernel's Documentation/devicetree/bindings/
 * and in the Devicetree Specification (devicetree.org, "DTSpec").
 *
 * Cells: every number in a device tree is a big-endian 32-bit "cell";
 * cpu_to_fdt32()/cpu_to_fdt64() do the byte swapping. The root's
 * #address-cells = 2 and #size-cells = 2 make every reg below an (address,
 * size) pair of 64-bit numbers.
 */
#include "devicetree.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "fdt_helpers.h"
#include "memmap.h"

/* A DTB for arm64 must not exceed 2 MiB (booting.rst). */
#define DTB_MAX_SIZE  (2u << 20)
/* Ours is about 2 KiB; start with room to spare and double on FDT_ERR_NOSPACE. */
#define DTB_FIRST_TRY (16u << 10)

/* Phandles: the numbers by which one node points at another. Any unique, nonzero values. */
enum {
    PHANDLE_GIC = 1,
    PHANDLE_APB_PCLK = 2,
};

/*
 * The interrupt specifier of the arm,gic-v3 and arm,gic (v2) bindings
 * (#interrupt-cells = 3 in both): <type number flags>. type: 0 = SPI,
 * 1 = PPI. number: counted from the start of its type (SPI 1 is INTID 33,
 * PPI 14 is INTID 30). flags: the trigger in bits [3:0], IRQ_TYPE_* of
 * include/dt-bindings/interrupt-controller/irq.h; on a GICv2 only, bits
 * [15:8] of a PPI's flags say which CPUs the PPI is wired to
 * (GIC_CPU_MASK_SIMPLE of include/dt-bindings/interrupt-controller/arm-gic.h).
 */
#define GIC_SPI                      0
#define GIC_PPI                      1
#define IRQ_TYPE_EDGE_RISING         1
#define IRQ_TYPE_LEVEL_HIGH          4
#define GIC_CPU_MASK_SIMPLE(nr_cpus) ((((1u << (nr_cpus)) - 1) & 0xff) << 8)

/* PSCI 0.2 function IDs, SMC64 calling convention (Arm DEN 0022). */
#define PSCI_0_2_FN64_CPU_SUSPEND 0xc4000001u
#define PSCI_0_2_FN_CPU_OFF       0x84000002u
#define PSCI_0_2_FN64_CPU_ON      0xc4000003u
#define PSCI_0_2_FN64_MIGRATE     0xc4000005u

/* The PL011's clock. 24 MHz: what QEMU's virt board and most examples use. */
#define APB_PCLK_HZ 24000000u

/*
 * String lists ("a", "b") are the strings back to back, each with its NUL:
 * write them as one C literal with \0 between, and pass sizeof, which counts
 * the final NUL too.
 */
#define FDT_STRINGS(fdt, name, list) fdt_property((fdt), (name), (list), sizeof(list))

/* reg = <address size>, two cells each. */
static int dt_reg(void *fdt, uint64_t base, uint64_t size)
{
    fdt64_t reg[] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};
    FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
    return 0;
}

/* One interrupt specifier of the arm,gic-v3 binding. */
static int dt_interrupt(void *fdt, uint32_t type, uint32_t number, uint32_t flags)
{
    fdt32_t irq[] = {cpu_to_fdt32(type), cpu_to_fdt32(number), cpu_to_fdt32(flags)};
    FDT_TRY(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
    return 0;
}

/* The "/pl011@9000000" form of a node name: unit address in lowercase hex, no 0x. */
static void node_name(char *buf, size_t len, const char *prefix, uint64_t address)
{
    snprintf(buf, len, "%s@%llx", prefix, (unsigned long long)address);
}

uint64_t devicetree_cpu_mpidr(unsigned n)
{
    /*
     * KVM's reset value of MPIDR_EL1 (arch/arm64/kvm/sys_regs.c,
     * reset_mpidr()): 16 vCPUs per Aff0 group, since a GICv3 SGI names its
     * targets with a 16-bit list per Aff1.Aff2.Aff3 group.
     */
    return (uint64_t)(n & 0xf) | (uint64_t)((n >> 4) & 0xff) << 8 |
           (uint64_t)((n >> 12) & 0xff) << 16;
}

size_t devicetree_rng_seed(uint8_t *seed)
{
    /* A short read cannot happen for 64 bytes (getrandom(2)); anything but all of it is none. */
    ssize_t n = getrandom(seed, DEVICETREE_RNG_SEED_SIZE, GRND_NONBLOCK);
    return n == DEVICETREE_RNG_SEED_SIZE ? DEVICETREE_RNG_SEED_SIZE : 0;
}

struct devicetree_device devicetree_pl011(void)
{
    return (struct devicetree_device){
        .type = DEVICETREE_PL011, .base = PL011_BASE, .size = PL011_SIZE, .spi = PL011_SPI};
}

struct devicetree_device devicetree_virtio_mmio(unsigned index)
{
    return (struct devicetree_device){.type = DEVICETREE_VIRTIO_MMIO,
                                      .base = VIRTIO_MMIO_BASE + index * VIRTIO_MMIO_SIZE,
                                      .size = VIRTIO_MMIO_SIZE,
                                      .spi = VIRTIO_SPI_FIRST + index};
}

/* The root node's own properties (DTSpec 3.2, "Root node"). */
static int dt_root(void *fdt)
{
    /*
     * model is free text; Linux prints it ("Machine model: ..."). compatible
     * names the board: "linux,dummy-virt" is what QEMU's virt board says, and
     * means "nothing board-specific, everything is in the tree".
     */
    FDT_TRY(fdt_property_string(fdt, "model", "god KVM guest"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
    /* 64-bit addresses and sizes in every reg of the root's children. */
    FDT_TRY(fdt_property_cell(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_cell(fdt, "#size-cells", 2));
    /*
     * Interrupts are inherited down the tree (DTSpec 2.4): saying it once
     * here makes the GIC the parent of every device's "interrupts".
     */
    FDT_TRY(fdt_property_cell(fdt, "interrupt-parent", PHANDLE_GIC));
    return 0;
}

/* /chosen: the boot loader's parameters (DTSpec 3.6, dt-schema chosen.yaml). */
static int dt_chosen(void *fdt, const struct devicetree_config *cfg, const char *stdout_path)
{
    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    /* The kernel command line. */
    if (cfg->bootargs)
        FDT_TRY(fdt_property_string(fdt, "bootargs", cfg->bootargs));
    /*
     * The console: where `earlycon` with no argument writes from the first
     * instruction of C, and the default console= when there is none.
     */
    if (stdout_path)
        FDT_TRY(fdt_property_string(fdt, "stdout-path", stdout_path));
    /*
     * Entropy for the kernel's random number generator, from the host's.
     * Linux mixes it in before anything else runs (early_init_dt_scan_chosen()
     * in drivers/of/fdt.c) and, with CONFIG_RANDOM_TRUST_BOOTLOADER, counts
     * it: 256 bits make its CRNG ready at once. Without them it stays
     * unseeded for the whole boot and every refill of random bytes asks the
     * "firmware" for more: an SMCCC TRNG call, an HVC exit to KVM, two per
     * refill (1219 of them in chapter 8's boot and 15 s at the prompt).
     */
    if (cfg->rng_seed && cfg->rng_seed_len)
        FDT_TRY(fdt_property(fdt, "rng-seed", cfg->rng_seed, (int)cfg->rng_seed_len));
    /*
     * The initrd: its start and end (exclusive) physical addresses. The
     * kernel accepts one or two cells; 64-bit values always fit.
     */
    if (cfg->initrd_end > cfg->initrd_start) {
        FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", cfg->initrd_start));
        FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end", cfg->initrd_end));
    }
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /memory@40000000: guest RAM (DTSpec 3.4). */
static int dt_memory(void *fdt, const struct devicetree_config *cfg)
{
    char name[32];
    node_name(name, sizeof(name), "memory", cfg->ram_base);
    FDT_TRY(fdt_begin_node(fdt, name));
    /* Required: this is how Linux tells RAM nodes from the others. */
    FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
    int err = dt_reg(fdt, cfg->ram_base, cfg->ram_size);
    if (err)
        return err;
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /cpus and one cpu@N per vCPU (DTSpec 3.7, bindings/arm/cpus.yaml). */
static int dt_cpus(void *fdt, const struct devicetree_config *cfg)
{
    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    /* A CPU's reg is its MPIDR affinity: one cell, and no size (cpus.yaml). */
    FDT_TRY(fdt_property_cell(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_cell(fdt, "#size-cells", 0));

    for (unsigned i = 0; i < cfg->ncpus; i++) {
        uint64_t mpidr = cfg->mpidrs ? cfg->mpidrs[i] : devicetree_cpu_mpidr(i);
        /*
         * cpus.yaml: with #address-cells = 1, reg is bits [23:0] of
         * MPIDR_EL1, the affinity fields Aff2..Aff0 (Aff3 would need a
         * second cell; KVM never sets it), and the unit address repeats
         * reg: cpu@0 .. cpu@f, then cpu@100 for the 17th vCPU.
         */
        uint32_t reg = (uint32_t)(mpidr & 0xffffff);
        char name[32];
        node_name(name, sizeof(name), "cpu", reg);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        /* Any ARMv8 CPU: KVM gives the guest the host's CPU type. */
        FDT_TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
        /* Secondary CPUs are started with a PSCI CPU_ON call (see dt_psci). */
        FDT_TRY(fdt_property_string(fdt, "enable-method", "psci"));
        FDT_TRY(fdt_property_cell(fdt, "reg", reg));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /psci: the firmware interface for CPU power (bindings/arm/psci.yaml). */
static int dt_psci(void *fdt)
{
    FDT_TRY(fdt_begin_node(fdt, "psci"));
    /*
     * KVM implements PSCI 0.2 and later itself (KVM_ARM_VCPU_PSCI_0_2).
     * "arm,psci" after it lets a kernel that only knows PSCI 0.1 use the
     * function IDs below; psci.yaml allows exactly this pair.
     */
    FDT_TRY(FDT_STRINGS(fdt, "compatible", "arm,psci-0.2\0arm,psci"));
    /* The conduit: an HVC instruction, which traps to KVM, not SMC to EL3. */
    FDT_TRY(fdt_property_string(fdt, "method", "hvc"));
    /* Only read by PSCI 0.1 kernels ("should be ignored" for 0.2 on, psci.yaml). */
    FDT_TRY(fdt_property_cell(fdt, "cpu_suspend", PSCI_0_2_FN64_CPU_SUSPEND));
    FDT_TRY(fdt_property_cell(fdt, "cpu_off", PSCI_0_2_FN_CPU_OFF));
    FDT_TRY(fdt_property_cell(fdt, "cpu_on", PSCI_0_2_FN64_CPU_ON));
    FDT_TRY(fdt_property_cell(fdt, "migrate", PSCI_0_2_FN64_MIGRATE));
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /intc@8000000: the GICv3 (bindings/interrupt-controller/arm,gic-v3.yaml) or GICv2 (arm,gic.yaml).
 */
static int dt_gic(void *fdt, const struct devicetree_config *cfg)
{
    char name[32];
    node_name(name, sizeof(name), "intc", GIC_DIST_BASE);
    FDT_TRY(fdt_begin_node(fdt, name));
    /*
     * A GICv2: "arm,cortex-a15-gic", the first GICv2 with virtualization
     * support, which is what KVM's vGICv2 models (QEMU's virt board says the
     * same); Linux's GICv2 driver matches it like "arm,gic-400".
     */
    FDT_TRY(fdt_property_string(fdt, "compatible",
                                cfg->gic_version == 2 ? "arm,cortex-a15-gic" : "arm,gic-v3"));
    /* <type number flags>: see GIC_SPI/GIC_PPI above. */
    FDT_TRY(fdt_property_cell(fdt, "#interrupt-cells", 3));
    /* An empty property: "I am an interrupt controller". */
    FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    /*
     * How many cells of a child's unit address an interrupt-map that points
     * here would carry (DTSpec 2.4.3.1): none, nothing maps to us. dtc warns
     * about an interrupt controller without it.
     */
    FDT_TRY(fdt_property_cell(fdt, "#address-cells", 0));
    if (cfg->gic_version == 2) {
        /*
         * reg: the distributor, then the CPU interface (GICC): a GICv2's
         * CPU interface is memory-mapped, and the guest's GIC driver reads
         * its address here. Sizes are what KVM emulates: 4 KiB and 8 KiB.
         * No third and fourth regions (GICH, GICV): those are for a
         * hypervisor, and the guest is not one.
         */
        fdt64_t reg[] = {
            cpu_to_fdt64(GIC_DIST_BASE),
            cpu_to_fdt64(GIC_V2_DIST_SIZE),
            cpu_to_fdt64(GIC_CPU_BASE),
            cpu_to_fdt64(GIC_CPU_SIZE),
        };
        FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
    } else {
        /*
         * reg: the distributor (GICD), then the redistributors (GICR), one
         * 128 KiB pair of frames per vCPU, all in one contiguous region. One
         * region needs no #redistributor-regions (required only for
         * several). No GICC/GICH/GICV: KVM's GICv3 offers only the
         * system-register interface, which has no MMIO to describe.
         */
        fdt64_t reg[] = {
            cpu_to_fdt64(GIC_DIST_BASE),
            cpu_to_fdt64(GIC_DIST_SIZE),
            cpu_to_fdt64(GIC_REDIST_BASE),
            cpu_to_fdt64((uint64_t)cfg->ncpus * GIC_REDIST_SIZE_EACH),
        };
        FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
    }
    /* Our interrupt-parent (see dt_root) points here. */
    FDT_TRY(fdt_property_cell(fdt, "phandle", PHANDLE_GIC));
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /timer: the architected generic timer (bindings/timer/arm,arch_timer.yaml). */
static int dt_timer(void *fdt, const struct devicetree_config *cfg)
{
    FDT_TRY(fdt_begin_node(fdt, "timer"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
    /*
     * The four per-CPU timer interrupts, in the binding's order: secure
     * physical, non-secure physical, virtual, hypervisor physical. They are
     * PPIs (memmap.h has their INTIDs, 29 30 27 26; the binding wants PPI
     * numbers, 13 14 11 10).
     *
     * The flags cell: the timer's output is a level-sensitive signal that is
     * high while the timer condition holds, so IRQ_TYPE_LEVEL_HIGH (QEMU's
     * virt board says the same). Many device trees (kvmtool's too) say
     * IRQ_TYPE_LEVEL_LOW, and GICv2 ones add a CPU mask in bits [15:8]:
     * that mask belongs to the GICv2 binding (arm,gic.yaml). The GICv3
     * binding defines only bits [3:0] of the flags, 1 = edge and 4 = level,
     * since a GICv3 has no such mask (a PPI simply belongs to the CPU whose
     * redistributor has it): the mask bits must be 0. Linux accepts
     * level-low for a PPI too, but the GIC itself only knows "level" or
     * "edge", so level-high is the honest value.
     *
     * On a GICv2 we do add the mask: every vCPU has its timer wired to its
     * own CPU interface, so the PPI goes to CPUs 0 .. ncpus-1
     * (GIC_CPU_MASK_SIMPLE(ncpus), as QEMU's virt board writes it).
     */
    uint32_t flags = IRQ_TYPE_LEVEL_HIGH;
    if (cfg->gic_version == 2)
        flags |= GIC_CPU_MASK_SIMPLE(cfg->ncpus);
    const uint32_t ppi[] = {
        TIMER_PPI_SEC_PHYS - PPI_INTID_BASE,
        TIMER_PPI_PHYS - PPI_INTID_BASE,
        TIMER_PPI_VIRT - PPI_INTID_BASE,
        TIMER_PPI_HYP - PPI_INTID_BASE,
    };
    fdt32_t irqs[3 * 4];
    for (unsigned i = 0; i < 4; i++) {
        irqs[3 * i + 0] = cpu_to_fdt32(GIC_PPI);
        irqs[3 * i + 1] = cpu_to_fdt32(ppi[i]);
        irqs[3 * i + 2] = cpu_to_fdt32(flags);
    }
    FDT_TRY(fdt_property(fdt, "interrupts", irqs, sizeof(irqs)));
    /*
     * The timer keeps counting in every CPU idle state (there are none in a
     * VM), so Linux needs no broadcast timer to wake idle CPUs.
     */
    FDT_TRY(fdt_property(fdt, "always-on", NULL, 0));
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /apb-pclk: a fixed clock for the PL011 (bindings/clock/fixed-clock.yaml). */
static int dt_apb_pclk(void *fdt)
{
    FDT_TRY(fdt_begin_node(fdt, "apb-pclk"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
    /* A single clock output: a reference to it needs no argument cells. */
    FDT_TRY(fdt_property_cell(fdt, "#clock-cells", 0));
    FDT_TRY(fdt_property_cell(fdt, "clock-frequency", APB_PCLK_HZ));
    FDT_TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
    FDT_TRY(fdt_property_cell(fdt, "phandle", PHANDLE_APB_PCLK));
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /pl011@9000000: the UART (bindings/serial/pl011.yaml). */
static int dt_pl011(void *fdt, const struct devicetree_device *dev)
{
    char name[32];
    node_name(name, sizeof(name), "pl011", dev->base);
    FDT_TRY(fdt_begin_node(fdt, name));
    /*
     * "arm,primecell" puts it on Linux's AMBA bus, which reads the PrimeCell
     * ID registers at 0xFE0-0xFFC to pick the driver: our model must answer
     * them (common/pl011.c does).
     */
    FDT_TRY(FDT_STRINGS(fdt, "compatible", "arm,pl011\0arm,primecell"));
    int err = dt_reg(fdt, dev->base, dev->size);
    if (err)
        return err;
    /* An SPI, level-triggered: the UART holds its line while it wants service. */
    err = dt_interrupt(fdt, GIC_SPI, dev->spi, IRQ_TYPE_LEVEL_HIGH);
    if (err)
        return err;
    /*
     * pl011.yaml: first the UARTCLK (baud rate generator), then the APB bus
     * clock (apb_pclk, which the AMBA bus insists on before it reads the ID
     * registers). Our model has no real clock: both are the fixed 24 MHz one.
     */
    fdt32_t clocks[] = {cpu_to_fdt32(PHANDLE_APB_PCLK), cpu_to_fdt32(PHANDLE_APB_PCLK)};
    FDT_TRY(fdt_property(fdt, "clocks", clocks, sizeof(clocks)));
    FDT_TRY(FDT_STRINGS(fdt, "clock-names", "uartclk\0apb_pclk"));
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

/* /virtio_mmio@a000000...: a virtio-mmio transport (bindings/virtio/mmio.yaml). */
static int dt_virtio(void *fdt, const struct devicetree_device *dev)
{
    char name[32];
    node_name(name, sizeof(name), "virtio_mmio", dev->base);
    FDT_TRY(fdt_begin_node(fdt, name));
    /* The driver reads the device ID from the window: one compatible for all kinds. */
    FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
    int err = dt_reg(fdt, dev->base, dev->size);
    if (err)
        return err;
    /*
     * Edge-triggered, rising: the device pulses its line once per new
     * InterruptStatus bit (common/virtio_mmio.c, irq_raise()), as QEMU,
     * kvmtool and Firecracker describe virtio-mmio too. An edge costs the
     * guest nothing at its EOI; a level-sensitive virtual interrupt makes
     * KVM ask for a maintenance interrupt at every EOI, to sample the line
     * again (ICH_LR_EOI in arch/arm64/kvm/vgic/vgic-v3.c): one more exit
     * from the guest per interrupt. See ch08's README, "Why an edge".
     */
    err = dt_interrupt(fdt, GIC_SPI, dev->spi, IRQ_TYPE_EDGE_RISING);
    if (err)
        return err;
    /*
     * The device is the VMM, reading guest RAM through the same caches as
     * the vCPUs (mmio.yaml allows dma-coherent). Linux only consults it
     * through the DMA API, which virtio uses only with
     * VIRTIO_F_ACCESS_PLATFORM (vring_use_dma_api()); we do not offer that,
     * so today this is simply the truth, for the day it matters.
     */
    FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
    FDT_TRY(fdt_end_node(fdt));
    return 0;
}

static const char *default_stdout_path(const struct devicetree_config *cfg, char *buf, size_t len)
{
    for (size_t i = 0; i < cfg->ndevices; i++) {
        if (cfg->devices[i].type == DEVICETREE_PL011) {
            node_name(buf + 1, len - 1, "pl011", cfg->devices[i].base);
            buf[0] = '/';
            return buf;
        }
    }
    return NULL;
}

static int check_config(const struct devicetree_config *cfg)
{
    if (cfg->gic_version != 0 && cfg->gic_version != 2 && cfg->gic_version != 3)
        return -EINVAL;
    unsigned max_cpus = cfg->gic_version == 2 ? DEVICETREE_MAX_CPUS_GICV2 : DEVICETREE_MAX_CPUS;
    if (cfg->ncpus == 0 || cfg->ncpus > max_cpus)
        return -EINVAL;
    if (cfg->ram_size == 0 || cfg->ram_base + cfg->ram_size < cfg->ram_base)
        return -EINVAL;
    if (cfg->initrd_end < cfg->initrd_start)
        return -EINVAL;
    if (cfg->ndevices && !cfg->devices)
        return -EINVAL;
    if (cfg->bootargs && strlen(cfg->bootargs) > DEVICETREE_BOOTARGS_MAX)
        return -E2BIG;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        enum devicetree_device_type type = cfg->devices[i].type;
        if (type != DEVICETREE_PL011 && type != DEVICETREE_VIRTIO_MMIO)
            return -EINVAL;
    }
    return 0;
}

/* The whole tree into buf[0, len); -ENOSPC when it does not fit. */
static int build_into(void *fdt, size_t len, const struct devicetree_config *cfg)
{
    char path[64];
    const char *stdout_path =
        cfg->stdout_path ? cfg->stdout_path : default_stdout_path(cfg, path, sizeof(path));
    int err;

    FDT_TRY(fdt_create(fdt, (int)len));
    /* No /memreserve/ entries: the kernel reserves the DTB and initrd itself. */
    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    if ((err = dt_root(fdt)) || (err = dt_chosen(fdt, cfg, stdout_path)) ||
        (err = dt_memory(fdt, cfg)) || (err = dt_cpus(fdt, cfg)) || (err = dt_psci(fdt)) ||
        (err = dt_gic(fdt, cfg)) || (err = dt_timer(fdt, cfg)) || (err = dt_apb_pclk(fdt)))
        return err;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const struct devicetree_device *dev = &cfg->devices[i];
        err = dev->type == DEVICETREE_PL011 ? dt_pl011(fdt, dev) : dt_virtio(fdt, dev);
        if (err)
            return err;
    }
    FDT_TRY(fdt_end_node(fdt));
    FDT_TRY(fdt_finish(fdt));
    return 0;
}

int devicetree_build(const struct devicetree_config *cfg, void **blob, size_t *size)
{
    *blob = NULL;
    *size = 0;
    int err = check_config(cfg);
    if (err)
        return err;

    /* The tree's size is only known once built: try, and double on -ENOSPC. */
    for (size_t len = DTB_FIRST_TRY; len <= DTB_MAX_SIZE; len *= 2) {
        void *buf = calloc(1, len);
        if (!buf)
            return -ENOMEM;
        fdt_helpers_clear();
        err = build_into(buf, len, cfg);
        if (err == 0) {
            *blob = buf;
            *size = fdt_totalsize(buf);
            return 0;
        }
        free(buf);
        if (err != -ENOSPC)
            return err;
    }
    return -E2BIG;
}

int devicetree_write_file(const void *blob, size_t size, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    const char *p = blob;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? -errno : -EIO;
            close(fd);
            return err;
        }
        p += n;
        size -= (size_t)n;
    }
    if (close(fd) < 0)
        return -errno;
    return 0;
}
