/*
 * memmap.h - the guest physical memory map (introduced in chapter 2).
 *
 * The layout copies QEMU's "virt" board, so the addresses match what every
 * arm64 Linux tutorial and device tree you will find online uses. Everything
 * below 1 GiB is device space (MMIO: accesses exit to KVM or to us); guest
 * RAM starts at 1 GiB.
 *
 *   0x0000_0000 +--------------------------------+
 *               |  (unused: faults if touched)   |
 *   0x0800_0000 +--------------------------------+ GIC distributor     (ch05)
 *               |  GICD        64 KiB            |
 *   0x0801_0000 +--------------------------------+ GICv2 CPU interface (ch05,
 *               |  GICC        8 KiB             |  a vGICv2 only)
 *   0x080A_0000 +--------------------------------+ GIC redistributors  (ch05,
 *               |  GICR        128 KiB per vCPU  |  a vGICv3 only: two 64 KiB
 *               |                                |  frames each, RD_base and
 *               |                                |  SGI_base)
 *   0x0900_0000 +--------------------------------+ PL011 UART          (ch04)
 *               |  UART        4 KiB             |
 *   0x0A00_0000 +--------------------------------+ virtio-mmio windows (ch08)
 *               |  virtio #0..#31, 0x200 each    |
 *   0x0A00_4000 +--------------------------------+
 *               |  (unused)                      |
 *   0x4000_0000 +--------------------------------+ guest RAM           (ch02)
 *               |  RAM (--ram, 256 MiB default)  |
 *               |   +0x0000_0000 guest program / |
 *               |                kernel Image    |
 *               |   ...          initrd, DTB at  |
 *               |                the top (ch07)  |
 *               +--------------------------------+
 */
#ifndef GOD_MEMMAP_H
#define GOD_MEMMAP_H

#define GIC_DIST_BASE        0x08000000ULL
#define GIC_DIST_SIZE        0x00010000ULL
/*
 * A GICv2 has no redistributors but a memory-mapped CPU interface (GICC):
 * two 4 KiB pages, the second holding GICC_DIR (KVM_VGIC_V2_CPU_SIZE). A
 * GICv3 has no GICC here: its CPU interface is the ICC_* system registers.
 */
#define GIC_V2_DIST_SIZE     0x00001000ULL /* a GICv2 distributor is one 4 KiB page */
#define GIC_CPU_BASE         0x08010000ULL
#define GIC_CPU_SIZE         0x00002000ULL
#define GIC_REDIST_BASE      0x080A0000ULL
#define GIC_REDIST_SIZE_EACH 0x00020000ULL /* per vCPU */
#define GIC_REDIST_MAX_SIZE  0x00F60000ULL /* up to 0x09000000: room for 123 vCPUs */

#define PL011_BASE 0x09000000ULL
#define PL011_SIZE 0x00001000ULL

#define VIRTIO_MMIO_BASE  0x0A000000ULL
#define VIRTIO_MMIO_SIZE  0x00000200ULL /* one window per device */
#define VIRTIO_MMIO_COUNT 32

#define RAM_BASE         0x40000000ULL
#define RAM_DEFAULT_SIZE (256ULL << 20)

/*
 * Interrupt numbers as the device tree writes them: SPIs count from 0, and
 * the GIC's INTID is the SPI number + 32. PPIs count from 0 too, INTID = +16.
 */
#define SPI_INTID_BASE   32
#define PPI_INTID_BASE   16
#define PL011_SPI        1  /* INTID 33 */
#define VIRTIO_SPI_FIRST 16 /* virtio #n uses SPI 16 + n (INTID 48 + n) */

/* The architected timer PPIs (INTIDs), fixed by the Server Base System Architecture. */
#define TIMER_PPI_SEC_PHYS 29
#define TIMER_PPI_PHYS     30
#define TIMER_PPI_VIRT     27
#define TIMER_PPI_HYP      26

#endif
