/*
 * Chapter 1 - god kvm info: open /dev/kvm and ask what it can do.
 *
 * Before a VMM creates anything it asks the kernel two questions: "do you
 * speak the KVM API I was written for?" (KVM_GET_API_VERSION, always 12) and
 * "which optional features do you have?" (KVM_CHECK_EXTENSION, once per
 * capability; the table and its explanations are in common/kvm_info.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"
#include "kvm_info.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: god kvm info\n"
                 "  Show the KVM API version and the capabilities that matter on ARM64.\n");
}

static int cmd_kvm_info(void)
{
    int kvm = kvm_open();
    if (kvm < 0) {
        fprintf(stderr, "god: cannot open /dev/kvm: %s (%s)\n", strerror(-kvm),
                kvm_open_remedy(kvm));
        return 1;
    }

    int version = kvm_api_version(kvm);
    if (version < 0) {
        fprintf(stderr, "god: KVM_GET_API_VERSION: %s\n", strerror(-version));
        return 1;
    }
    printf("KVM API version: %d\n\n", version);
    if (version != KVM_EXPECTED_API_VERSION) {
        fprintf(stderr, "god: expected API version %d; this kernel speaks another KVM\n",
                KVM_EXPECTED_API_VERSION);
        return 1;
    }

    int ret = kvm_info_print(kvm, stdout);
    if (ret < 0) {
        fprintf(stderr, "god: probing KVM: %s\n", strerror(-ret));
        return 1;
    }
    close(kvm);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        usage(opt == 'h' ? stdout : stderr);
        return opt == 'h' ? 0 : 2;
    }
    if (argc - optind == 2 && strcmp(argv[optind], "kvm") == 0 &&
        strcmp(argv[optind + 1], "info") == 0)
        return cmd_kvm_info();
    usage(stderr);
    return 2;
}
