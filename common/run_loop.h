/*
 * run_loop.h - a vCPU thread's KVM_RUN loop (introduced in chapter 4).
 *
 * Chapter 3 wrote the loop inline; from chapter 4 on every chapter uses this
 * one. It handles the exits an arm64 VMM meets:
 *
 *   KVM_EXIT_MMIO          the guest touched device space: the MMIO bus
 *                          routes it to the device model (common/mmio_bus.c)
 *   KVM_EXIT_ARM_NISV      device access KVM could not decode (LDP, atomics...):
 *                          one line naming it, and an external abort for the
 *                          guest (needs KVM_CAP_ARM_NISV_TO_USER enabled)
 *   KVM_EXIT_SYSTEM_EVENT  PSCI SYSTEM_OFF / SYSTEM_RESET: stop the VM
 *   EINTR                  a kick from vm_stop() or another signal
 *   anything else          a register dump, and the VM stops with an error
 *
 * With `trace` set it prints one decoded line per exit, and it counts exits
 * by kind for run_loop_print_summary().
 */
#ifndef GOD_RUN_LOOP_H
#define GOD_RUN_LOOP_H

#include <linux/kvm.h>
#include <stdio.h>

#include "guest_mem.h"
#include "mmio_bus.h"
#include "timeline.h"
#include "vcpu.h"
#include "vm_control.h"

#define RUN_LOOP_EXIT_KINDS 64 /* KVM_EXIT_* numbers are small; bigger ones count as the last */

struct run_loop {
    struct vcpu *vcpu;
    const struct mmio_bus *bus;
    struct vm_control *vm;
    FILE *trace;                 /* NULL: no per-exit lines */
    const struct guest_mem *mem; /* optional: lets a NISV message name the instruction */
    struct timeline *timeline;   /* NULL: none; else marks the first KVM_RUN */
    /*
     * Optional (chapter 7): called after every return from KVM_RUN, before
     * the exit is handled, to apply the writes KVM coalesced meanwhile
     * (common/coalesced_mmio.h), so a device sees them before what follows.
     */
    void (*flush_writes)(void *ctx);
    void *flush_ctx;

    /* Filled in by the loop. */
    unsigned long exits[RUN_LOOP_EXIT_KINDS];
    unsigned long mmio_by_region[MMIO_BUS_MAX_REGIONS + 1]; /* last: no device there */
    int error;                                              /* -errno of a failed KVM_RUN */
};

/* Run until the VM stops. Suitable as a vm_control_start() thread function. */
void *run_loop_thread(void *loop);

/*
 * Print "exits by kind" and "MMIO by device" over all the loops given. Safe
 * while the loops run (--stats prints a snapshot on SIGUSR2).
 */
void run_loop_print_summary(const struct run_loop *loops, unsigned count, FILE *out);

/* Several loops as one timeline_count_fn context: run_loop_count(&set, &counts). */
struct run_loop_set {
    const struct run_loop *loops;
    unsigned count;
};
void run_loop_count(void *set, struct timeline_counts *out);

#endif
