/*
 * file.h - read a whole file into memory, with a limit (introduced in chapter 7).
 */
#ifndef GOD_FILE_H
#define GOD_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read the regular file at `path` into a new malloc'd buffer (*buf, *len;
 * the caller frees it). Returns 0, -errno from open/read (-ENOENT: no such
 * file), -EINVAL when it is not a regular file, -EFBIG when it is larger
 * than `max` bytes: the limit is checked before anything is allocated.
 */
int file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len);

/* The size of a regular file. Returns 0, -EINVAL for anything else, or -errno. */
int file_size(const char *path, uint64_t *size);

#endif
