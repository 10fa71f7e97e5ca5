/*
 * stop_signals.h - signals that end god, and the terminal they leave behind (introduced in chapter
 * 7).
 *
 * A signal handler may only do async-signal-safe things, and stopping a VM
 * (kicking vCPU threads, flushing disks, restoring the terminal) is not one
 * of them. So there is no handler: the signals are blocked in every thread
 * and delivered to a signalfd instead, which one thread reads. To it a signal
 * is ordinary data. What it does depends on the signal:
 *
 *   SIGINT, SIGTERM, SIGHUP, SIGXCPU   the first one stops the VM cleanly
 *       (vm_stop(); main() shuts down as after a power-off and exits
 *       128 + the signal). SIGXCPU is the CPU-time soft limit: a clean stop
 *       before the hard limit's SIGKILL. If shutdown then hangs (a worker
 *       stuck in I/O), a second one restores the terminal and exits
 *       128 + its number at once: the user never needs SIGKILL.
 *   SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT and the
 *       real-time signals: nobody sends them to god on purpose, and their
 *       default action kills the process. They still do, but the terminal
 *       is restored first, and god dies of that same signal.
 *
 * SIGPIPE is ignored: a closed stdout is an EPIPE, which the console turns
 * into dropped output, not our death (the terminal going away also sends
 * SIGHUP, which stops the VM). SIGXFSZ is ignored: a disk file hitting the
 * size limit is an EFBIG the device turns into an I/O error for the guest.
 * SIGUSR1 is vm_control's kick. The synchronous faults (SIGSEGV, SIGBUS, ...)
 * cannot be blocked usefully: console.c restores the terminal in a handler.
 */
#ifndef GOD_STOP_SIGNALS_H
#define GOD_STOP_SIGNALS_H

#include "vm_control.h"

/*
 * Call before creating any other thread: they inherit the blocked mask.
 * `vm` must outlive every thread (the signal thread is never joined): a
 * static, not a local of main(). Returns 0 or -errno.
 */
int stop_signals_start(struct vm_control *vm);

/*
 * SIGUSR2 does not stop the VM: it calls fn(ctx) on the signal thread
 * (`god boot --stats` prints the exit counts so far). Call before
 * stop_signals_start(); without it SIGUSR2 is one of the signals above
 * that restore the terminal and end god.
 */
void stop_signals_on_usr2(void (*fn)(void *ctx), void *ctx);

/* The signal that stopped the VM, or 0. */
int stop_signals_received(void);

#endif
