/*
 * irqfd.c - an interrupt line KVM raises from an eventfd (introduced in chapter 8).
 */
#include "irqfd.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"

bool irqfd_supported(int vm_fd)
{
    /* Asked of the VM (KVM_CAP_CHECK_EXTENSION_VM): it is this VM's answer that counts. */
    return kvm_check_extension(vm_fd, KVM_CAP_IRQFD) > 0 &&
           kvm_check_extension(vm_fd, KVM_CAP_IRQFD_RESAMPLE) > 0;
}

int irqfd_init(struct irqfd *irqfd, unsigned spi)
{
    irqfd->spi = spi;
    irqfd->resample_fd = -1;
    /* Non-blocking both: a write must never wait (it happens under the device's lock). */
    irqfd->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (irqfd->fd < 0)
        return -errno;
    irqfd->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (irqfd->resample_fd < 0) {
        int err = -errno;
        irqfd_close(irqfd);
        return err;
    }
    return 0;
}

/*
 * An irq_line callback. Only level true ever comes (the line is resampled):
 * KVM takes the write as "assert", and on arm64 injects it inside the write
 * itself, since the vGIC is initialised (kvm_arch_set_irq_inatomic()).
 */
static void irqfd_set_level(void *ctx, unsigned spi, bool level)
{
    static unsigned failures;
    struct irqfd *irqfd = ctx;
    uint64_t one = 1;

    if (!level)
        return;
    if (write(irqfd->fd, &one, sizeof(one)) != sizeof(one))
        log_warn_limited(&failures, "irqfd for SPI %u: write failed: error %d", spi, errno);
}

struct irq_line irqfd_line(struct irqfd *irqfd)
{
    return (struct irq_line){
        .set_level = irqfd_set_level, .ctx = irqfd, .spi = irqfd->spi, .resampled = true};
}

int irqfd_assign(struct irqfd *irqfd, int vm_fd)
{
    /*
     * Which SPI a gsi means is the VM's routing table. We set none, so it
     * is the default one KVM builds when the vGIC is initialised
     * (kvm_vgic_setup_default_irq_routing()): gsi n is irqchip 0, pin n,
     * and pin n is SPI n, INTID n + 32 (vgic_irqfd_set_irq()).
     */
    struct kvm_irqfd req = {
        .fd = (uint32_t)irqfd->fd,
        .gsi = irqfd->spi,
        .flags = KVM_IRQFD_FLAG_RESAMPLE,
        .resamplefd = (uint32_t)irqfd->resample_fd,
    };
    return ioctl(vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int irqfd_resample_fd(const struct irqfd *irqfd)
{
    return irqfd->resample_fd;
}

bool irqfd_resampled(struct irqfd *irqfd)
{
    uint64_t count;
    /* Reading resets the counter: several EOIs since we last looked are one resample. */
    return read(irqfd->resample_fd, &count, sizeof(count)) == sizeof(count);
}

void irqfd_close(struct irqfd *irqfd)
{
    if (irqfd->fd >= 0)
        close(irqfd->fd);
    if (irqfd->resample_fd >= 0)
        close(irqfd->resample_fd);
    irqfd->fd = irqfd->resample_fd = -1;
}
