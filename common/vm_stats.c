/*
 * vm_stats.c - what a running VM has cost so far: `--stats` (introduced in chapter 7).
 */
#include "vm_stats.h"

#include <errno.h>
#include <string.h>

#include "run_loop.h" /* needs <linux/kvm.h>: not in the native unit tests */

unsigned long *vm_stats_counter(struct vm_stats *stats, const char *group, const char *name)
{
    if (stats->count >= VM_STATS_MAX_COUNTERS)
        return NULL;
    struct vm_stats_counter *c = &stats->counters[stats->count++];
    *c = (struct vm_stats_counter){.group = group, .name = name};
    return &c->value;
}

int vm_stats_watch(struct vm_stats *stats, const char *group, const char *name,
                   const uint64_t *value)
{
    unsigned long *slot = vm_stats_counter(stats, group, name);
    if (!slot)
        return -ENOSPC;
    stats->counters[stats->count - 1].watched = value;
    return 0;
}

static unsigned long counter_value(const struct vm_stats_counter *c)
{
    if (c->watched)
        return (unsigned long)__atomic_load_n(c->watched, __ATOMIC_RELAXED);
    return __atomic_load_n(&c->value, __ATOMIC_RELAXED);
}

static void counted_irq_set(void *ctx, unsigned spi, bool level)
{
    struct vm_stats_irq *irq = ctx;
    if (level)
        vm_stats_add(irq->raised, 1);
    irq_line_set(&irq->line, level);
    (void)spi;
}

struct irq_line vm_stats_irq_line(struct vm_stats *stats, const char *name, struct irq_line line)
{
    if (stats->nirqs >= VM_STATS_MAX_COUNTERS)
        return line;
    struct vm_stats_irq *irq = &stats->irqs[stats->nirqs++];
    irq->line = line;
    irq->raised = vm_stats_counter(stats, "interrupts raised", name);
    return (struct irq_line){.set_level = counted_irq_set, .ctx = irq, .spi = line.spi};
}

/* The longest name in `group`, and at least 16: where its numbers start. */
static int name_width(const struct vm_stats *stats, const char *group)
{
    int width = 16;
    for (unsigned i = 0; i < stats->count; i++) {
        int len = (int)strlen(stats->counters[i].name);
        if (len > width && strcmp(stats->counters[i].group, group) == 0)
            width = len;
    }
    return width;
}

void vm_stats_write(const struct vm_stats *stats, FILE *out)
{
    fprintf(out, "god: stats\n");
    run_loop_print_summary(stats->loops.loops, stats->loops.count, out);
    for (unsigned i = 0; i < stats->count; i++) {
        const struct vm_stats_counter *c = &stats->counters[i];
        bool first = true;
        for (unsigned j = 0; j < i; j++)
            first = first && strcmp(stats->counters[j].group, c->group) != 0;
        if (!first)
            continue;
        /* The whole group now, under one heading, its numbers in one column. */
        int width = name_width(stats, c->group);
        fprintf(out, "%s:\n", c->group);
        for (unsigned j = i; j < stats->count; j++)
            if (strcmp(stats->counters[j].group, c->group) == 0)
                fprintf(out, "  %-*s %lu\n", width, stats->counters[j].name,
                        counter_value(&stats->counters[j]));
    }
    fflush(out);
}

void vm_stats_print(void *stats)
{
    vm_stats_write(stats, stderr);
}
