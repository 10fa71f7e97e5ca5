/*
 * mkdisk.c - write the hostile suite's disk images (see pattern.h). Runs on
 * the build machine: mkdisk FILE rw|ro.
 */
#include <stdio.h>

#include "pattern.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mkdisk FILE rw|ro\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    unsigned long long bytes = argv[2][1] == 'o' ? RO_DISK_BYTES : DISK_BYTES;
    for (unsigned long long off = 0; off < bytes; off++)
        putc(pattern_byte(off), f);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
