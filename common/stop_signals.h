/*
 * stop_signals.h - SIGINT, SIGTERM and SIGHUP stop the VM cleanly (introduced in chapter 7).
 *
 * A signal handler may only do async-signal-safe things, and stopping a VM
 * (kicking vCPU threads, flushing disks, restoring the terminal) is not one
 * of them. So there is no handler: the signals are blocked in every thread
 * and delivered to a signalfd instead, which one thread reads. To it a signal
 * is ordinary data, and it calls vm_stop() like anyone else. The main thread
 * then shuts down as after a power-off.
 *
 * SIGPIPE is ignored (a closed stdout is an EPIPE, not our death) and so is
 * SIGXFSZ (a disk file hitting the size limit is an EFBIG the device turns
 * into an I/O error for the guest).
 */
#ifndef GOD_STOP_SIGNALS_H
#define GOD_STOP_SIGNALS_H

#include "vm_control.h"

/*
 * Call before creating any other thread: they inherit the blocked mask.
 * Returns 0 or -errno.
 */
int stop_signals_start(struct vm_control *vm);

/* The signal that stopped the VM, or 0. */
int stop_signals_received(void);

#endif
