/*
 * vm_control.h - starting and stopping a VM's vCPU threads (introduced in chapter 4).
 *
 * Each vCPU runs in its own thread, inside KVM_RUN most of the time. Many
 * things can end the VM: a vCPU's guest powers off, a timeout, the user's
 * Ctrl-A x, a SIGTERM. Whoever decides calls vm_stop(); the first reason
 * given wins and every vCPU is kicked out of KVM_RUN:
 *
 *   1. set kvm_run->immediate_exit on every vCPU: a thread that is about to
 *      enter KVM_RUN returns at once with EINTR instead of entering
 *   2. send each vCPU thread a signal (SIGUSR1, with an empty handler):
 *      a thread already inside KVM_RUN returns with EINTR
 *
 * Together the two close the race a lone signal has (the signal arriving
 * just before the thread enters the guest). The main thread waits in
 * vm_wait(), which also implements the timeout.
 *
 * The stopper may be any thread, preempted anywhere, and right after the
 * stop main() unmaps every kvm_run and joins the threads. So the order is
 * made strict by one lock: the reason is published, and every vCPU kicked,
 * in one critical section, and vm_wait() looks at the reason under that
 * lock. When vm_wait() sees the VM stopping, the stopper has finished with
 * every kvm_run and thread; later vm_stop() calls find the reason set and
 * touch nothing. The vCPU list is complete before the first thread starts
 * (vm_control_add_vcpu() refuses afterwards), so a stop during start-up
 * sees every vCPU.
 */
#ifndef GOD_VM_CONTROL_H
#define GOD_VM_CONTROL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vcpu.h"

#define VM_MAX_VCPUS 32

enum vm_stop_reason {
    VM_RUNNING = 0,
    VM_STOP_POWEROFF, /* PSCI SYSTEM_OFF */
    VM_STOP_RESET,    /* PSCI SYSTEM_RESET */
    VM_STOP_TIMEOUT,  /* vm_wait()'s time ran out */
    VM_STOP_USER,     /* the user asked to quit (Ctrl-A x) */
    VM_STOP_SIGNAL,   /* SIGINT, SIGTERM or SIGHUP */
    VM_STOP_ERROR,    /* a vCPU failed or exited in a way we cannot handle */
};

struct vm_control {
    pthread_mutex_t lock; /* guards all below; held through a whole vm_stop() */
    pthread_cond_t stopped;
    /* An enum vm_stop_reason; written under the lock, read without it by vm_stopping(). */
    atomic_int reason;
    unsigned nr_vcpus;
    bool started; /* a vCPU thread was started: the list is closed */
    struct vcpu *vcpus[VM_MAX_VCPUS];
    pthread_t threads[VM_MAX_VCPUS];
    bool has_thread[VM_MAX_VCPUS]; /* started and not yet joined */
};

/* Install the kick signal's handler and reset the state. Returns 0 or -errno. */
int vm_control_init(struct vm_control *vm);

/*
 * Threads started from now on, by anyone (pthread_create with no
 * attributes), get a VM_THREAD_STACK stack instead of glibc's default, the
 * stack rlimit: 8 MiB. Not for the address space: where transparent huge
 * pages are on ("always"), an 8 MiB stack whose top happens to be 2 MiB
 * aligned is backed by a 2 MiB page as soon as the thread touches it, and
 * god's threads need a few KiB each. A stack smaller than 2 MiB never gets
 * one. Returns 0 or -errno.
 */
#define VM_THREAD_STACK (512u << 10)
int vm_control_small_stacks(void);

/*
 * Register a vCPU. All of them, before vm_control_start() starts the first.
 * Returns 0, -E2BIG (too many) or -EBUSY (threads already started).
 */
int vm_control_add_vcpu(struct vm_control *vm, struct vcpu *vcpu);

/*
 * Start fn(arg) on a new thread for vCPU `index`. If the VM is already
 * stopping, no thread is started. Returns 0 or -errno.
 */
int vm_control_start(struct vm_control *vm, unsigned index, void *(*fn)(void *), void *arg);

/* Stop the VM for `reason` (the first reason given wins) and kick every vCPU. */
void vm_stop(struct vm_control *vm, enum vm_stop_reason reason);

static inline bool vm_stopping(struct vm_control *vm)
{
    return atomic_load(&vm->reason) != VM_RUNNING;
}

/*
 * Wait until the VM stops, or `timeout_s` seconds (0 = forever), in which
 * case it is stopped with VM_STOP_TIMEOUT. Then join every vCPU thread.
 * Returns why it stopped. When it returns, no thread touches a vCPU again
 * through this vm_control: the vCPUs may be destroyed.
 */
enum vm_stop_reason vm_wait(struct vm_control *vm, unsigned timeout_s);

const char *vm_stop_reason_name(enum vm_stop_reason reason);

/*
 * For tests only: called by vm_stop() after it has decided to stop and
 * before it kicks anyone, where a preempted stopper would pause. A test
 * sleeps in it to show that vm_wait() waits for the stopper. NULL normally.
 */
extern void (*vm_control_stop_hook)(void);

#endif
