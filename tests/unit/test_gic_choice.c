/*
 * test_gic_choice.c - which vGIC god creates (common/gic_choice.c): the
 * host's offer and --gic in, a version or a one-line error out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "gic_choice.h"

static const struct gic_host server = {.v3 = true}; /* GICv3 without v2 compatibility */
static const struct gic_host rpi = {.v2 = true};    /* GIC-400 */
static const struct gic_host both = {.v2 = true, .v3 = true};
static const struct gic_host none = {0};

static void auto_prefers_v3(void **state)
{
    (void)state;
    assert_int_equal(gic_choose(&server, GIC_AUTO, 1), GIC_V3);
    assert_int_equal(gic_choose(&both, GIC_AUTO, 1), GIC_V3);
    assert_int_equal(gic_choose(&rpi, GIC_AUTO, 1), GIC_V2);
    assert_int_equal(gic_choose(&rpi, GIC_AUTO, 2), GIC_V2);
    assert_int_equal(gic_choose(&none, GIC_AUTO, 1), -ENODEV);
}

static void forced_versions(void **state)
{
    (void)state;
    assert_int_equal(gic_choose(&both, GIC_V2, 4), GIC_V2);
    assert_int_equal(gic_choose(&both, GIC_V3, 4), GIC_V3);
    assert_int_equal(gic_choose(&server, GIC_V2, 1), -ENODEV);
    assert_int_equal(gic_choose(&rpi, GIC_V3, 1), -ENODEV);
    assert_int_equal(gic_choose(&none, GIC_V2, 1), -ENODEV);
}

static void vcpu_limits(void **state)
{
    (void)state;
    /* A GICv2 names CPUs with 8-bit masks: 8 is fine, 9 is not. */
    assert_int_equal(gic_choose(&rpi, GIC_AUTO, GIC_V2_MAX_VCPUS), GIC_V2);
    assert_int_equal(gic_choose(&rpi, GIC_AUTO, GIC_V2_MAX_VCPUS + 1), -E2BIG);
    assert_int_equal(gic_choose(&both, GIC_V2, 9), -E2BIG);
    /* No silent switch to v3 when v2 was asked for, or the other way round. */
    assert_int_equal(gic_choose(&both, GIC_V3, GIC_V3_MAX_VCPUS), GIC_V3);
    assert_int_equal(gic_choose(&both, GIC_V3, GIC_V3_MAX_VCPUS + 1), -E2BIG);
    assert_int_equal(gic_choose(&server, GIC_AUTO, 32), GIC_V3);
    assert_int_equal(gic_choose(&server, GIC_AUTO, 0), -EINVAL);
    assert_int_equal(gic_choose(&server, (enum gic_version)7, 1), -EINVAL);
}

static void parse(void **state)
{
    (void)state;
    enum gic_version v = GIC_V3;
    assert_int_equal(gic_version_parse("v2", &v), 0);
    assert_int_equal(v, GIC_V2);
    assert_int_equal(gic_version_parse("v3", &v), 0);
    assert_int_equal(v, GIC_V3);
    assert_int_equal(gic_version_parse("auto", &v), 0);
    assert_int_equal(v, GIC_AUTO);
    assert_int_equal(gic_version_parse("3", &v), -EINVAL);
    assert_int_equal(gic_version_parse("", &v), -EINVAL);
    assert_int_equal(gic_version_parse("V2", &v), -EINVAL);
    assert_int_equal(v, GIC_AUTO); /* untouched by a failure */
    assert_string_equal(gic_version_name(GIC_V2), "GICv2");
    assert_string_equal(gic_version_name(GIC_V3), "GICv3");
}

/* The messages: one line, naming what was asked and what the host has. */
static void explanations(void **state)
{
    (void)state;
    char buf[160];

    gic_choice_explain(buf, sizeof(buf), -ENODEV, &rpi, GIC_V3, 1);
    assert_non_null(strstr(buf, "--gic v3"));
    assert_non_null(strstr(buf, "only a GICv2"));
    assert_null(strchr(buf, '\n'));

    gic_choice_explain(buf, sizeof(buf), -ENODEV, &server, GIC_V2, 1);
    assert_non_null(strstr(buf, "--gic v2"));
    assert_non_null(strstr(buf, "only a GICv3"));

    gic_choice_explain(buf, sizeof(buf), -ENODEV, &none, GIC_AUTO, 1);
    assert_non_null(strstr(buf, "no in-kernel GIC"));

    gic_choice_explain(buf, sizeof(buf), -E2BIG, &rpi, GIC_AUTO, 9);
    assert_non_null(strstr(buf, "9 vCPUs"));
    assert_non_null(strstr(buf, "GICv2 serves at most 8"));
    assert_null(strchr(buf, '\n'));

    gic_choice_explain(buf, sizeof(buf), -E2BIG, &both, GIC_V3, 124);
    assert_non_null(strstr(buf, "GICv3 serves at most 123"));

    /* A short buffer is cut, never overrun. */
    char tiny[8];
    assert_ptr_equal(gic_choice_explain(tiny, sizeof(tiny), -E2BIG, &rpi, GIC_V2, 9), tiny);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auto_prefers_v3), cmocka_unit_test(forced_versions),
        cmocka_unit_test(vcpu_limits),     cmocka_unit_test(parse),
        cmocka_unit_test(explanations),
    };
    return cmocka_run_group_tests_name("gic_choice", tests, NULL, NULL);
}
