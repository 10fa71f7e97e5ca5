/*
 * run_loop.c - a vCPU thread's KVM_RUN loop (introduced in chapter 4).
 */
#include "run_loop.h"

#include <errno.h>
#include <string.h>

#include "kvm.h"
#include "log.h"

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

    loop->mmio_by_region[region ? (size_t)(region - loop->bus->regions) : MMIO_BUS_MAX_REGIONS]++;

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

/* Returns true to keep running. */
static bool handle_exit(struct run_loop *loop)
{
    struct kvm_run *run = loop->vcpu->run;
    uint32_t reason = run->exit_reason;

    loop->exits[reason < RUN_LOOP_EXIT_KINDS ? reason : RUN_LOOP_EXIT_KINDS - 1]++;
    switch (reason) {
    case KVM_EXIT_MMIO:
        handle_mmio(loop);
        return true;

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

    while (!vm_stopping(loop->vm)) {
        int ret = vcpu_run(loop->vcpu);
        if (ret == -EINTR || ret == -EAGAIN) {
            loop->exits[KVM_EXIT_INTR]++;
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
            total += loops[i].exits[kind];
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
            total += loops[i].mmio_by_region[r];
        if (!total)
            continue;
        if (!header)
            fprintf(out, "MMIO exits by device:\n");
        header = true;
        fprintf(out, "  %-16s %lu\n", r < bus->count ? bus->regions[r].name : "(nothing there)",
                total);
    }
}
