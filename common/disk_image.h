/*
 * disk_image.h - the host file behind a virtual disk: naming it, opening it,
 * locking it (introduced in chapter 8).
 *
 * A disk image is the one file a VMM writes on the user's behalf, so
 * mistakes here lose data. This file does the checks that must come before
 * the guest sees the disk:
 *
 *   - the option: --disk FILE[,ro]. A trailing ",ro" is the option; any
 *     other comma belongs to the file name ("a,b.img" is a file). To name a
 *     file that itself ends in ",ro", double the comma as QEMU does: the
 *     file "x,ro" is --disk x,,ro (and ",," is always a literal comma);
 *   - the file: a regular file or a block device of at least one 512-byte
 *     sector, opened without blocking (a FIFO would hold a plain open()
 *     forever) and refused with a reason when it is anything else;
 *   - the lock: two VMs writing one file system image corrupt it within
 *     seconds, so every image is locked for as long as it is open. An open
 *     file description lock (fcntl F_OFD_SETLK) over the whole file:
 *     exclusive for a writable disk, shared for a read-only one, so any
 *     number of VMs may share an image read-only and none may then write it.
 *     The lock is advisory: it stops other gods (and QEMU, which takes its
 *     own locks), not a process that never asks.
 *
 * Same file twice in one VM: two opens are two open file descriptions, so
 * the OFD lock would call it "another process". disk_image_same_file() lets
 * the caller say what really happened.
 */
#ifndef GOD_DISK_IMAGE_H
#define GOD_DISK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DISK_IMAGE_SECTOR_SIZE 512

/* What --disk said. `path` is a copy with ",," turned back into ",". */
struct disk_spec {
    char *path; /* malloc'd; free with disk_spec_free() */
    bool read_only;
};

/*
 * Parse FILE[,ro]. Returns NULL on success, or a sentence saying what is
 * wrong (an empty file name), for "god: --disk '%s': %s".
 */
const char *disk_spec_parse(const char *arg, struct disk_spec *spec);
void disk_spec_free(struct disk_spec *spec);

struct disk_image {
    int fd;
    bool read_only;
    bool is_block_device;
    uint64_t size; /* bytes, when opened */
    dev_t dev;     /* identity, to spot the same file given twice */
    ino_t ino;
};

/*
 * Open `path` read-only or read-write, without blocking, and check it is a
 * regular file or a block device of at least one sector. Does not lock.
 * Returns 0 or:
 *   -errno    from open/fstat/ioctl (-ENOENT, -EACCES, -EROFS...)
 *   -EISDIR   a directory
 *   -ENODEV   a character device, FIFO or socket
 *   -ENOSPC   smaller than one 512-byte sector (img->size says how small)
 * On error img->fd is -1 and nothing is left open.
 */
int disk_image_open(struct disk_image *img, const char *path, bool read_only);

/* Same file (device and inode) as `other`? */
bool disk_image_same_file(const struct disk_image *img, const struct disk_image *other);

/*
 * Take the image's lock (exclusive, or shared when read-only). Returns 0,
 * -EAGAIN when another process holds a conflicting lock, or -errno.
 */
int disk_image_lock(struct disk_image *img);

/* Close the file (which drops its lock). Safe on a closed image. */
void disk_image_close(struct disk_image *img);

/* A sentence for the errors above ("smaller than one 512-byte sector", ...). */
const char *disk_image_strerror(int err);

#endif
