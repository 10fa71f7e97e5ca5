/*
 * console.c - the user's terminal as the guest's console (introduced in chapter 7).
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

/* One terminal per process, so its saved state is global: a signal handler needs it. */
static struct termios saved_termios;
static int termios_fd;
static volatile sig_atomic_t termios_saved;

void console_restore_terminal(void)
{
    if (termios_saved)
        tcsetattr(termios_fd, TCSAFLUSH, &saved_termios);
}

/* A crash must not leave the user's shell in raw mode: restore, then die as we would have. */
static void on_fatal_signal(int sig)
{
    console_restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

enum console_action console_escape_filter(struct console_escape *esc, const uint8_t *in, size_t len,
                                          uint8_t *out, size_t *out_len, size_t *used)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (!esc->pending) {
            if (c == CONSOLE_ESCAPE)
                esc->pending = true;
            else
                out[n++] = c;
            continue;
        }
        esc->pending = false;
        if (c == 'x' || c == 'X' || c == 'h' || c == 'H' || c == '?') {
            *out_len = n;
            *used = i + 1;
            return (c == 'x' || c == 'X') ? CONSOLE_QUIT : CONSOLE_HELP;
        }
        /* Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A anything-else sends both. */
        if (c != CONSOLE_ESCAPE)
            out[n++] = CONSOLE_ESCAPE;
        out[n++] = c;
    }
    *out_len = n;
    *used = len;
    return CONSOLE_NONE;
}

const char *console_cmdline_console(const char *cmdline, size_t *len)
{
    static const char key[] = "console=";
    const char *found = NULL;

    for (const char *p = cmdline; p && *p;) {
        p += strspn(p, " \t\n");
        size_t word = strcspn(p, " \t\n");
        /* A whole parameter only: "earlycon=" or "xconsole=" are others. */
        if (word >= sizeof(key) - 1 && strncmp(p, key, sizeof(key) - 1) == 0) {
            found = p + sizeof(key) - 1;
            *len = word - (sizeof(key) - 1);
        }
        p += word;
    }
    return found;
}

void console_write(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        /*
         * Dropped, not retried: stdout is gone (EPIPE, a closed terminal), or
         * the write was interrupted (EINTR). The only signal that reaches a
         * thread writing here is the kick that stops the VM (vm_control.c):
         * a vCPU stuck on a stdout that nobody reads must let go, or
         * --timeout and SIGTERM would wait for that reader forever.
         */
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void print_help(void)
{
    static const char help[] = "\r\n[god] Ctrl-A x  quit     Ctrl-A h  this help     "
                               "Ctrl-A Ctrl-A  send Ctrl-A\r\n";
    console_write((const uint8_t *)help, sizeof(help) - 1);
}

/* ---- The backlog: a ring of bytes typed for the guest, owned by the input thread ---- */

static void backlog_push(struct console *con, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (con->backlog_len == CONSOLE_BACKLOG) {
            con->dropped += len - i;
            return;
        }
        con->backlog[(con->backlog_head + con->backlog_len++) % CONSOLE_BACKLOG] = buf[i];
    }
}

/* Offer the device as much of the backlog as it takes; it never blocks. */
static void backlog_flush(struct console *con)
{
    while (con->backlog_len > 0) {
        size_t run = CONSOLE_BACKLOG - con->backlog_head; /* contiguous up to the ring's end */
        if (run > con->backlog_len)
            run = con->backlog_len;
        size_t n = con->sink.receive(con->sink.ctx, con->backlog + con->backlog_head, run);
        con->backlog_head = (con->backlog_head + n) % CONSOLE_BACKLOG;
        con->backlog_len -= n;
        if (n < run)
            return; /* full: console_input_room() will wake us */
    }
}

/*
 * Read what is waiting on the input and decode it. Returns false after
 * Ctrl-A x (the input thread ends); sets *eof at the end of the input.
 */
