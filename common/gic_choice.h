/*
 * gic_choice.h - which vGIC to give the guest (introduced in chapter 5).
 *
 * KVM offers a vGICv3 on a host whose own GIC is a v3 or v4 (servers, cloud
 * machines) and a vGICv2 on a GICv2 host (a Raspberry Pi 4 or 5: GIC-400);
 * a GICv3 with the optional GICv2 compatibility offers both. The user may
 * ask for one (--gic v2|v3) or let us pick (--gic auto: v3 when there is
 * one, the better controller: system-register CPU interface, affinity
 * routing, no 8-CPU limit).
 *
 * This is the policy only, as a pure function, so it is unit-tested without
 * KVM; common/gic.c asks KVM what the host offers (gic_probe()).
 */
#ifndef GOD_GIC_CHOICE_H
#define GOD_GIC_CHOICE_H

#include <stdbool.h>
#include <stddef.h>

enum gic_version {
    GIC_AUTO = 0, /* as an option: "pick for me" */
    GIC_V2 = 2,
    GIC_V3 = 3,
};

/*
 * A GICv2 names a CPU with one bit of an 8-bit mask (GICD_ITARGETSR, the SGI
 * target list): at most 8 CPUs. A GICv3 names them by affinity; our limit
 * is the room memmap.h leaves for redistributors.
 */
#define GIC_V2_MAX_VCPUS 8
#define GIC_V3_MAX_VCPUS 123

/* What the host's KVM can create: KVM_CREATE_DEVICE_TEST for each type. */
struct gic_host {
    bool v2, v3;
};

/* "v2", "v3" or "auto" into *out. Returns 0, or -EINVAL for anything else. */
int gic_version_parse(const char *text, enum gic_version *out);

/* "GICv2", "GICv3", or "auto". */
const char *gic_version_name(enum gic_version v);

/*
 * The version to create for `want` (GIC_AUTO or a version) on `host` with
 * nr_vcpus vCPUs: GIC_V2 or GIC_V3. Errors, negative:
 *   -ENODEV  the host offers no vGIC at all, or not the version asked for
 *   -E2BIG   too many vCPUs for the version chosen or asked for
 *   -EINVAL  nr_vcpus is 0, or `want` is not a version
 */
int gic_choose(const struct gic_host *host, enum gic_version want, unsigned nr_vcpus);

/*
 * One line for the user saying why gic_choose() returned `err` for these
 * arguments, into buf (always NUL-terminated). Returns buf.
 */
const char *gic_choice_explain(char *buf, size_t len, int err, const struct gic_host *host,
                               enum gic_version want, unsigned nr_vcpus);

#endif
