/*
 * console.h - the user's terminal as the guest's console (introduced in chapter 7).
 *
 * Once Linux runs, the guest wants an interactive terminal: every key the
 * user presses must reach the guest as it is pressed (Ctrl-C included), and
 * the guest's output must appear as it is written. So when stdin is a
 * terminal we put it in raw mode - no line editing, no echo, no signals from
 * Ctrl-C - and an input thread feeds each byte to the console device (the
 * PL011 in chapter 7, virtio-console in chapter 8).
 *
 * Raw mode leaves the user without a way to stop the VMM, so one key is
 * ours: Ctrl-A, followed by x (quit), h (help) or Ctrl-A (send one Ctrl-A to
 * the guest). The terminal's settings are restored on every way out:
 * normal exit, error exit (atexit), fatal signals, and SIGINT/SIGTERM/SIGHUP.
 *
 * When stdin is not a terminal (a test driving the guest through a pipe),
 * nothing changes mode; input is fed as it arrives, and end of input simply
 * stops feeding: the guest keeps running until it powers off.
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

/* Where input goes: the console device. */
struct console_sink {
    /* Offer bytes; returns how many the device took (0 when it has no room). */
    size_t (*receive)(void *ctx, const uint8_t *buf, size_t len);
    /* Block until the device may have room again, or timeout_ms passes. */
    void (*wait_room)(void *ctx, int timeout_ms);
    void *ctx;
};

struct console {
    int in_fd;
    bool is_tty;
    struct console_sink sink;
    void (*on_quit)(void *ctx); /* Ctrl-A x */
    void *quit_ctx;
    pthread_t thread;
    bool started;
    int stop_pipe[2]; /* a byte here ends the input thread */
    struct console_escape esc;
};

/*
 * Put stdin into raw mode if it is a terminal, remembering its settings and
 * arranging for them to be restored on exit and on fatal signals. Returns 0
 * or -errno.
 */
int console_init(struct console *con, const struct console_sink *sink, void (*on_quit)(void *),
                 void *quit_ctx);

/* Start the input thread. Returns 0 or -errno. */
int console_start(struct console *con);

/* Stop the input thread and restore the terminal. Safe to call twice. */
void console_stop(struct console *con);

/* Put the terminal back as we found it. Async-signal-safe; safe to call any number of times. */
void console_restore_terminal(void);

/* Write all of buf to stdout, retrying short writes; for the devices' transmit side. */
void console_write(const uint8_t *buf, size_t len);

#endif
