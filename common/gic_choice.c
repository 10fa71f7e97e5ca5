/*
 * gic_choice.c - which vGIC to give the guest (introduced in chapter 5).
 */
#include "gic_choice.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int gic_version_parse(const char *text, enum gic_version *out)
{
    if (strcmp(text, "v2") == 0)
        *out = GIC_V2;
    else if (strcmp(text, "v3") == 0)
        *out = GIC_V3;
    else if (strcmp(text, "auto") == 0)
        *out = GIC_AUTO;
    else
        return -EINVAL;
    return 0;
}

const char *gic_version_name(enum gic_version v)
{
    return v == GIC_V2 ? "GICv2" : v == GIC_V3 ? "GICv3" : "auto";
}

static unsigned max_vcpus(enum gic_version v)
{
    return v == GIC_V2 ? GIC_V2_MAX_VCPUS : GIC_V3_MAX_VCPUS;
}

int gic_choose(const struct gic_host *host, enum gic_version want, unsigned nr_vcpus)
{
    if (nr_vcpus == 0 || (want != GIC_AUTO && want != GIC_V2 && want != GIC_V3))
        return -EINVAL;
    enum gic_version v = want;
    if (v == GIC_AUTO)
        v = host->v3 ? GIC_V3 : host->v2 ? GIC_V2 : GIC_AUTO;
    if (v == GIC_AUTO || (v == GIC_V3 && !host->v3) || (v == GIC_V2 && !host->v2))
        return -ENODEV;
    /*
     * No quiet fallback from v3 to v2 for many vCPUs, nor the other way
     * round: a machine that changes shape with --cpus would be a surprise.
     */
    if (nr_vcpus > max_vcpus(v))
        return -E2BIG;
    return v;
}

static const char *offered(const struct gic_host *host)
{
    return host->v2 && host->v3 ? "a GICv2 and a GICv3"
           : host->v3           ? "only a GICv3"
           : host->v2           ? "only a GICv2"
                                : "no in-kernel GIC";
}

const char *gic_choice_explain(char *buf, size_t len, int err, const struct gic_host *host,
                               enum gic_version want, unsigned nr_vcpus)
{
    if (err == -ENODEV && want == GIC_AUTO)
        snprintf(buf, len, "this host's KVM offers %s (is the vgic initialised in its dmesg?)",
                 offered(host));
    else if (err == -ENODEV)
        snprintf(buf, len, "--gic %s: this host's KVM offers %s%s", want == GIC_V2 ? "v2" : "v3",
                 offered(host),
                 want == GIC_V3 ? " (a vGICv3 needs a GICv3 host)"
                                : " (a vGICv2 needs a GICv2, or a GICv3 with v2 compatibility)");
    else if (err == -E2BIG) {
        enum gic_version v = want != GIC_AUTO ? want : host->v3 ? GIC_V3 : GIC_V2;
        snprintf(buf, len, "%u vCPUs: a %s serves at most %u%s", nr_vcpus, gic_version_name(v),
                 max_vcpus(v),
                 v == GIC_V2 ? " (it names CPUs with an 8-bit mask)" : " (memmap.h's room)");
    } else
        snprintf(buf, len, "cannot choose a GIC: %s", strerror(-err));
    return buf;
}
