/*
 * test_timeline.c - the boot timeline (common/timeline.c): console markers,
 * first-time-only events, and exits counted per step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio_bus.h"
#include "timeline.h"

/* A fake run loop: each snapshot has made 10 more exits, all MMIO to region 0. */
static void fake_count(void *ctx, struct timeline_counts *out)
{
    unsigned long *n = ctx;
    *n += 10;
    memset(out, 0, sizeof(*out));
    out->exits = *n;
    out->mmio[0] = *n;
}

static void feed(struct timeline *tl, const char *text)
{
    timeline_console(tl, (const uint8_t *)text, strlen(text));
}

static char *print(struct timeline *tl)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    timeline_print(tl, f);
    fclose(f);
    return buf;
}

static void markers_are_found_across_writes(void **state)
{
    (void)state;
    struct timeline tl;
    assert_int_equal(timeline_init(&tl, NULL, NULL, NULL), 0);

    feed(&tl, "[    0.0] Booting Linux\r\n");
    assert_true(tl.seen[TIMELINE_FIRST_BYTE]);
    assert_false(tl.seen[TIMELINE_INIT]);
    /* The banner split over writes, one byte at a time, after a false start. */
    feed(&tl, "go");
    feed(&tl, "god: L");
    feed(&tl, "i");
    assert_false(tl.seen[TIMELINE_INIT]);
    feed(&tl, "nux 6.1 is up\r\n");
    assert_true(tl.seen[TIMELINE_INIT]);
    assert_false(tl.seen[TIMELINE_PROMPT]);
    /* A mismatch that restarts the match: "gguest:" contains the prompt. */
    feed(&tl, "gguest");
    assert_false(tl.seen[TIMELINE_PROMPT]);
    feed(&tl, ":/root# ");
    assert_true(tl.seen[TIMELINE_PROMPT]);
    timeline_destroy(&tl);
}

static void text_that_is_not_a_marker_marks_nothing(void **state)
{
    (void)state;
    struct timeline tl;
    assert_int_equal(timeline_init(&tl, NULL, NULL, NULL), 0);
    feed(&tl, "god: Linu");
    feed(&tl, "x");
    feed(&tl, "\r\nguest-");
    feed(&tl, ": god:Linux guest ");
    assert_true(tl.seen[TIMELINE_FIRST_BYTE]);
    assert_false(tl.seen[TIMELINE_INIT]);
    assert_false(tl.seen[TIMELINE_PROMPT]);
    timeline_destroy(&tl);
}

static void each_event_counts_once_and_steps_show_exit_differences(void **state)
{
    (void)state;
    unsigned long exits = 0;
    struct mmio_bus bus = {0};
    bus.regions[0].name = "PL011";
    bus.count = 1;
    struct timeline tl;
    assert_int_equal(timeline_init(&tl, &bus, fake_count, &exits), 0); /* START: 10 */
    timeline_mark(&tl, TIMELINE_READY);                                /* 20 */
    uint64_t ready_ns = tl.ns[TIMELINE_READY];
    timeline_mark(&tl, TIMELINE_READY); /* again: ignored, no snapshot taken */
    assert_int_equal(tl.ns[TIMELINE_READY], ready_ns);
    assert_int_equal(exits, 20);
    timeline_mark(&tl, TIMELINE_FIRST_RUN); /* 30 */
    feed(&tl, "x");                         /* FIRST_BYTE: 40 */
    feed(&tl, "y");                         /* nothing new */
    assert_int_equal(exits, 40);

    bus.regions[0].name = ""; /* the device is gone by the time god prints */
    char *text = print(&tl);
    /* Every step after the first made 10 exits, all of them to the PL011. */
    assert_non_null(strstr(text, "first KVM_RUN"));
    assert_non_null(strstr(text, "      10  first console byte"));
    assert_non_null(strstr(text, "PL011 10"));
    assert_non_null(strstr(text, "(not seen: shell prompt)"));
    assert_null(strstr(text, "PL011 20"));
    free(text);
    timeline_destroy(&tl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(markers_are_found_across_writes),
        cmocka_unit_test(text_that_is_not_a_marker_marks_nothing),
        cmocka_unit_test(each_event_counts_once_and_steps_show_exit_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
