/*
 * console.h - the user's terminal as the guest's console (introduced in chapter 7).
 *
 * Once Linux runs, the guest wants an interactive terminal: every key the
 * user presses must reach the guest as it is pressed (Ctrl-C included), and
 * the guest's output must appear as it is written. So when stdin is a
 * terminal we put it in raw mode - no line editing, no echo, no signals from
 * Ctrl-C - and an input thread feeds each byte to the console device (the
 * PL011 in chapter 7, the PL011 or virtio-console in chapter 8).
 *
 * Raw mode leaves the user without a way to stop the VMM, so one key is
 * ours: Ctrl-A, followed by x (quit), h (help) or Ctrl-A (send one Ctrl-A to
 * the guest). The terminal's settings are restored on every way out:
 * normal exit, error exit (atexit), fatal signals, and SIGINT/SIGTERM/SIGHUP.
 *
 * The escape must work whatever the guest does, and the guest may not be
 * reading at all (still booting, panicked, no driver for this device). So
 * the input thread never waits for the device: it reads the terminal, looks
 * at every byte for the escape, and parks the guest's bytes in a bounded
 * backlog that it hands over whenever the device says it has room
 * (console_input_room()). A terminal is always read; once CONSOLE_BACKLOG
 * bytes wait, further typing is dropped (and counted), as a real serial
 * line overruns. A pipe or file (a test driving the guest) is read only
 * while the backlog has room: nothing scripted is lost, and it can still
 * quit with Ctrl-A x as long as the guest reads its console, or with SIGTERM.
 * End of input stops reading; the guest keeps running until it powers off.
 */
#ifndef GOD_CONSOLE_H
#define GOD_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

/* The escape-key decoder, separate from any I/O so it can be unit-tested. */
enum console_action {
    CONSOLE_NONE,
    CONSOLE_QUIT, /* Ctrl-A x */
    CONSOLE_HELP, /* Ctrl-A h */
};

struct console_escape {
    bool pending; /* the last byte seen was Ctrl-A */
};

/*
 * Filter `len` input bytes: bytes for the guest are copied to `out` (which
 * must hold len + 1 bytes: an unknown escape passes the Ctrl-A on too), their
 * count stored in *out_len. Stops at the first command and returns it; *used
 * says how many input bytes were consumed.
 */
enum console_action console_escape_filter(struct console_escape *esc, const uint8_t *in, size_t len,
                                          uint8_t *out, size_t *out_len, size_t *used);

/*
 * Where input goes: the console device the guest reads. receive() must not
 * block: it takes what fits and returns how many bytes that was (0 when the
 * device has no room, or no driver yet). The device reports room later by
 * calling console_input_room().
 */
struct console_sink {
    size_t (*receive)(void *ctx, const uint8_t *buf, size_t len);
    void *ctx;
};

#define CONSOLE_BACKLOG 4096 /* typed bytes kept for a guest that is not reading */

struct console {
    int in_fd;
    bool is_tty;
    struct console_sink sink;
    void (*on_quit)(void *ctx); /* Ctrl-A x */
    void *quit_ctx;
    pthread_t thread;
    bool started;
    int stop_pipe[2]; /* a byte here ends the input thread */
    int room_fd;      /* an eventfd: the device may have room (console_input_room) */
    struct console_escape esc;

    /* Owned by the input thread: bytes for the guest that the device has not taken yet. */
    uint8_t backlog[CONSOLE_BACKLOG];
    size_t backlog_head, backlog_len;
    unsigned long dropped; /* typed on a terminal while the backlog was full */
};

/*
 * Take input from in_fd (STDIN_FILENO for god) for `sink`. If in_fd is a
 * terminal, put it into raw mode, remembering its settings and arranging for
 * them to be restored on exit and on fatal signals. Returns 0 or -errno.
 */
int console_init(struct console *con, int in_fd, const struct console_sink *sink,
                 void (*on_quit)(void *), void *quit_ctx);

/*
 * The device has room for input again (the guest read the PL011's FIFO,
 * posted virtio receive buffers, or a driver started). Wakes the input
 * thread; never blocks, so devices call it with their lock held. Its
 * argument is the struct console, untyped so that it can be registered as
 * a device callback directly. Devices call it only once vCPUs run, after
 * console_init().
 */
void console_input_room(void *console);

/* Start the input thread. Returns 0 or -errno. */
int console_start(struct console *con);

/*
 * Stop the input thread and restore the terminal; say how many typed bytes
 * were dropped, if any. Safe to call twice.
 */
void console_stop(struct console *con);

/* Put the terminal back as we found it. Async-signal-safe; safe to call any number of times. */
void console_restore_terminal(void);

/*
 * The console a Linux command line makes /dev/console: the value of its last
 * console= (Documentation/admin-guide/serial-console.rst: output goes to
 * every console=, "the last device will be used when you open
 * /dev/console"), e.g. "ttyAMA0" or "hvc0". Returns a pointer into cmdline
 * and stores the value's length, or returns NULL if there is no console=.
 */
const char *console_cmdline_console(const char *cmdline, size_t *len);

/* Write all of buf to stdout, retrying short writes; for the devices' transmit side. */
void console_write(const uint8_t *buf, size_t len);

#endif
