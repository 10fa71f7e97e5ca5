/*
 * log.h - warnings about what the guest does (introduced in chapter 2).
 *
 * common/ never exits and reports failures to its caller as -errno. The one
 * thing it may say by itself is that the *guest* did something odd (a write
 * to a register that does not exist, a malformed virtqueue): the VMM keeps
 * running, so there is no caller to hand an error to. Those messages go
 * through here so a busy guest cannot flood the terminal and unit tests can
 * silence them.
 */
#ifndef GOD_LOG_H
#define GOD_LOG_H

#include <stdbool.h>

/* Print "god: <message>\n" to stderr, unless logging is muted. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Rate-limited warning: each call site passes its own counter (a static
 * unsigned), and only its first LOG_RATELIMIT_BURST messages are printed;
 * the last one says that further ones are suppressed.
 */
#define LOG_RATELIMIT_BURST 5
void log_warn_limited(unsigned *counter, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Unit tests mute the log so expected warnings do not clutter their output. */
void log_set_muted(bool muted);

/* How many warnings were issued (printed or not): lets tests assert one was. */
unsigned log_warning_count(void);

#endif
