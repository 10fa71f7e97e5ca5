/*
 * run_loop.c - a vCPU thread's KVM_RUN loop (introduced in chapter 4).
 */
#include "run_loop.h"

#include <errno.h>
#include <string.h>

/* Data Abort ISS bits that KVM_EXIT_ARM_NISV passes on (Arm ARM, ESR_ELx, ISS for a Data Abort). */
#define ESR_ISS_CM  (1u << 8) /* cache maintenance (DC/IC), not a load or store */
#define ESR_ISS_WNR (1u << 6) /* write, not read */

#include "arm64_insn.h"
#include "kvm.h"
#include "log.h"

/*
 * Counters are written by their vCPU's thread only, but --stats and
 * --timeline read them from other threads while the VM runs: relaxed
 * atomics make that well-defined, and cost no more than ++ on arm64.
 */
static void count(unsigned long *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static unsigned long read_count(const unsigned long *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static void trace_mmio(struct run_loop *loop)
{
    struct kvm_run *run = loop->vcpu->run;
    uint64_t pc = 0;
    char what[160];

    /* One more ioctl per exit, only paid when tracing. */
    vcpu_get_reg(loop->vcpu, VCPU_CORE_REG(regs.pc), &pc);
    mmio_bus_describe(loop->bus, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                      run->mmio.is_write, what, sizeof(what));
    fprintf(loop->trace, "[vCPU %u] PC %#llx MMIO %s\n", loop->vcpu->index, (unsigned long long)pc,
            what);
}

static void handle_mmio(struct run_loop *loop)
{
    static unsigned unmapped_warnings;
    struct kvm_run *run = loop->vcpu->run;
    const struct mmio_region *region = mmio_bus_find(loop->bus, run->mmio.phys_addr);

    count(&loop->mmio_by_region[region ? (size_t)(region - loop->bus->regions)
                                       : MMIO_BUS_MAX_REGIONS]);

    /*
     * For a read, the bus fills run->mmio.data and KVM copies it into the
     * guest's destination register when we call KVM_RUN again.
     */
    int ret = mmio_region_access(region, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                                 run->mmio.is_write);
    if (ret == -ENOENT)
        /* Like a bus with nothing on it: reads give 0, writes vanish. */
        log_warn_limited(&unmapped_warnings, "vCPU %u: MMIO %s at %#llx: no device there",
                         loop->vcpu->index, run->mmio.is_write ? "write" : "read",
                         (unsigned long long)run->mmio.phys_addr);
    if (loop->trace)
        trace_mmio(loop);
}

/*
 * The instruction at the guest's PC, when we can find it: with the guest's
 * MMU off (SCTLR_EL1.M = 0) its PC is a guest physical address. With the
 * MMU on we would have to walk the guest's page tables: we do not.
 */
static const char *faulting_insn_class(struct run_loop *loop, uint64_t pc)
{
    uint64_t sctlr;
    const uint32_t *insn;

    if (!loop->mem || vcpu_get_reg(loop->vcpu, ARM64_SYS_REG(3, 0, 1, 0, 0), &sctlr) < 0 ||
        (sctlr & 1) || !(insn = guest_mem_ptr(loop->mem, pc, sizeof(*insn))))
        return NULL;
    return arm64_insn_access_class(*insn);
}

/*
 * KVM_EXIT_ARM_NISV: a data abort on an address with no RAM behind it, from
 * an instruction the CPU did not describe (ISV = 0), so KVM cannot emulate
 * it. Only the direction and cache-maintenance bits of the syndrome and the
 * address come with it. A real bus would answer an access it cannot serve
 * with an error, so the guest gets a synchronous external abort (KVM leaves
 * its PC on the instruction); Linux then kills the offending process, or
 * panics if it was the kernel. Returns true to keep running.
 */
static bool handle_nisv(struct run_loop *loop)
{
    static unsigned warnings;
    struct kvm_run *run = loop->vcpu->run;
    uint64_t iss = run->arm_nisv.esr_iss, ipa = run->arm_nisv.fault_ipa, pc = 0;
    const struct mmio_region *region = mmio_bus_find(loop->bus, ipa);

    vcpu_get_reg(loop->vcpu, VCPU_CORE_REG(regs.pc), &pc);
    const char *what = faulting_insn_class(loop, pc);
    log_warn_limited(&warnings,
                     "vCPU %u: PC %#llx: %s %s %#llx (%s), which KVM cannot emulate (no "
                     "instruction syndrome): the guest gets an external abort",
                     loop->vcpu->index, (unsigned long long)pc,
                     what ? what
                          : "an access with no syndrome (pair, exclusive, atomic, "
                            "writeback or SIMD&FP)",
                     iss & ESR_ISS_CM    ? "doing cache maintenance at"
                     : iss & ESR_ISS_WNR ? "writing"
                                         : "reading",
                     (unsigned long long)ipa, region ? region->name : "no device there");

    int ret = vcpu_inject_external_abort(loop->vcpu);
    if (ret == 0)
        return true;
    fprintf(stderr, "god: vCPU %u: cannot give the guest an external abort: %s\n",
            loop->vcpu->index, strerror(-ret));
    vcpu_dump_regs(loop->vcpu, stderr);
    vm_stop(loop->vm, VM_STOP_ERROR);
    return false;
}

/* Returns true to keep running. */
static bool handle_exit(struct run_loop *loop)
{
    struct kvm_run *run = loop->vcpu->run;
    uint32_t reason = run->exit_reason;

    count(&loop->exits[reason < RUN_LOOP_EXIT_KINDS ? reason : RUN_LOOP_EXIT_KINDS - 1]);
    switch (reason) {
    case KVM_EXIT_MMIO:
        handle_mmio(loop);
        return true;

    case KVM_EXIT_ARM_NISV:
        return handle_nisv(loop);

    case KVM_EXIT_SYSTEM_EVENT:
        if (loop->trace)
            fprintf(loop->trace, "[vCPU %u] SYSTEM_EVENT type %u\n", loop->vcpu->index,
                    run->system_event.type);
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            vm_stop(loop->vm, VM_STOP_POWEROFF);
            return false;
        case KVM_SYSTEM_EVENT_RESET:
            vm_stop(loop->vm, VM_STOP_RESET);
            return false;
        default:
            fprintf(stderr, "god: vCPU %u: system event %u (crash?)\n", loop->vcpu->index,
                    run->system_event.type);
            break;
        }
        break;

    case KVM_EXIT_FAIL_ENTRY:
        fprintf(stderr, "god: vCPU %u: KVM could not enter the guest (reason %#llx)\n",
                loop->vcpu->index,
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;

    case KVM_EXIT_INTERNAL_ERROR:
        fprintf(stderr, "god: vCPU %u: KVM internal error, suberror %u\n", loop->vcpu->index,
                run->internal.suberror);
        break;

    default:
        fprintf(stderr, "god: vCPU %u: unexpected exit %s (%u)\n", loop->vcpu->index,
                kvm_exit_name(reason), reason);
        break;
    }
    vcpu_dump_regs(loop->vcpu, stderr);
    vm_stop(loop->vm, VM_STOP_ERROR);
    return false;
}

void *run_loop_thread(void *arg)
{
    struct run_loop *loop = arg;

    if (loop->timeline && !vm_stopping(loop->vm))
        timeline_mark(loop->timeline, TIMELINE_FIRST_RUN);
    while (!vm_stopping(loop->vm)) {
        int ret = vcpu_run(loop->vcpu);
        if (loop->flush_writes)
            loop->flush_writes(loop->flush_ctx);
        if (ret == -EINTR || ret == -EAGAIN) {
            count(&loop->exits[KVM_EXIT_INTR]);
            continue; /* a kick: the loop condition decides whether to go on */
        }
        if (ret < 0) {
            fprintf(stderr, "god: vCPU %u: KVM_RUN: %s\n", loop->vcpu->index, strerror(-ret));
            loop->error = ret;
            vcpu_dump_regs(loop->vcpu, stderr);
            vm_stop(loop->vm, VM_STOP_ERROR);
            break;
        }
        if (!handle_exit(loop))
            break;
    }
    return NULL;
}

void run_loop_print_summary(const struct run_loop *loops, unsigned count, FILE *out)
{
    fprintf(out, "exits by kind:\n");
    for (unsigned kind = 0; kind < RUN_LOOP_EXIT_KINDS; kind++) {
        unsigned long total = 0;
        for (unsigned i = 0; i < count; i++)
            total += read_count(&loops[i].exits[kind]);
        if (total)
            fprintf(out, "  %-16s %lu\n",
                    kind == KVM_EXIT_INTR ? "INTR (kicks)" : kvm_exit_name(kind), total);
    }
    if (count == 0)
        return;
    const struct mmio_bus *bus = loops[0].bus;
    bool header = false;
    for (unsigned r = 0; r <= MMIO_BUS_MAX_REGIONS; r++) {
        unsigned long total = 0;
        for (unsigned i = 0; i < count; i++)
            total += read_count(&loops[i].mmio_by_region[r]);
        if (!total)
            continue;
        if (!header)
            fprintf(out, "MMIO exits by device:\n");
        header = true;
        fprintf(out, "  %-16s %lu\n", r < bus->count ? bus->regions[r].name : "(nothing there)",
                total);
    }
}

void run_loop_count(void *set, struct timeline_counts *out)
{
    const struct run_loop_set *s = set;

    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < s->count; i++) {
        for (unsigned kind = 0; kind < RUN_LOOP_EXIT_KINDS; kind++)
            out->exits += read_count(&s->loops[i].exits[kind]);
        for (unsigned r = 0; r <= MMIO_BUS_MAX_REGIONS; r++)
            out->mmio[r] += read_count(&s->loops[i].mmio_by_region[r]);
    }
}
