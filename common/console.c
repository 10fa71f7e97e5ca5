/*
 * console.c - the user's terminal as the guest's console (introduced in chapter 7).
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* One terminal per process, so its saved state is global: a signal handler needs it. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

void console_restore_terminal(void)
{
    if (termios_saved)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
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

void console_write(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stdout is gone (EPIPE, closed terminal): drop, don't kill the VM */
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

/* Hand bytes to the device, waiting while its buffer is full. False if we are stopping. */
static bool feed(struct console *con, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        size_t n = con->sink.receive(con->sink.ctx, buf, len);
        buf += n;
        len -= n;
        if (len == 0)
            break;
        /* Full: wait for the guest to read, but keep an eye on the stop pipe. */
        struct pollfd stop = {.fd = con->stop_pipe[0], .events = POLLIN};
        if (poll(&stop, 1, 0) > 0)
            return false;
        con->sink.wait_room(con->sink.ctx, 100);
    }
    return true;
}

static void *input_thread(void *arg)
{
    struct console *con = arg;
    uint8_t in[256];
    uint8_t out[sizeof(in) + 1];

    for (;;) {
        struct pollfd fds[2] = {
            {.fd = con->in_fd, .events = POLLIN},
            {.fd = con->stop_pipe[0], .events = POLLIN},
        };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        ssize_t got = read(con->in_fd, in, sizeof(in));
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0)
            break; /* end of input: the guest runs on without it */

        size_t pos = 0;
        while (pos < (size_t)got) {
            size_t out_len, used;
            enum console_action action =
                console_escape_filter(&con->esc, in + pos, (size_t)got - pos, out, &out_len, &used);
            pos += used;
            if (!feed(con, out, out_len))
                return NULL;
            if (action == CONSOLE_QUIT) {
                if (con->on_quit)
                    con->on_quit(con->quit_ctx);
                return NULL;
            }
            if (action == CONSOLE_HELP)
                print_help();
        }
    }
    return NULL;
}

int console_init(struct console *con, const struct console_sink *sink, void (*on_quit)(void *),
                 void *quit_ctx)
{
    memset(con, 0, sizeof(*con));
    con->in_fd = STDIN_FILENO;
    con->sink = *sink;
    con->on_quit = on_quit;
    con->quit_ctx = quit_ctx;
    if (pipe(con->stop_pipe) < 0)
        return -errno;

    con->is_tty = isatty(con->in_fd);
    if (!con->is_tty)
        return 0;

    if (tcgetattr(con->in_fd, &saved_termios) < 0)
        return -errno;
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
    if (con->stop_pipe[0] > 0) {
        close(con->stop_pipe[0]);
        close(con->stop_pipe[1]);
        con->stop_pipe[0] = con->stop_pipe[1] = 0;
    }
    console_restore_terminal();
}
