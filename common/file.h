/*
 * file.h - reading files whole and in place (introduced in chapter 2).
 *
 * A VMM reads a few files it is given (a guest program, a kernel, an
 * initrd) and must not trust them any more than the guest: each may be
 * missing, a directory, larger than guest RAM, or shrink while we read it.
 * These helpers check what can be checked before any memory is touched.
 */
#ifndef GOD_FILE_H
#define GOD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Open a regular file for reading and tell its size. Returns the fd, or
 * -errno (-ENOENT: no such file), -EISDIR for a directory, -ENODEV for
 * anything else that is not a regular file (a device such as /dev/zero, a
 * FIFO, a socket). The open never blocks: a FIFO with no writer would hold
 * a plain open() forever, so it is opened with O_NONBLOCK and refused by
 * the fstat() that follows.
 */
int file_open_regular(const char *path, uint64_t *size);

/*
 * Open `path` without blocking (O_NONBLOCK, cleared again afterwards) with
 * `flags` (O_RDONLY, O_RDWR...; O_CLOEXEC is added), then fstat it into *st.
 * Returns the fd or -errno. The caller checks the file type: by then a FIFO
 * or a device has been opened but not read, so nothing has waited.
 */
int file_open_nonblocking(const char *path, int flags, struct stat *st);

/* -EISDIR for a directory, -ENODEV for any other type that is not a regular file, else 0. */
int file_check_regular(mode_t mode);

/* A sentence for the errors of this file ("is a directory", "not a regular file ..."). */
const char *file_strerror(int err);

/*
 * Read len bytes at offset into buf, through short reads and signals. Stops
 * early only at the end of the file. Returns the bytes read, or -errno.
 */
int64_t file_read_at(int fd, void *buf, uint64_t len, uint64_t offset);

/*
 * Read the regular file at `path` into a new malloc'd buffer (*buf, *len;
 * the caller frees it). Returns 0, the errors of file_open_regular(), or
 * -EFBIG when it is larger than `max` bytes: the limit is checked before
 * anything is allocated.
 */
int file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len);

/* The size of a regular file. Returns 0, -errno, or file_check_regular()'s error. */
int file_size(const char *path, uint64_t *size);

#endif
