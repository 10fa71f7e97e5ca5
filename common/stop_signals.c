/*
 * stop_signals.c - SIGINT, SIGTERM and SIGHUP stop the VM cleanly (introduced in chapter 7).
 */
#include "stop_signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static atomic_int received;

static sigset_t stop_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

static void *signal_thread(void *arg)
{
    struct vm_control *vm = arg;
    sigset_t set = stop_set();
    int sig;

    if (sigwait(&set, &sig) == 0) {
        atomic_store(&received, sig);
        vm_stop(vm, VM_STOP_SIGNAL);
    }
    return NULL;
}

int stop_signals_start(struct vm_control *vm)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);

    sigset_t set = stop_set();
    int ret = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (ret != 0)
        return -ret;

    pthread_t thread;
    ret = pthread_create(&thread, NULL, signal_thread, vm);
    if (ret != 0)
        return -ret;
    /* It ends with the process; nobody needs to join it. */
    pthread_detach(thread);
    return 0;
}

int stop_signals_received(void)
{
    return atomic_load(&received);
}
