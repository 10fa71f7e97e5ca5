/*
 * timeline.c - where a boot spends its time, and its exits (introduced in chapter 7).
 */
#include "timeline.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static const char *const event_names[TIMELINE_EVENTS] = {
    [TIMELINE_START] = "god started",
    [TIMELINE_READY] = "machine ready (VM, devices, kernel, DTB)",
    [TIMELINE_FIRST_RUN] = "first KVM_RUN",
    [TIMELINE_FIRST_BYTE] = "first console byte",
    [TIMELINE_INIT] = "/init banner",
    [TIMELINE_PROMPT] = "shell prompt",
    [TIMELINE_STOP] = "stopped",
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void mark_locked(struct timeline *tl, enum timeline_event event)
{
    if (event >= TIMELINE_EVENTS || tl->seen[event])
        return;
    tl->seen[event] = true;
    tl->ns[event] = now_ns();
    if (tl->count)
        tl->count(tl->count_ctx, &tl->counts[event]);
    for (unsigned r = 0; tl->bus && r < tl->bus->count; r++)
        snprintf(tl->names[r], sizeof(tl->names[r]), "%s", tl->bus->regions[r].name);
}

int timeline_init(struct timeline *tl, const struct mmio_bus *bus, timeline_count_fn *count,
                  void *count_ctx)
{
    memset(tl, 0, sizeof(*tl));
    int err = pthread_mutex_init(&tl->lock, NULL);
    if (err)
        return -err;
    tl->bus = bus;
    tl->count = count;
    tl->count_ctx = count_ctx;
    atomic_init(&tl->console_done, false);
    mark_locked(tl, TIMELINE_START);
    return 0;
}

void timeline_destroy(struct timeline *tl)
{
    pthread_mutex_destroy(&tl->lock);
}

void timeline_mark(struct timeline *tl, enum timeline_event event)
{
    pthread_mutex_lock(&tl->lock);
    mark_locked(tl, event);
    pthread_mutex_unlock(&tl->lock);
}

/*
 * One step of a streaming search for `text`: *pos is how much of it the
 * bytes so far end with. Falling back to 0 (or 1) on a mismatch is exact
 * only because neither marker's first letter occurs in it again.
 */
static bool match_step(const char *text, unsigned *pos, uint8_t c)
{
    if ((uint8_t)text[*pos] == c)
        (*pos)++;
    else
        *pos = (uint8_t)text[0] == c;
    if (text[*pos] != '\0')
        return false;
    *pos = 0;
    return true;
}

void timeline_console(struct timeline *tl, const uint8_t *buf, size_t len)
{
    if (len == 0 || atomic_load_explicit(&tl->console_done, memory_order_relaxed))
        return;
    pthread_mutex_lock(&tl->lock);
    mark_locked(tl, TIMELINE_FIRST_BYTE);
    for (size_t i = 0; i < len; i++) {
        if (!tl->seen[TIMELINE_INIT] && match_step(TIMELINE_INIT_TEXT, &tl->init_pos, buf[i]))
            mark_locked(tl, TIMELINE_INIT);
        if (!tl->seen[TIMELINE_PROMPT] && match_step(TIMELINE_PROMPT_TEXT, &tl->prompt_pos, buf[i]))
            mark_locked(tl, TIMELINE_PROMPT);
    }
    if (tl->seen[TIMELINE_INIT] && tl->seen[TIMELINE_PROMPT])
        atomic_store(&tl->console_done, true);
    pthread_mutex_unlock(&tl->lock);
}

static const char *device_name(const struct timeline *tl, unsigned r)
{
    if (r < MMIO_BUS_MAX_REGIONS && tl->names[r][0])
        return tl->names[r];
    return r == MMIO_BUS_MAX_REGIONS ? "(nothing there)" : "?";
}

void timeline_print(struct timeline *tl, FILE *out)
{
    pthread_mutex_lock(&tl->lock);
    fprintf(out, "god: boot timeline (ms since god started; exits made since the line above)\n");
    fprintf(out, "  %9s %9s %8s  %-42s %s\n", "ms", "+ms", "exits", "event",
            "MMIO exits by device");
    int prev = -1;
    for (int e = 0; e < TIMELINE_EVENTS; e++) {
        if (!tl->seen[e])
            continue;
        double ms = (double)(tl->ns[e] - tl->ns[TIMELINE_START]) / 1e6;
        if (prev < 0) {
            fprintf(out, "  %9.1f %9s %8s  %s\n", ms, "-", "-", event_names[e]);
            prev = e;
            continue;
        }
        const struct timeline_counts *a = &tl->counts[prev], *b = &tl->counts[e];
        double step = (double)(tl->ns[e] - tl->ns[prev]) / 1e6;
        fprintf(out, "  %9.1f %9.1f %8lu  %s", ms, step, b->exits - a->exits, event_names[e]);
        /* The devices' column, when there is something in it. */
        int pad = 42 - (int)strlen(event_names[e]);
        const char *sep = " ";
        for (unsigned r = 0; r <= MMIO_BUS_MAX_REGIONS; r++) {
            unsigned long n = b->mmio[r] - a->mmio[r];
            if (n) {
                fprintf(out, "%*s%s%s %lu", pad > 0 ? pad : 0, "", sep, device_name(tl, r), n);
                sep = ", ";
                pad = 0;
            }
        }
        fprintf(out, "\n");
        prev = e;
    }
    for (int e = 0; e < TIMELINE_EVENTS; e++)
        if (!tl->seen[e])
            fprintf(out, "  (not seen: %s)\n", event_names[e]);
    pthread_mutex_unlock(&tl->lock);
}
