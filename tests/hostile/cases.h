/*
 * cases.h - the hostile cases, grouped by what they attack. Each group is a
 * table of {name, function}; a function returns NULL when god answered as
 * virtio 1.2 (or PSCI, or the memory map) says, or a short reason.
 */
#ifndef HOSTILE_CASES_H
#define HOSTILE_CASES_H

#include "driver.h"

#define CHECK(cond, why)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return why;                                                                            \
    } while (0)

/* The features the suite normally negotiates, and its usual queue size. */
#define STD_FEATURES (F_VERSION_1 | F_INDIRECT)
#define STD_QSIZE    16

extern const struct hostile_case transport_cases[], queue_cases[], blk_cases[], console_cases[],
    platform_cases[];
extern const unsigned transport_count, queue_count, blk_count, console_count, platform_count;

/* Give a device back its standard set-up (reset included). */
const char *std_init(struct vdev *d);

/* Fill / check a canary: bytes the device must not touch. */
void canary_fill(void *p, uint64_t len);
bool canary_intact(const void *p, uint64_t len);

#endif
