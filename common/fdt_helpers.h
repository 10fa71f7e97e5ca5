/*
 * fdt_helpers.h - checking libfdt calls without drowning the code in ifs
 * (introduced in chapter 7).
 *
 * Every libfdt call returns 0 or more on success and a negative FDT_ERR_*
 * code on failure (libfdt.h). Building a device tree is forty such calls in
 * a row; FDT_TRY wraps each one:
 *
 *     FDT_TRY(fdt_begin_node(fdt, "psci"));
 *
 * On failure it records which call failed, where, and libfdt's reason, then
 * makes the enclosing function return -ENOSPC (the blob's buffer is full,
 * FDT_ERR_NOSPACE: the caller may retry with a bigger one) or -EINVAL
 * (anything else: a bug in the tree we build). The caller prints one line:
 *
 *     god: device tree: fdt_begin_node(fdt, "psci"): FDT_ERR_BADSTATE (devicetree.c:120)
 *
 * The record lives in thread-local storage, like errno: each thread has its
 * own, and it keeps the *first* failure until fdt_helpers_clear() so that a
 * cascade of follow-up errors cannot hide the cause.
 */
#ifndef GOD_FDT_HELPERS_H
#define GOD_FDT_HELPERS_H

/* The enclosing function must return int (0 or -errno). */
#define FDT_TRY(expr)                                                                              \
    do {                                                                                           \
        int fdt_try_err = (expr);                                                                  \
        if (fdt_try_err < 0)                                                                       \
            return fdt_helpers_fail(fdt_try_err, #expr, __FILE__, __LINE__);                       \
    } while (0)

/*
 * Record a failed libfdt call (err < 0, an FDT_ERR_* code negated as libfdt
 * returns it) and return the errno it maps to: -ENOSPC or -EINVAL.
 */
int fdt_helpers_fail(int err, const char *expr, const char *file, int line);

/* Map a libfdt return value to 0 (for err >= 0) or -ENOSPC / -EINVAL. */
int fdt_helpers_errno(int err);

/*
 * "expr: FDT_ERR_xxx (file:line)" for the first failure since the last
 * fdt_helpers_clear(), or "no libfdt error" when there was none. The string
 * stays valid until the next call on this thread.
 */
const char *fdt_helpers_last_error(void);

/* Forget the recorded failure (do it before building a new tree). */
void fdt_helpers_clear(void);

#endif
