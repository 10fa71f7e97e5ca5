/*
 * disk_image.c - the host file behind a virtual disk: naming it, opening it,
 * locking it (introduced in chapter 8).
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "file.h"

/* Is arg[from, to) the option "ro"? */
static bool is_ro_option(const char *arg, size_t from, size_t to)
{
    return to - from == 2 && strncmp(arg + from, "ro", 2) == 0;
}

const char *disk_spec_parse(const char *arg, struct disk_spec *spec)
{
    size_t len = strlen(arg);

    spec->path = NULL;
    spec->read_only = false;
    /*
     * Options are the trailing parts after single commas, as long as every
     * one of them is an option we know: "a,b.img" is a file name, "a,ro" is
     * "a" read-only. A doubled comma is part of the name, never a separator.
     */
    size_t options = len; /* where the trailing run of options begins */
    size_t end = len;     /* the end of the part being looked at */
    for (size_t i = len; i-- > 0;) {
        if (arg[i] != ',')
            continue;
        /* A run of commas: an odd one out at its start is a separator. */
        size_t run_start = i;
        while (run_start > 0 && arg[run_start - 1] == ',')
            run_start--;
        size_t run = i + 1 - run_start;
        if (run % 2 == 0) {
            i = run_start; /* all doubled: part of the name */
            continue;
        }
        /* The separator is the run's last comma: ",,,ro" is "," then ",ro". */
        if (!is_ro_option(arg, i + 1, end))
            break;
        options = i;
        end = i;
    }
    char *path = malloc(options + 1);
    if (!path)
        return "out of memory";
    size_t n = 0;
    for (size_t i = 0; i < options; i++) {
        path[n++] = arg[i];
        if (arg[i] == ',' && i + 1 < options && arg[i + 1] == ',')
            i++;
    }
    path[n] = '\0';
    if (n == 0) {
        free(path);
        return "needs a file name: --disk FILE or --disk FILE,ro";
    }
    spec->read_only = options < len;
    spec->path = path;
    return NULL;
}

void disk_spec_free(struct disk_spec *spec)
{
    free(spec->path);
    spec->path = NULL;
}

int disk_image_open(struct disk_image *img, const char *path, bool read_only)
{
    struct stat st;
    int err;

    memset(img, 0, sizeof(*img));
    img->fd = -1;
    img->read_only = read_only;
    int fd = file_open_nonblocking(path, read_only ? O_RDONLY : O_RDWR, &st);
    if (fd < 0)
        return fd;
    img->dev = st.st_dev;
    img->ino = st.st_ino;
    img->is_block_device = S_ISBLK(st.st_mode);
    if (img->is_block_device) {
        err = ioctl(fd, BLKGETSIZE64, &img->size) < 0 ? -errno : 0;
    } else {
        err = file_check_regular(st.st_mode);
        img->size = (uint64_t)st.st_size;
    }
    if (!err && img->size < DISK_IMAGE_SECTOR_SIZE)
        err = -ENOSPC;
    if (err) {
        close(fd);
        return err;
    }
    img->fd = fd;
    return 0;
}

bool disk_image_same_file(const struct disk_image *img, const struct disk_image *other)
{
    return img->dev == other->dev && img->ino == other->ino;
}

int disk_image_lock(struct disk_image *img)
{
    /*
     * An OFD lock belongs to the open file description, not the process:
     * it is not dropped when some other descriptor of the same file is
     * closed (a classic POSIX lock is), and it goes away by itself when the
     * image is closed or god dies. l_len 0: to the end of the file, however
     * large it grows. F_SETLK, not F_SETLKW: tell the user, do not wait.
     */
    struct flock fl = {
        .l_type = img->read_only ? F_RDLCK : F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = 0,
        .l_len = 0,
    };
    if (fcntl(img->fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    return errno == EACCES ? -EAGAIN : -errno;
}

void disk_image_close(struct disk_image *img)
{
    if (img->fd >= 0)
        close(img->fd);
    img->fd = -1;
}

const char *disk_image_strerror(int err)
{
    switch (err) {
    case -ENOSPC:
        return "smaller than one 512-byte sector: a disk needs at least one";
    case -EAGAIN:
        return "in use: another process holds a lock on it (another god? share it read-only "
               "with ,ro everywhere)";
    case -EISDIR:
    case -ENODEV:
        return err == -ENODEV ? "not a regular file or a block device (a character device, "
                                "FIFO or socket)"
                              : file_strerror(err);
    default:
        return strerror(-err);
    }
}
