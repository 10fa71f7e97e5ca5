/*
 * Chapter 2 - god memory: create a VM and give it RAM.
 *
 * A VM starts with an empty guest physical address space. Guest RAM is
 * ordinary memory of this process (an anonymous mmap); KVM_SET_USER_MEMORY_REGION
 * tells KVM "guest physical addresses [base, base + size) are these host
 * pages". From then on the guest and the VMM share those bytes: what the
 * guest stores at 0x40000000 the VMM reads at mem.host[0].
 *
 * The program shows the mapping from both sides - the guest physical range
 * and the line of /proc/self/maps that holds it - and checks that the kernel
 * agrees with what we asked for.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "guest_mem.h"
#include "kvm.h"
#include "memmap.h"
#include "size.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god memory [--ram SIZE]\n"
            "  Create a VM with SIZE bytes of RAM (default 256M) at guest physical\n"
            "  0x%llx and show where that RAM lives in this process.\n",
            RAM_BASE);
}

/*
 * Find our mapping in /proc/self/maps and print its line. Returns true when
 * a mapping starts at `host` and is exactly `size` bytes long: the kernel
 * gave us what we asked for.
 */
static bool show_host_mapping(const void *host, uint64_t size)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) {
        perror("god: /proc/self/maps");
        return false;
    }
    char line[512];
    bool found = false;
    while (fgets(line, sizeof(line), maps)) {
        unsigned long long start, end;
        if (sscanf(line, "%llx-%llx", &start, &end) != 2)
            continue;
        if (start == (uintptr_t)host) {
            printf("  /proc/self/maps   %s", line);
            found = (end - start == size);
            break;
        }
    }
    fclose(maps);
    return found;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"ram", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t ram_size = RAM_DEFAULT_SIZE;
    int opt;

    if (argc < 2 || strcmp(argv[1], "memory") != 0) {
        usage(stderr);
        return 2;
    }
    optind = 2;
    while ((opt = getopt_long(argc, argv, "m:h", options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (size_parse(optarg, &ram_size) < 0) {
                fprintf(stderr, "god: --ram %s: not a size (try 256M or 1G)\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }

    /* Refuse sizes that cannot be guest RAM before asking anyone for memory. */
    long page = sysconf(_SC_PAGESIZE);
    struct sysinfo si;
    if (ram_size == 0 || ram_size % (uint64_t)page != 0) {
        fprintf(stderr, "god: --ram must be a non-zero multiple of the page size (%ld bytes)\n",
                page);
        return 2;
    }
    /* 1. The system fd, then a VM: an empty guest physical address space. */
    int kvm = kvm_open();
    if (kvm < 0) {
        fprintf(stderr, "god: cannot open /dev/kvm: %s\n", strerror(-kvm));
        return 1;
    }
    /*
     * KVM gives a VM 40 bits of guest physical address space (1 TiB) unless
     * asked for more, and the most it can give is KVM_CAP_ARM_VM_IPA_SIZE
     * (chapter 1 lists it). Ask for what RAM needs, or say why not.
     */
    unsigned max_bits;
    uint64_t ram_end = ram_size > UINT64_MAX - RAM_BASE ? UINT64_MAX : RAM_BASE + ram_size;
    int vm = kvm_create_vm_for_ram(kvm, ram_end, &max_bits);
    if (vm == -E2BIG) {
        fprintf(stderr,
                "god: --ram %" PRIu64 " MiB: guest RAM would end at 0x%" PRIx64 ", beyond the "
                "%u-bit guest physical address space this host's KVM supports "
                "(KVM_CAP_ARM_VM_IPA_SIZE)\n",
                ram_size >> 20, ram_end, max_bits);
        return 2;
    }
    if (vm < 0) {
        fprintf(stderr, "god: KVM_CREATE_VM: %s\n", strerror(-vm));
        return 1;
    }
    /* Then the host: more guest RAM than it has could only end with the OOM killer. */
    if (sysinfo(&si) == 0 && ram_size > (uint64_t)si.totalram * si.mem_unit) {
        fprintf(stderr, "god: --ram %" PRIu64 " MiB is more than this host's %llu MiB of RAM\n",
                ram_size >> 20, ((unsigned long long)si.totalram * si.mem_unit) >> 20);
        return 2;
    }

    /* 2. Host memory for the guest's RAM. */
    struct guest_mem mem;
    int ret = guest_mem_alloc(&mem, RAM_BASE, ram_size);
    if (ret < 0) {
        fprintf(stderr, "god: allocating %" PRIu64 " MiB of guest RAM: %s\n", ram_size >> 20,
                strerror(-ret));
        return 1;
    }

    /* 3. Plug it into the guest physical address space as memory slot 0. */
    ret = kvm_set_memory(vm, 0, &mem);
    if (ret < 0) {
        fprintf(stderr,
                "god: KVM_SET_USER_MEMORY_REGION (slot 0, %" PRIu64 " MiB at 0x%" PRIx64 "): %s\n",
                ram_size >> 20, mem.gpa_base, strerror(-ret));
        return 1;
    }

    printf("VM created with %" PRIu64 " MiB of RAM in memory slot 0\n", ram_size >> 20);
    printf("  guest physical    %#010" PRIx64 "-%#010" PRIx64 "\n", mem.gpa_base,
           mem.gpa_base + mem.size - 1);
    printf("  host virtual      %p-%p\n", (void *)mem.host, (void *)(mem.host + mem.size - 1));
    bool ok = show_host_mapping(mem.host, mem.size);

    /* The same bytes, two names: write through the host side, read it back by guest address. */
    memcpy(mem.host, "god", 4);
    char back[4];
    ok = ok && guest_mem_read(&mem, RAM_BASE, back, sizeof(back)) == 0 && strcmp(back, "god") == 0;

    printf("%s\n", ok ? "mapping present with the requested size; slot accepted"
                      : "FAILED: the mapping is not what we asked for");
    guest_mem_free(&mem);
    close(vm);
    close(kvm);
    return ok ? 0 : 1;
}
