/*
 * stop_signals.c - signals that end god, and the terminal they leave behind (introduced in chapter
 * 7).
 */
#include "stop_signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "console.h"

static atomic_int received;
static int signal_fd = -1;
static void (*usr2_fn)(void *);
static void *usr2_ctx;

void stop_signals_on_usr2(void (*fn)(void *ctx), void *ctx)
{
    usr2_fn = fn;
    usr2_ctx = ctx;
}

/* Ask for a clean stop; a second one means "now". */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGXCPU};

/* Terminate by default and nobody sends them on purpose: restore the terminal, then die of it. */
static const int fatal_signals[] = {SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT};

static bool is_stop_signal(int sig)
{
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        if (stop_signals[i] == sig)
            return true;
    return false;
}

static sigset_t handled_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaddset(&set, stop_signals[i]);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaddset(&set, fatal_signals[i]);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        sigaddset(&set, sig);
    return set;
}

/* Only write(): this may run while other threads are stuck holding stdio's locks. */
static void say(const char *a, const char *b, const char *c)
{
    const char *parts[] = {"\r\ngod: ", a, b, c, "\r\n"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        ssize_t ignored = write(STDERR_FILENO, parts[i], strlen(parts[i]));
        (void)ignored;
    }
}

static void die_of(int sig)
{
    console_restore_terminal();
    say("killed by signal ", strsignal(sig), "");
    /* Its action is still the default (we only ever blocked it): death. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    /* Unblocked in this thread only, so it is delivered here and takes the process down. */
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached */
}

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
        int sig = (int)info.ssi_signo;
        if (sig == SIGUSR2 && usr2_fn) {
            usr2_fn(usr2_ctx); /* --stats: a snapshot, and the VM runs on */
            continue;
        }
        if (!is_stop_signal(sig))
            die_of(sig);
        int first = 0;
        if (atomic_compare_exchange_strong(&received, &first, sig)) {
            vm_stop(vm, VM_STOP_SIGNAL);
            continue; /* and keep listening: shutdown may hang */
        }
        /* A second stop signal: the clean shutdown is taking too long for the user. */
        console_restore_terminal();
        say("second signal (", strsignal(sig), "): exiting without a clean shutdown");
        _exit(128 + sig);
    }
}

int stop_signals_start(struct vm_control *vm)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);

    /* Blocked here, and so in every thread created after us: none is interrupted. */
    sigset_t set = handled_set();
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
