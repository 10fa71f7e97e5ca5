/*
 * vm_control.c - starting and stopping a VM's vCPU threads (introduced in chapter 4).
 */
#define _GNU_SOURCE /* pthread_timedjoin_np, pthread_setattr_default_np */
#include "vm_control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#define KICK_SIGNAL SIGUSR1

/* Nothing to do: the signal's only job is to make KVM_RUN return EINTR. */
static void on_kick(int sig)
{
    (void)sig;
}

int vm_control_small_stacks(void)
{
    pthread_attr_t attr;
    int ret = pthread_attr_init(&attr);
    if (ret == 0) {
        ret = pthread_attr_setstacksize(&attr, VM_THREAD_STACK);
        if (ret == 0)
            ret = pthread_setattr_default_np(&attr);
        pthread_attr_destroy(&attr);
    }
    return -ret;
}

int vm_control_init(struct vm_control *vm)
{
    memset(vm, 0, sizeof(*vm));
    atomic_init(&vm->reason, VM_RUNNING);
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->stopped, NULL);

    /* KVM_RUN returns EINTR for any caught signal and is never restarted. */
    struct sigaction sa = {.sa_handler = on_kick};
    sigemptyset(&sa.sa_mask);
    return sigaction(KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

void (*vm_control_stop_hook)(void);

int vm_control_add_vcpu(struct vm_control *vm, struct vcpu *vcpu)
{
    int ret = 0;
    pthread_mutex_lock(&vm->lock);
    if (vm->started)
        ret = -EBUSY;
    else if (vm->nr_vcpus >= VM_MAX_VCPUS)
        ret = -E2BIG;
    else
        vm->vcpus[vm->nr_vcpus++] = vcpu;
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

int vm_control_start(struct vm_control *vm, unsigned index, void *(*fn)(void *), void *arg)
{
    int ret = 0;
    pthread_mutex_lock(&vm->lock);
    vm->started = true;
    if (index >= vm->nr_vcpus || vm->has_thread[index])
        ret = -EINVAL;
    else if (!vm_stopping(vm)) /* stopped already: the vCPU never runs */
        ret = -pthread_create(&vm->threads[index], NULL, fn, arg);
    if (ret == 0 && !vm_stopping(vm))
        vm->has_thread[index] = true;
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

/* Called with the lock held. */
static void stop_locked(struct vm_control *vm, enum vm_stop_reason reason)
{
    if (vm_stopping(vm))
        return; /* the first reason stands, and its stopper kicked everyone */
    atomic_store(&vm->reason, reason);
    if (vm_control_stop_hook)
        vm_control_stop_hook();
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        /* Step 1: a vCPU about to enter the guest will bounce straight back out. */
        __atomic_store_n(&vm->vcpus[i]->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        /* Step 2: a vCPU inside the guest is interrupted. */
        if (vm->has_thread[i] && !pthread_equal(vm->threads[i], pthread_self()))
            pthread_kill(vm->threads[i], KICK_SIGNAL);
    }
    pthread_cond_broadcast(&vm->stopped);
}

void vm_stop(struct vm_control *vm, enum vm_stop_reason reason)
{
    pthread_mutex_lock(&vm->lock);
    stop_locked(vm, reason);
    pthread_mutex_unlock(&vm->lock);
}

enum vm_stop_reason vm_wait(struct vm_control *vm, unsigned timeout_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;

    pthread_mutex_lock(&vm->lock);
    while (!vm_stopping(vm)) {
        if (timeout_s == 0)
            pthread_cond_wait(&vm->stopped, &vm->lock);
        else if (pthread_cond_timedwait(&vm->stopped, &vm->lock, &deadline) == ETIMEDOUT)
            stop_locked(vm, VM_STOP_TIMEOUT);
    }
    /*
     * The reason is set, and it was set in the same critical section as the
     * kicks: whoever stopped the VM is done with the vCPUs. Join outside the
     * lock (a vCPU thread may be calling vm_stop() on its way out), and let
     * nobody kick a thread once it may be joined.
     */
    pthread_t threads[VM_MAX_VCPUS];
    unsigned count = 0;
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        if (vm->has_thread[i]) {
            threads[count++] = vm->threads[i];
            vm->has_thread[i] = false;
        }
    }
    pthread_mutex_unlock(&vm->lock);

    /*
     * One kick is not always enough: a vCPU that took it just before blocking
     * in host I/O (a write to a stdout nobody reads) sleeps on. Until each
     * thread has gone, kick it again every 50 ms; only we join these threads,
     * so they are still there to be kicked.
     */
    for (unsigned i = 0; i < count; i++) {
        for (;;) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 50 * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            if (pthread_timedjoin_np(threads[i], NULL, &until) != ETIMEDOUT)
                break;
            pthread_kill(threads[i], KICK_SIGNAL);
        }
    }
    return (enum vm_stop_reason)atomic_load(&vm->reason);
}

const char *vm_stop_reason_name(enum vm_stop_reason reason)
{
    switch (reason) {
    case VM_RUNNING:
        return "running";
    case VM_STOP_POWEROFF:
        return "the guest powered off (PSCI SYSTEM_OFF)";
    case VM_STOP_RESET:
        return "the guest asked for a reset (PSCI SYSTEM_RESET)";
    case VM_STOP_TIMEOUT:
        return "the time ran out";
    case VM_STOP_USER:
        return "you quit (Ctrl-A x)";
    case VM_STOP_SIGNAL:
        return "a signal stopped it";
    case VM_STOP_ERROR:
        return "a vCPU failed";
    }
    return "unknown";
}
