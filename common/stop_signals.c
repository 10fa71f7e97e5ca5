/*
 * stop_signals.c - SIGINT, SIGTERM and SIGHUP stop the VM cleanly (introduced in chapter 7).
 */
#include "stop_signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <unistd.h>

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

static int signal_fd = -1;

static void *signal_thread(void *arg)
{
    struct vm_control *vm = arg;
    struct signalfd_siginfo info;

    /* A blocked signal that arrives is queued on the signalfd: read it like data. */
    for (;;) {
        ssize_t n = read(signal_fd, &info, sizeof(info));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != sizeof(info))
            return NULL;
        atomic_store(&received, (int)info.ssi_signo);
        vm_stop(vm, VM_STOP_SIGNAL);
        return NULL;
    }
}

int stop_signals_start(struct vm_control *vm)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);

    /* Blocked here, and so in every thread created after us: none is interrupted. */
    sigset_t set = stop_set();
    int ret = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (ret != 0)
        return -ret;
    signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (signal_fd < 0)
        return -errno;

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
