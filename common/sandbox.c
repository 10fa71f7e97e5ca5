/*
 * sandbox.c - a seccomp filter for a running VMM (introduced in chapter 8).
 *
 * The list below is what god calls after sandbox_apply(), found by reading
 * the code paths from the vCPU loop, the device workers, the console and
 * the shutdown sequence, and checked by running a Linux guest with disk and
 * console under it (ch08's check.sh) and the hostile-guest suite.
 */
#include "sandbox.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/sched.h> /* CLONE_THREAD */
#include <seccomp.h>

/* System calls allowed with any arguments. */
static const int allowed[] = {
    /* file descriptors god already holds: disks, eventfds, the terminal, stderr */
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(preadv), /* virtio-blk: one call per request, however many segments */
    SCMP_SYS(pwritev),
    SCMP_SYS(fdatasync),
    SCMP_SYS(close),
    SCMP_SYS(ppoll),
    SCMP_SYS(newfstatat),
    SCMP_SYS(fstat),
    SCMP_SYS(lseek),
    /* the network card's backend (net_backend.c): frames, and stopping passt */
    SCMP_SYS(sendto),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(kill),
    SCMP_SYS(wait4),
    /* threads: locks, condition variables, creation and exit, per-thread state */
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sched_yield),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    /* memory: malloc, thread stacks, guest RAM's unmapping at exit */
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    /* signals: the kick that stops a vCPU (vm_control.c), the stop signals' thread */
    SCMP_SYS(tgkill),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    /* time: --timeout, condition variables with deadlines */
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(restart_syscall),
};

#ifdef __SANITIZE_ADDRESS__
/*
 * A sanitizer build (SANITIZE=1): the runtime reads /proc/self/maps when it
 * reports, and LeakSanitizer's check at exit stops the process with a
 * tracer task (clone without CLONE_THREAD, ptrace). Allowing that much
 * leaves a much weaker filter: good for testing god under both, not for use.
 */
static const int sanitizer_allowed[] = {
    SCMP_SYS(openat),
    SCMP_SYS(readlinkat),
    SCMP_SYS(getdents64),
    SCMP_SYS(statx),
    SCMP_SYS(clone),
    SCMP_SYS(ptrace),
    SCMP_SYS(wait4),
    SCMP_SYS(prctl),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(prlimit64),
    SCMP_SYS(getppid),
    SCMP_SYS(kill),
    SCMP_SYS(pipe2),
    SCMP_SYS(dup3),
    SCMP_SYS(uname),
    SCMP_SYS(sysinfo),
    SCMP_SYS(getrusage),
};
#endif

/* ioctl requests allowed, on any descriptor. */
static const unsigned long allowed_ioctls[] = {
    KVM_RUN,             /* the vCPU loop */
    KVM_IRQ_LINE,        /* device interrupts (gic.c) */
    KVM_IOEVENTFD,       /* removing the doorbells at shutdown (virtio_worker.c) */
    KVM_GET_ONE_REG,     /* --trace and the register dump after a vCPU failure */
    KVM_SET_VCPU_EVENTS, /* an external abort after KVM_EXIT_ARM_NISV (run_loop.c) */
    TCGETS,              /* the console: isatty() */
    TCSETS,              /* ... and restoring the terminal */
    TCSETSW,
    TCSETSF,
};

int sandbox_apply(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    int err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; !err && i < sizeof(allowed) / sizeof(allowed[0]); i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    /* ioctl's request is an int in the kernel: compare the low 32 bits only. */
    for (size_t i = 0; !err && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, allowed_ioctls[i]));
    /*
     * Threads, but no new processes: clone only with CLONE_THREAD. glibc
     * tries clone3 first, whose flags sit in memory where a filter cannot
     * look; ENOSYS makes it fall back to clone.
     */
    if (!err)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (!err)
        err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
#ifdef __SANITIZE_ADDRESS__
    for (size_t i = 0; !err && i < sizeof(sanitizer_allowed) / sizeof(sanitizer_allowed[0]); i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sanitizer_allowed[i], 0);
#endif
    if (!err)
        err = seccomp_load(ctx);
    seccomp_release(ctx);
    if (err)
        return err < 0 ? err : -EINVAL;

    if (getenv("GOD_SANDBOX_SELFTEST"))
        syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); /* forbidden: the filter kills us here */
    return 0;
}
