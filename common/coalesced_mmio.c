/*
 * coalesced_mmio.c - device writes KVM collects instead of exiting (introduced in chapter 7).
 */
#include "coalesced_mmio.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"

int coalesced_mmio_init(struct coalesced_mmio *c, int vm_fd, const struct vcpu *vcpu,
                        const struct mmio_bus *bus, uint64_t addr, uint32_t size)
{
    memset(c, 0, sizeof(*c));
    c->bus = bus;
    int err = pthread_mutex_init(&c->lock, NULL);
    if (err)
        return -err;

    /* The capability's value is the ring's page number in the kvm_run mapping; 0: none. */
    int page = kvm_check_extension(vm_fd, KVM_CAP_COALESCED_MMIO);
    long page_size = sysconf(_SC_PAGESIZE);
    if (page <= 0 || page_size <= 0 || vcpu->run_size < (size_t)(page + 1) * (size_t)page_size)
        return 0;
    c->ring = (struct kvm_coalesced_mmio_ring *)((char *)vcpu->run + (size_t)page * page_size);
    /* KVM_COALESCED_MMIO_MAX, which the kernel computes from its own page size. */
    c->max = (uint32_t)((page_size - sizeof(struct kvm_coalesced_mmio_ring)) /
                        sizeof(struct kvm_coalesced_mmio));
    if (size == 0)
        return 0;

    struct kvm_coalesced_mmio_zone zone = {.addr = addr, .size = size};
    return ioctl(vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0 ? -errno : 1;
}

void coalesced_mmio_destroy(struct coalesced_mmio *c)
{
    pthread_mutex_destroy(&c->lock);
    c->ring = NULL;
}

/* One queued write, exactly as its exit would have been handled (run_loop.c, handle_mmio()). */
static void apply(struct coalesced_mmio *c, const struct kvm_coalesced_mmio *w)
{
    uint8_t data[sizeof(w->data)];
    const struct mmio_region *region = mmio_bus_find(c->bus, w->phys_addr);

    /* KVM only queues 1 to 8 bytes; anything else becomes a width the bus refuses. */
    unsigned len = w->len <= sizeof(data) ? w->len : 0;

    memcpy(data, w->data, sizeof(data));
    __atomic_fetch_add((uint64_t *)coalesced_mmio_counter(c, region), 1, __ATOMIC_RELAXED);
    mmio_region_access(region, w->phys_addr, data, len, true);
    if (c->trace) {
        char what[160];
        mmio_bus_describe(c->bus, w->phys_addr, data, len, true, what, sizeof(what));
        fprintf(c->trace, "[coalesced] MMIO %s\n", what);
    }
}

void coalesced_mmio_flush(void *ctx)
{
    struct coalesced_mmio *c = ctx;
    struct kvm_coalesced_mmio_ring *ring = c->ring;

    /* The common case, from every exit: nothing queued, and no lock taken to find out. */
    if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
                     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
        return;

    pthread_mutex_lock(&c->lock);
    /* KVM advances `last` after writing an entry; we advance `first` after applying one. */
    uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED) % c->max;
    while (first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
        apply(c, &ring->coalesced_mmio[first]);
        first = (first + 1) % c->max;
        __atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&c->lock);
}

const uint64_t *coalesced_mmio_counter(const struct coalesced_mmio *c,
                                       const struct mmio_region *region)
{
    return &c->applied[region ? (size_t)(region - c->bus->regions) : MMIO_BUS_MAX_REGIONS];
}
