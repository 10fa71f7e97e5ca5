/*
 * sandbox.h - a seccomp filter for a running VMM (introduced in chapter 8).
 *
 * Everything god does once the guest runs is a short list of system calls:
 * KVM_RUN and a few other ioctls, reads and writes of file descriptors it
 * already holds, futexes, memory management, signals to its own threads.
 * If a guest ever found a bug in a device model and took over god, the
 * filter decides what it could do next: not open a file, not exec a
 * program, not create a socket. It is the last line of defence, behind the
 * checks every device model makes.
 *
 * The filter is built with libseccomp and applied to every thread of the
 * process at once (SECCOMP_FILTER_FLAG_TSYNC); threads created later
 * inherit it. A call outside the list kills the whole process (SIGSYS).
 */
#ifndef GOD_SANDBOX_H
#define GOD_SANDBOX_H

/*
 * Install the filter. Call it once all files, eventfds and the console are
 * set up, before the vCPUs start. Returns 0 or -errno.
 *
 * Test hook: with GOD_SANDBOX_SELFTEST=1 in the environment, god makes one
 * forbidden call (socket) right after installing the filter, so a test can
 * check that the filter kills it.
 */
int sandbox_apply(void);

#endif
