/*
 * gic.c - the in-kernel GICv3 interrupt controller (introduced in chapter 5).
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

int gic_create(struct gic *gic, int vm_fd, unsigned nr_vcpus)
{
    gic->fd = -1;
    gic->vm_fd = vm_fd;
    if (nr_vcpus == 0 || (uint64_t)nr_vcpus * GIC_REDIST_SIZE_EACH > GIC_REDIST_MAX_SIZE)
        return -E2BIG;

    struct kvm_create_device dev = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
    if (ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) < 0)
        return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
    gic->fd = (int)dev.fd;

    /*
     * Where the guest finds the distributor and the redistributors. Each
     * vCPU's redistributor is two 64 KiB frames, laid out one after another
     * from the base; the device tree tells the guest the same addresses.
     */
    uint64_t dist = GIC_DIST_BASE;
    uint64_t redist = GIC_REDIST_BASE;
    uint32_t nr_irqs = GIC_NR_IRQS;
    int ret;
    if ((ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist)) <
            0 ||
        (ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
                        &redist)) < 0 ||
        (ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs)) < 0) {
        close(gic->fd);
        gic->fd = -1;
        return ret;
    }
    return 0;
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
