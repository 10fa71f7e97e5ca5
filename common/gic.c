/*
 * gic.c - the in-kernel GIC interrupt controller, v3 or v2 (introduced in chapter 5).
 */
#include "gic.h"

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "memmap.h"

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *value)
{
    struct kvm_device_attr a = {
        .group = group,
        .attr = attr,
        .addr = (uint64_t)(uintptr_t)value,
    };
    return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

static bool can_create(int vm_fd, uint32_t type)
{
    struct kvm_create_device dev = {.type = type, .flags = KVM_CREATE_DEVICE_TEST};
    return ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) == 0;
}

void gic_probe(int vm_fd, struct gic_host *host)
{
    host->v2 = can_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2);
    host->v3 = can_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3);
}

/* The memory map's GICv2 windows are exactly what KVM's vGICv2 emulates. */
_Static_assert(GIC_V2_DIST_SIZE == KVM_VGIC_V2_DIST_SIZE, "GICv2 distributor size");
_Static_assert(GIC_CPU_SIZE == KVM_VGIC_V2_CPU_SIZE, "GICv2 CPU interface size");
_Static_assert(GIC_V3_MAX_VCPUS *GIC_REDIST_SIZE_EACH <= GIC_REDIST_MAX_SIZE,
               "redistributor room for GIC_V3_MAX_VCPUS");

/*
 * Where the guest finds the GIC. v3: the distributor and the
 * redistributors; each vCPU's redistributor is two 64 KiB frames, laid out
 * one after another from the base. v2: the distributor and the CPU
 * interface, which a GICv3 does not have (its CPU interface is system
 * registers). The device tree tells the guest the same addresses.
 */
static int set_addresses(int fd, enum gic_version version)
{
    uint64_t dist = GIC_DIST_BASE;
    uint64_t second = version == GIC_V3 ? GIC_REDIST_BASE : GIC_CPU_BASE;
    int ret;
    if (version == GIC_V3) {
        if ((ret = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist)) < 0)
            return ret;
        return set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &second);
    }
    if ((ret = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, &dist)) < 0)
        return ret;
    return set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, &second);
}

int gic_create(struct gic *gic, int vm_fd, enum gic_version version, unsigned nr_vcpus)
{
    gic->fd = -1;
    gic->vm_fd = vm_fd;
    gic->version = version;
    if (version != GIC_V2 && version != GIC_V3)
        return -EINVAL;
    if (nr_vcpus == 0 || nr_vcpus > (version == GIC_V2 ? GIC_V2_MAX_VCPUS : GIC_V3_MAX_VCPUS))
        return -E2BIG;

    struct kvm_create_device dev = {.type = version == GIC_V3 ? KVM_DEV_TYPE_ARM_VGIC_V3
                                                              : KVM_DEV_TYPE_ARM_VGIC_V2};
    if (ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) < 0)
        return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
    gic->fd = (int)dev.fd;

    uint32_t nr_irqs = GIC_NR_IRQS;
    int ret;
    if ((ret = set_addresses(gic->fd, version)) < 0 ||
        (ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs)) < 0) {
        close(gic->fd);
        gic->fd = -1;
        return ret;
    }
    return 0;
}

int gic_setup(struct gic *gic, int vm_fd, enum gic_version want, unsigned nr_vcpus, char *why,
              size_t why_len)
{
    struct gic_host host;
    gic->fd = -1;
    gic->vm_fd = vm_fd;
    why[0] = '\0';
    gic_probe(vm_fd, &host);
    int version = gic_choose(&host, want, nr_vcpus);
    if (version < 0) {
        gic_choice_explain(why, why_len, version, &host, want, nr_vcpus);
        return version;
    }
    return gic_create(gic, vm_fd, (enum gic_version)version, nr_vcpus);
}

int gic_finalize(const struct gic *gic)
{
    return set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
}

int gic_set_spi(const struct gic *gic, unsigned spi, bool level)
{
    /*
     * KVM_IRQ_LINE's irq field packs a type and a number: for an SPI the
     * type is KVM_ARM_IRQ_TYPE_SPI and the number is the INTID (SPI + 32),
     * with no vCPU index because the distributor routes SPIs.
     */
    struct kvm_irq_level irq = {
        .irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (spi + SPI_INTID_BASE),
        .level = level,
    };
    return ioctl(gic->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

void gic_irq_line_set(void *ctx, unsigned spi, bool level)
{
    static unsigned failures;
    int ret = gic_set_spi(ctx, spi, level);
    if (ret < 0)
        log_warn_limited(&failures, "KVM_IRQ_LINE for SPI %u failed: error %d", spi, -ret);
}
