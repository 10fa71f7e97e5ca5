/*
 * vm_stats.h - what a running VM has cost so far: `--stats` (introduced in chapter 7).
 *
 * Wall time on a busy or emulated machine changes from run to run; how many
 * exits the guest made to do something does not, much. So besides the exits
 * the run loops count (by kind, and MMIO ones by device), the VMM counts
 * a few things to divide them by: bytes the guest wrote to each console,
 * interrupts each device raised. `god boot --stats` prints all of it when
 * the VM stops, and a snapshot whenever god gets SIGUSR2, so a test can
 * take the difference over a known amount of work (8 KiB written to the
 * console: exits per byte).
 *
 * Counters are registered before the vCPUs start and bumped with relaxed
 * atomics from any thread. A device model that keeps its own statistics
 * (virtio-net's dropped frames) lends them with vm_stats_watch() instead.
 */
#ifndef GOD_VM_STATS_H
#define GOD_VM_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "irq.h"
#include "run_loop.h"

#define VM_STATS_MAX_COUNTERS 32

struct vm_stats_counter {
    const char *group; /* "console bytes out", "interrupts raised" */
    const char *name;  /* "PL011", "hvc0" */
    unsigned long value;
    const uint64_t *watched; /* not NULL: print this count, kept by its owner, instead */
};

struct vm_stats_irq {
    struct irq_line line; /* where the interrupt really goes */
    unsigned long *raised;
};

struct vm_stats {
    struct run_loop_set loops;
    struct vm_stats_counter counters[VM_STATS_MAX_COUNTERS];
    unsigned count;
    struct vm_stats_irq irqs[VM_STATS_MAX_COUNTERS];
    unsigned nirqs;
};

/*
 * A new counter, printed under `group` (same group: same heading, in the
 * order registered). Returns NULL when full: vm_stats_add() ignores NULL.
 */
unsigned long *vm_stats_counter(struct vm_stats *stats, const char *group, const char *name);

static inline void vm_stats_add(unsigned long *counter, unsigned long n)
{
    if (counter)
        __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/*
 * An irq_line that counts each time `line` is raised (under "interrupts
 * raised", as `name`) and passes every change on to it.
 */
struct irq_line vm_stats_irq_line(struct vm_stats *stats, const char *name, struct irq_line line);

/*
 * Print *value, a count its owner keeps and bumps with relaxed atomics, under
 * `group` as `name`: the owner's own statistics, without a second copy to keep
 * in step. Returns -ENOSPC when full.
 */
int vm_stats_watch(struct vm_stats *stats, const char *group, const char *name,
                   const uint64_t *value);

/* "god: stats", the run loops' summary, then the counters, to out. */
void vm_stats_write(const struct vm_stats *stats, FILE *out);

/* vm_stats_write() to stderr. Usable as a SIGUSR2 callback. */
void vm_stats_print(void *stats);

#endif
