/*
 * test_vm_stats.c - the --stats report (common/vm_stats.c): counters grouped
 * under their headings, counts lent by their owner (vm_stats_watch), and
 * interrupts counted on their way to the GIC.
 *
 * vm_stats.c reaches <linux/kvm.h> through run_loop.h, so tests/Makefile
 * leaves it out of the core library. Its only call into the run loops is the
 * exits summary: this test compiles the file itself, with that one function
 * replaced by a marker line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/vm_stats.c"

void run_loop_print_summary(const struct run_loop *loops, unsigned count, FILE *out)
{
    (void)loops;
    fprintf(out, "(exits of %u loops)\n", count);
}

static char *report(const struct vm_stats *stats)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    vm_stats_write(stats, f);
    fclose(f);
    return buf;
}

static void groups_print_once_in_the_order_registered(void **state)
{
    (void)state;
    static struct vm_stats stats; /* big, and zeroed like god's */
    memset(&stats, 0, sizeof(stats));
    stats.loops.count = 2;
    unsigned long *uart = vm_stats_counter(&stats, "console bytes out", "PL011");
    uint64_t sent = 0, bad = 0;
    assert_int_equal(vm_stats_watch(&stats, "eth0 frames", "sent", &sent), 0);
    unsigned long *hvc = vm_stats_counter(&stats, "console bytes out", "hvc0");
    assert_int_equal(vm_stats_watch(&stats, "eth0 dropped", "bad-from-guest", &bad), 0);

    vm_stats_add(uart, 3);
    vm_stats_add(hvc, 40);
    /* A watched count is read when the report is printed, not when registered. */
    sent = 1234;
    bad = 5;
    char *text = report(&stats);
    assert_string_equal(text, "god: stats\n"
                              "(exits of 2 loops)\n"
                              "console bytes out:\n"
                              "  PL011            3\n"
                              "  hvc0             40\n"
                              "eth0 frames:\n"
                              "  sent             1234\n"
                              "eth0 dropped:\n"
                              "  bad-from-guest   5\n");
    free(text);
}

/* A device's name is longer than the usual column: its group widens, the others keep theirs. */
static void a_long_name_widens_its_group_only(void **state)
{
    (void)state;
    static struct vm_stats stats;
    memset(&stats, 0, sizeof(stats));
    vm_stats_add(vm_stats_counter(&stats, "MMIO exits by device", "PL011"), 12);
    vm_stats_add(vm_stats_counter(&stats, "MMIO exits by device", "virtio-console@0a000000"), 380);
    vm_stats_add(vm_stats_counter(&stats, "interrupts raised", "hvc0"), 167);
    char *text = report(&stats);
    assert_string_equal(text, "god: stats\n"
                              "(exits of 0 loops)\n"
                              "MMIO exits by device:\n"
                              "  PL011                   12\n"
                              "  virtio-console@0a000000 380\n"
                              "interrupts raised:\n"
                              "  hvc0             167\n");
    free(text);
}

static void a_full_table_refuses_more(void **state)
{
    (void)state;
    static struct vm_stats stats;
    memset(&stats, 0, sizeof(stats));
    uint64_t n = 7;
    for (unsigned i = 0; i < VM_STATS_MAX_COUNTERS; i++)
        assert_int_equal(vm_stats_watch(&stats, "g", "n", &n), 0);
    assert_int_equal(vm_stats_watch(&stats, "g", "one too many", &n), -ENOSPC);
    assert_null(vm_stats_counter(&stats, "g", "one too many"));
    vm_stats_add(NULL, 1); /* what a caller does with that NULL: nothing */
    char *text = report(&stats);
    assert_null(strstr(text, "one too many"));
    free(text);
}

struct gic_fake {
    unsigned spi;
    bool level;
    unsigned changes;
};

static void fake_set(void *ctx, unsigned spi, bool level)
{
    struct gic_fake *g = ctx;
    g->spi = spi;
    g->level = level;
    g->changes++;
}

static void interrupts_count_rising_edges_and_pass_every_change_on(void **state)
{
    (void)state;
    static struct vm_stats stats;
    memset(&stats, 0, sizeof(stats));
    struct gic_fake gic = {0};
    struct irq_line line = vm_stats_irq_line(
        &stats, "eth0", (struct irq_line){.set_level = fake_set, .ctx = &gic, .spi = 35});
    assert_int_equal(line.spi, 35);

    irq_line_set(&line, true);
    irq_line_set(&line, false);
    irq_line_set(&line, true);
    assert_int_equal(gic.changes, 3);
    assert_int_equal(gic.spi, 35);
    assert_true(gic.level);
    char *text = report(&stats);
    assert_non_null(strstr(text, "interrupts raised:\n  eth0             2\n"));
    free(text);
}

/* An edge-triggered device's pulse (irq_line_pulse()) is one interrupt raised. */
static void a_pulse_counts_once(void **state)
{
    (void)state;
    static struct vm_stats stats;
    memset(&stats, 0, sizeof(stats));
    struct gic_fake gic = {0};
    struct irq_line line = vm_stats_irq_line(
        &stats, "disk 0", (struct irq_line){.set_level = fake_set, .ctx = &gic, .spi = 17});
    irq_line_pulse(&line);
    irq_line_pulse(&line);
    assert_int_equal(gic.changes, 4);
    assert_false(gic.level);
    char *text = report(&stats);
    assert_non_null(strstr(text, "interrupts raised:\n  disk 0           2\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(groups_print_once_in_the_order_registered),
        cmocka_unit_test(a_long_name_widens_its_group_only),
        cmocka_unit_test(a_full_table_refuses_more),
        cmocka_unit_test(interrupts_count_rising_edges_and_pass_every_change_on),
        cmocka_unit_test(a_pulse_counts_once),
    };
    return cmocka_run_group_tests_name("vm_stats", tests, NULL, NULL);
}
