/*
 * log.c - rate-limited warnings about guest behaviour (introduced in chapter 2).
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_bool muted;
static atomic_uint warnings;

static void vwarn(const char *fmt, va_list ap, const char *suffix)
{
    atomic_fetch_add(&warnings, 1);
    if (atomic_load(&muted))
        return;
    /* One fprintf per line keeps lines from different threads whole. */
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "god: %s%s\n", line, suffix);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap, "");
    va_end(ap);
}

void log_warn_limited(unsigned *counter, const char *fmt, ...)
{
    unsigned seen = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    va_list ap;
    va_start(ap, fmt);
    if (seen < LOG_RATELIMIT_BURST - 1)
        vwarn(fmt, ap, "");
    else if (seen == LOG_RATELIMIT_BURST - 1)
        vwarn(fmt, ap, " (further messages like this are suppressed)");
    else
        atomic_fetch_add(&warnings, 1);
    va_end(ap);
}

void log_set_muted(bool on)
{
    atomic_store(&muted, on);
}

unsigned log_warning_count(void)
{
    return atomic_load(&warnings);
}
