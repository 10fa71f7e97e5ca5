/*
 * clock.c - print CLOCK_MONOTONIC in nanoseconds, for tests/bench.sh.
 *
 * The emulated host's BusyBox `date` has no %N and /proc/uptime counts in
 * centiseconds; an MMIO exit takes microseconds (natively) to a fraction of
 * a millisecond (emulated), so the bench needs a finer clock. Monotonic, so
 * a clock step in the middle of a run cannot produce a negative time.
 * Static, so it runs in the emulated host without any libraries.
 */
#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime");
        return 1;
    }
    printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    return 0;
}
