/*
 * coalesced_mmio.h - device writes KVM collects instead of exiting (introduced in chapter 7).
 *
 * Every guest access to device memory traps to KVM, and KVM_EXIT_MMIO then
 * takes it out to us: a trip to user space and back per access. For a
 * register whose writes need no answer and can wait, KVM offers a cheaper
 * road (KVM_REGISTER_COALESCED_MMIO, virt/kvm/coalesced_mmio.c): writes to a
 * registered zone are appended to a ring in a page shared with us, and the
 * vCPU goes straight back into the guest. Reads are never coalesced; they
 * exit as usual. We apply the ring's writes, in order, before we handle any
 * exit, so every device sees its writes before the access that follows
 * them, and when the VMM stops or another console is about to print.
 *
 * The ring is one page: (page size - 8) / 24 entries, 170 with 4 KiB pages.
 * When it is full, KVM stops coalescing and the next write exits like any
 * other (its handling flushes the ring first). KVM_CAP_COALESCED_MMIO says
 * which page of every vCPU's kvm_run mapping holds the ring.
 */
#ifndef GOD_COALESCED_MMIO_H
#define GOD_COALESCED_MMIO_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "mmio_bus.h"
#include "vcpu.h"

struct coalesced_mmio {
    struct kvm_coalesced_mmio_ring *ring; /* NULL: KVM cannot coalesce, nothing to do */
    uint32_t max;                         /* entries in the ring */
    const struct mmio_bus *bus;
    FILE *trace;          /* NULL: no lines; else one per applied write, like --trace's exits */
    pthread_mutex_t lock; /* vCPU threads and the VMM may all flush: one at a time */
    /* Writes applied, by bus region (last: no device there), bumped with relaxed atomics. */
    uint64_t applied[MMIO_BUS_MAX_REGIONS + 1];
};

/*
 * Find the ring in `vcpu`'s kvm_run mapping (any vCPU of the VM: they all
 * map the same page), and have KVM coalesce the writes to [addr, addr +
 * size). Returns 1 when it does; 0 when every write still exits, because
 * size is 0 (the VMM does not want it) or KVM cannot coalesce (no ring);
 * or -errno. Whatever it returns, flush and destroy may be called.
 */
int coalesced_mmio_init(struct coalesced_mmio *c, int vm_fd, const struct vcpu *vcpu,
                        const struct mmio_bus *bus, uint64_t addr, uint32_t size);
void coalesced_mmio_destroy(struct coalesced_mmio *c);

/*
 * Apply every write in the ring to the bus, oldest first. Any thread; `c` is
 * a struct coalesced_mmio, so it can be a run loop's flush_writes.
 */
void coalesced_mmio_flush(void *c);

/* The count of writes applied to `region` of the bus, for vm_stats_watch(). */
const uint64_t *coalesced_mmio_counter(const struct coalesced_mmio *c,
                                       const struct mmio_region *region);

#endif
