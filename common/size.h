/*
 * size.h - parse sizes such as "256M" from the command line (introduced in chapter 2).
 */
#ifndef GOD_SIZE_H
#define GOD_SIZE_H

#include <stdint.h>

/*
 * Parse a byte count: digits, optionally followed by one of K, M, G or T
 * (binary: 1K = 1024), optionally followed by "B" or "iB" ("256M", "1GiB",
 * "4096"). Returns 0, or -EINVAL for anything else (empty, negative, junk
 * after the unit), -ERANGE when the value does not fit in 64 bits.
 */
int size_parse(const char *text, uint64_t *bytes);

#endif