static bool read_input(struct console *con, bool *eof)
{
    uint8_t in[256];
    uint8_t out[sizeof(in) + 1];
    size_t want = sizeof(in);

    /* A pipe is read no faster than the guest takes it (see console.h); +1: see the filter. */
    if (!con->is_tty && CONSOLE_BACKLOG - con->backlog_len < want + 1)
        want = CONSOLE_BACKLOG - con->backlog_len - 1;
    ssize_t got = read(con->in_fd, in, want);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (got <= 0) {
        *eof = true; /* end of input (or a dead terminal): the guest runs on without it */
        return true;
    }

    size_t pos = 0;
    while (pos < (size_t)got) {
        size_t out_len, used;
        enum console_action action =
            console_escape_filter(&con->esc, in + pos, (size_t)got - pos, out, &out_len, &used);
        pos += used;
        backlog_push(con, out, out_len);
        if (action == CONSOLE_QUIT) {
            if (con->on_quit)
                con->on_quit(con->quit_ctx);
            return false;
        }
        if (action == CONSOLE_HELP)
            print_help();
    }
    return true;
}

static void *input_thread(void *arg)
{
    struct console *con = arg;
    bool eof = false;

    for (;;) {
        backlog_flush(con);
        /* A terminal is always read, so the escape is seen; a pipe waits for backlog room. */
        bool want_input = !eof && (con->is_tty || con->backlog_len + 2 <= CONSOLE_BACKLOG);
        struct pollfd fds[3] = {
            {.fd = con->stop_pipe[0], .events = POLLIN},
            {.fd = con->room_fd, .events = POLLIN},
            {.fd = want_input ? con->in_fd : -1, .events = POLLIN}, /* -1: poll skips it */
        };
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents) {
            uint64_t count;
            ssize_t ignored = read(con->room_fd, &count, sizeof(count)); /* reset the eventfd */
            (void)ignored;
        }
        if (fds[2].revents && !read_input(con, &eof))
            break;
    }
    return NULL;
}

void console_input_room(void *console)
{
    struct console *con = console;
    uint64_t one = 1;
    /* Non-blocking: the counter cannot realistically overflow, and one wake-up is enough. */
    ssize_t ignored = write(con->room_fd, &one, sizeof(one));
    (void)ignored;
}

int console_init(struct console *con, int in_fd, const struct console_sink *sink,
                 void (*on_quit)(void *), void *quit_ctx)
{
    memset(con, 0, sizeof(*con));
    con->in_fd = in_fd;
    con->sink = *sink;
    con->on_quit = on_quit;
    con->quit_ctx = quit_ctx;
    con->stop_pipe[0] = con->stop_pipe[1] = -1;
    con->room_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (con->room_fd < 0 || pipe(con->stop_pipe) < 0)
        return -errno;

    con->is_tty = isatty(con->in_fd);
    if (!con->is_tty)
        return 0;

    if (tcgetattr(con->in_fd, &saved_termios) < 0)
        return -errno;
    termios_fd = con->in_fd;
    termios_saved = 1;
    atexit(console_restore_terminal);
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        signal(fatal[i], on_fatal_signal);

    /*
     * Raw mode, as cfmakeraw() sets it: bytes arrive one at a time, unechoed
     * (the guest echoes what it wants), Ctrl-C is a byte for the guest rather
     * than SIGINT for us, and output is passed through untranslated (the guest
     * sends its own \r\n).
     */
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(con->in_fd, TCSAFLUSH, &raw) < 0)
        return -errno;
    return 0;
}

int console_start(struct console *con)
{
    int ret = pthread_create(&con->thread, NULL, input_thread, con);
    if (ret != 0)
        return -ret;
    con->started = true;
    return 0;
}

void console_stop(struct console *con)
{
    if (con->started) {
        ssize_t ignored = write(con->stop_pipe[1], "x", 1);
        (void)ignored;
        pthread_join(con->thread, NULL);
        con->started = false;
    }
    for (int i = 0; i < 2; i++)
        if (con->stop_pipe[i] >= 0)
            close(con->stop_pipe[i]);
    if (con->room_fd >= 0)
        close(con->room_fd);
    con->stop_pipe[0] = con->stop_pipe[1] = con->room_fd = -1;
    console_restore_terminal();
    if (con->dropped) {
        fprintf(stderr,
                "god: %lu typed bytes were dropped: the guest was not reading its console\n",
                con->dropped);
        con->dropped = 0;
    }
}
