/*
 * vm_control.c - starting and stopping a VM's vCPU threads (introduced in chapter 4).
 */
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

int vm_control_add_vcpu(struct vm_control *vm, struct vcpu *vcpu)
{
    if (vm->nr_vcpus >= VM_MAX_VCPUS)
        return -E2BIG;
    vm->vcpus[vm->nr_vcpus++] = vcpu;
    return 0;
}

int vm_control_start(struct vm_control *vm, unsigned index, void *(*fn)(void *), void *arg)
{
    if (index >= vm->nr_vcpus)
        return -EINVAL;
    int ret = pthread_create(&vm->threads[index], NULL, fn, arg);
    if (ret != 0)
        return -ret;
    vm->has_thread[index] = true;
    return 0;
}

void vm_stop(struct vm_control *vm, enum vm_stop_reason reason)
{
    int expected = VM_RUNNING;
    if (!atomic_compare_exchange_strong(&vm->reason, &expected, reason))
        return; /* already stopping: the first reason stands */

    pthread_mutex_lock(&vm->lock);
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        /* Step 1: a vCPU about to enter the guest will bounce straight back out. */
        __atomic_store_n(&vm->vcpus[i]->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        /* Step 2: a vCPU inside the guest is interrupted. */
        if (vm->has_thread[i] && !pthread_equal(vm->threads[i], pthread_self()))
            pthread_kill(vm->threads[i], KICK_SIGNAL);
    }
    pthread_cond_broadcast(&vm->stopped);
    pthread_mutex_unlock(&vm->lock);
}

enum vm_stop_reason vm_wait(struct vm_control *vm, unsigned timeout_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;

    pthread_mutex_lock(&vm->lock);
    while (!vm_stopping(vm)) {
        if (timeout_s == 0) {
            pthread_cond_wait(&vm->stopped, &vm->lock);
        } else if (pthread_cond_timedwait(&vm->stopped, &vm->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&vm->lock);
            vm_stop(vm, VM_STOP_TIMEOUT);
            pthread_mutex_lock(&vm->lock);
        }
    }
    pthread_mutex_unlock(&vm->lock);

    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        if (vm->has_thread[i]) {
            pthread_join(vm->threads[i], NULL);
            vm->has_thread[i] = false;
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
