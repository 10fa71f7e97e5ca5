/*
 * tcp.c - one timed TCP transfer with a guest, for tests/bench.sh.
 *
 *   tcp recv PORT        accept one connection on PORT, read until the
 *                        peer closes (guest to host; we send one byte first,
 *                        see below)
 *   tcp send PORT BYTES  accept one connection on PORT, send BYTES zeros,
 *                        shut down our side, read until the peer closes
 *                        (host to guest: the guest's close means it has
 *                        read everything)
 *
 * Prints "ready" once listening, then "<bytes> <ns>" when done: the bytes
 * moved and the time from accept() to the peer's close, CLOCK_MONOTONIC.
 * Timing here, rather than around the command typed into the guest, leaves
 * out the console's latency and the time nc takes to start. The guest is
 * always the client, so with --net user passt connects to us through the
 * host's loopback. Static, for the emulated host; gives up after 900 s.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static char buf[65536];
    int sending = argc == 4 && strcmp(argv[1], "send") == 0;

    if (!sending && !(argc == 3 && strcmp(argv[1], "recv") == 0)) {
        fprintf(stderr, "usage: tcp recv PORT | tcp send PORT BYTES\n");
        return 2;
    }
    alarm(900); /* a transfer that never ends must not hang the bench */

    int one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, 1) < 0) {
        perror("tcp: listening");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    int s = accept(ls, NULL, NULL);
    if (s < 0) {
        perror("tcp: accept");
        return 1;
    }
    long long t0 = now_ns(), moved = 0;
    /*
     * Receiving, we still send the guest one byte ("\n", which its nc
     * prints). Debian 12's passt (2023-03-09) counts the guest's ACK of its
     * SYN-ACK only once the ACK number moves past it: over a connection
     * that carries nothing towards the guest it never does, passt takes
     * its SYN-ACK for unacknowledged, "retransmits" it 7 times and resets
     * the connection after ~24 s (fixed upstream in March 2023: "tcp: Don't
     * special case the handling of the ack of a syn").
     */
    if (!sending && send(s, "\n", 1, MSG_NOSIGNAL) != 1) {
        perror("tcp: send");
        return 1;
    }
    if (sending) {
        long long left = atoll(argv[3]);
        while (left > 0) {
            ssize_t n = send(s, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf),
                             MSG_NOSIGNAL);
            if (n < 0) {
                perror("tcp: send");
                return 1;
            }
            left -= n;
            moved += n;
        }
        shutdown(s, SHUT_WR);
    }
    for (;;) {
        ssize_t n = read(s, buf, sizeof(buf));
        if (n < 0) {
            perror("tcp: read");
            return 1;
        }
        if (n == 0)
            break;
        if (!sending)
            moved += n;
    }
    printf("%lld %lld\n", moved, now_ns() - t0);
    return 0;
}
