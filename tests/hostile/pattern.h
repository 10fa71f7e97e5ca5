/*
 * pattern.h - what the hostile suite's disk images hold: byte `off` of the
 * disk is pattern_byte(off). mkdisk.c writes it, the guest checks what it
 * reads against it, and check.sh compares the images afterwards with fresh
 * copies, so a write god should have refused cannot go unnoticed.
 */
#ifndef HOSTILE_PATTERN_H
#define HOSTILE_PATTERN_H

#include <stdint.h>

static inline uint8_t pattern_byte(uint64_t off)
{
    uint64_t sector = off >> 9;
    return (uint8_t)(sector * 131 + (off & 511) * 7 + (sector >> 3) + 1);
}

/* The read-write disk: 1 MiB and 100 bytes, so its last partial sector is not a sector. */
#define DISK_BYTES    (1048576 + 100)
#define DISK_SECTORS  2048
#define RO_DISK_BYTES 65536
/* Sectors the cases may write; the guest restores them before it powers off. */
#define SCRATCH_FIRST 1024
#define SCRATCH_COUNT 64

#endif
