/*
 * oracle.h - checks beyond the sanitizers for the virtio fuzz targets.
 *
 * ASan catches a device model that reads or writes outside guest RAM; it
 * cannot catch one that writes inside RAM where it must not, or reports
 * more bytes than it could have written. Before the device runs, the oracle
 * looks at the guest's descriptor tables the way a device may use them
 * (every descriptor, every indirect table they point at) and notes which
 * bytes of RAM are device-writable: the used rings, and the buffers of
 * descriptors with VIRTQ_DESC_F_WRITE. Afterwards:
 *
 *   - every byte of RAM that changed must be device-writable;
 *   - every used element's len must be at most the writable length of the
 *     chain it names (section 2.7.8), walked with the device's own rules;
 *   - bytes a device hands to the host (console output) must come from
 *     device-readable buffers.
 *
 * The fuzz targets run the device in one thread on an input that does not
 * change, so a snapshot before and a comparison after are exact.
 */
#ifndef GOD_FUZZ_ORACLE_H
#define GOD_FUZZ_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

struct oracle_queue {
    uint64_t desc, avail, used; /* guest physical addresses, as the driver set them */
    uint32_t size;              /* a power of two, as the driver set it */
    bool indirect;              /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
};

/*
 * Snapshot RAM and note the writable and readable bytes of these queues.
 * Call it before the driver sets DRIVER_OK (the device may start then).
 */
void oracle_begin(const struct guest_mem *mem, const struct oracle_queue *queues, unsigned count);

/*
 * The driver may have set its queues up again since (raw register writes):
 * what those queues allow is allowed too. If they differ from the first
 * ones, used lengths are no longer checked (which rings were used when is
 * not known).
 */
void oracle_add(const struct oracle_queue *queues, unsigned count);

/* A host callback received these bytes from the device: they must be device-readable. */
void oracle_note_output(const void *host, size_t len);

/* Abort (with a message) if the device broke a rule above. */
void oracle_check(void);

#endif
