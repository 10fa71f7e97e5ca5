/*
 * timeline.h - where a boot spends its time, and its exits (introduced in chapter 7).
 *
 * `god boot --timeline` records when each step of a boot is reached, and
 * how many exits the guest made in each step:
 *
 *   god started          main() began
 *   machine ready        VM, vCPUs, GIC, devices, kernel, initrd and device tree in place
 *   first KVM_RUN        a vCPU thread entered the guest for the first time
 *   first console byte   the guest's first output (earlycon, or the console driver)
 *   /init banner         our initramfs's /init printed "god: Linux ..." (see below)
 *   shell prompt         "guest:" appeared: the shell is waiting for you
 *   stopped              the VM stopped
 *
 * The last two markers are text on the console, and the text is our
 * initramfs's (common/host/build-initramfs.sh): /init prints its banner
 * as soon as it has mounted /proc, /sys and /dev, and PS1 starts with
 * "guest:". Watching the console needs nothing from the guest, works for
 * the PL011 and hvc0 alike, and costs no exit (a marker *device*, like
 * Firecracker's boot timer, costs one exit and needs /dev/mem in the
 * guest's kernel). With another initramfs those two steps are simply not
 * seen.
 *
 * Wall time on a shared or emulated machine varies from run to run; the
 * exit counts do not, much: they are what to compare between two commits.
 *
 * Thread-safe: vCPU threads and device threads mark events; each event is
 * recorded the first time only.
 */
#ifndef GOD_TIMELINE_H
#define GOD_TIMELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmio_bus.h"

enum timeline_event {
    TIMELINE_START,
    TIMELINE_READY,
    TIMELINE_FIRST_RUN,
    TIMELINE_FIRST_BYTE,
    TIMELINE_INIT,
    TIMELINE_PROMPT,
    TIMELINE_STOP,
    TIMELINE_EVENTS
};

/* The console text that marks TIMELINE_INIT and TIMELINE_PROMPT (build-initramfs.sh). */
#define TIMELINE_INIT_TEXT   "god: Linux "
#define TIMELINE_PROMPT_TEXT "guest:"

/* Exits so far: all KVM_RUN returns, and the MMIO ones by device (index = bus region). */
struct timeline_counts {
    unsigned long exits;
    unsigned long mmio[MMIO_BUS_MAX_REGIONS + 1]; /* last: no device there */
};

/* Fills in the counts so far; called under the timeline's lock. */
typedef void timeline_count_fn(void *ctx, struct timeline_counts *out);

struct timeline {
    pthread_mutex_t lock;
    bool seen[TIMELINE_EVENTS];
    uint64_t ns[TIMELINE_EVENTS]; /* CLOCK_MONOTONIC */
    struct timeline_counts counts[TIMELINE_EVENTS];

    timeline_count_fn *count; /* NULL: no exit counts */
    void *count_ctx;
    const struct mmio_bus *bus; /* device names for the MMIO columns */

    /* The devices' names, copied at each mark: the VMM may tear the devices down before printing.
     */
    char names[MMIO_BUS_MAX_REGIONS][32];

    atomic_bool console_done; /* both console markers seen: stop scanning */
    unsigned init_pos, prompt_pos;
};

/* Start the timeline now (records TIMELINE_START). Returns 0 or -errno. */
int timeline_init(struct timeline *tl, const struct mmio_bus *bus, timeline_count_fn *count,
                  void *count_ctx);
void timeline_destroy(struct timeline *tl);

/* Record `event` now, unless it was recorded before. */
void timeline_mark(struct timeline *tl, enum timeline_event event);

/* Bytes the guest wrote to its console: marks first byte, /init banner and prompt. */
void timeline_console(struct timeline *tl, const uint8_t *buf, size_t len);

/* The table: one line per event seen, with the time and exits since the previous one. */
void timeline_print(struct timeline *tl, FILE *out);

#endif
