/*
 * fdt_helpers.c - recording the first failed libfdt call (introduced in chapter 7).
 */
#include "fdt_helpers.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

struct fdt_failure {
    int err; /* negative FDT_ERR_* code; 0 when nothing failed */
    const char *expr;
    const char *file;
    int line;
};

static __thread struct fdt_failure first_failure;
static __thread char message[512];

int fdt_helpers_errno(int err)
{
    if (err >= 0)
        return 0;
    /* The only failure a caller can fix: give the tree more room. */
    return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

int fdt_helpers_fail(int err, const char *expr, const char *file, int line)
{
    if (first_failure.err == 0) {
        first_failure.err = err;
        first_failure.expr = expr;
        first_failure.file = file;
        first_failure.line = line;
    }
    return fdt_helpers_errno(err);
}

const char *fdt_helpers_last_error(void)
{
    if (first_failure.err == 0)
        return "no libfdt error";
    /* __FILE__ may be a full path: keep the file name only. */
    const char *base = strrchr(first_failure.file, '/');
    base = base ? base + 1 : first_failure.file;
    /* fdt_strerror() names the code: "FDT_ERR_NOSPACE". */
    snprintf(message, sizeof(message), "%s: %s (%s:%d)", first_failure.expr,
             fdt_strerror(first_failure.err), base, first_failure.line);
    return message;
}

void fdt_helpers_clear(void)
{
    memset(&first_failure, 0, sizeof(first_failure));
}
