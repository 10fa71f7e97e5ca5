# chapter.mk - the build rules every chapter shares (introduced in chapter 1).
#
# A chapter's Makefile names what it is made of and includes this file:
#
#   COMMON := kvm.c vcpu.c        # the common/ modules it links
#   GUESTS := guest.S             # guest programs, assembled into guest.bin
#   RUN    := ./god run guest.bin # what `make run` does
#   LIBS   := libfdt-dev          # Debian -dev packages of libraries it links
#                                 # statically (LDLIBS := -lfdt)
#   RUN_DISK := disk.img          # a disk image in build/<chapter> that run uses
#
# A chapter whose milestone needs work on this side of the ARM64 host too has
# a check-host.sh: `check-host.sh prepare OUT` makes OUT/check.img, attached
# to the ARM64 host for check.sh, and `check-host.sh verify OUT` examines it
# afterwards.
#   include ../common/chapter.mk
#
# Targets: all (the default), prepare (all, plus the guest files run and
#   check use: a chapter adds them with `prepare: FILES`), run, check, clean.
#   god is a static aarch64 program in build/<chapter>/. On an x86_64 machine
#   it is cross-compiled with gcc-aarch64-linux-gnu; on arm64, built natively.
#   run and check execute on an ARM64 host with KVM: this machine if it is one,
#   otherwise an emulated one (common/host/arm64-host.sh; HOST= overrides).
# Variables: V=1 shows full commands, SANITIZE=1 builds with ASan + UBSan,
#   CROSS_COMPILE= picks another toolchain prefix.

TOP     := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
CHAPTER := $(notdir $(CURDIR))
OUT     := $(TOP)/build/$(CHAPTER)
HOSTSH  := $(TOP)/common/host

ifeq ($(shell uname -m),aarch64)
CROSS_COMPILE ?=
else
CROSS_COMPILE ?= aarch64-linux-gnu-
endif
CC      := $(CROSS_COMPILE)gcc
AS      := $(CROSS_COMPILE)as
LD      := $(CROSS_COMPILE)ld
OBJCOPY := $(CROSS_COMPILE)objcopy

CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(TOP)/common -MMD -MP
LDFLAGS := -static
ifeq ($(SANITIZE),1)
# The sanitizer runtimes need the dynamic loader: no -static here (the
# emulated host carries the aarch64 loader and libraries), but the LIBS are
# still linked statically so nothing else has to be shipped.
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS := -fsanitize=address,undefined
comma   := ,
LDLIBS  := $(if $(LDLIBS),-Wl$(comma)-Bstatic $(LDLIBS) -Wl$(comma)-Bdynamic)
endif
LDLIBS  += -lpthread

# Libraries for aarch64: on an arm64 machine the -dev packages themselves; on
# any other, their arm64 builds unpacked into build/sysroot (no dpkg
# architecture is added: see common/host/arm64-deb.sh).
ifneq ($(LIBS),)
ifeq ($(CROSS_COMPILE),)
EXTRA_PKGS += $(LIBS)
else
SYSROOT := $(TOP)/build/sysroot
CFLAGS  += -I$(SYSROOT)/usr/include -I$(SYSROOT)/usr/include/aarch64-linux-gnu
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif
endif

Q := $(if $(V),,@)
quiet = $(if $(V),,@echo "  $(1)$(if $(2), ,)$(2)";)

# Objects of a sanitizer build live apart, so switching SANITIZE rebuilds.
OBJ  := $(OUT)/obj$(if $(filter 1,$(SANITIZE)),-san)
OBJS := $(OBJ)/main.o $(patsubst %.c,$(OBJ)/common/%.o,$(COMMON))
BINS := $(patsubst %.S,$(OUT)/%.bin,$(GUESTS))

all: $(OUT)/god $(BINS) $(OUT)/check.sh

# The toolchain is installed on first use, and again when the chapter's
# Makefile changes (it may have gained a library).
$(OUT)/.toolchain: Makefile
	@mkdir -p $(@D)
	$(Q)$(HOSTSH)/deps.sh make $(if $(CROSS_COMPILE),gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross,gcc libc6-dev) $(EXTRA_PKGS)
	$(Q)$(foreach p,$(if $(SYSROOT),$(LIBS)),$(HOSTSH)/arm64-deb.sh $(p) $(SYSROOT) &&) true
	@touch $@

$(OBJ)/main.o: main.c | $(OUT)/.toolchain
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(CC) $(CFLAGS) -c -o $@ $<

$(OBJ)/common/%.o: $(TOP)/common/%.c | $(OUT)/.toolchain
	@mkdir -p $(@D)
	$(call quiet,CC,common/$(notdir $<))$(CC) $(CFLAGS) -c -o $@ $<

$(OBJ)/god: $(OBJS)
	$(call quiet,LD,$(CHAPTER)/god)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# build/<chapter>/god is whichever flavour was built last.
$(OUT)/god: $(OBJ)/god FORCE
	$(Q)cmp -s $< $@ || cp $< $@
FORCE:

# A guest program is linked to run at address 0 of wherever it is loaded (it
# uses only PC-relative addressing) and flattened to raw bytes: what the VMM
# copies into guest RAM is exactly what the CPU executes.
$(OUT)/%.o: %.S | $(OUT)/.toolchain
	@mkdir -p $(@D)
	$(call quiet,AS,$<)$(AS) -o $@ $<

$(OUT)/%.bin: $(OUT)/%.o
	$(call quiet,BIN,$(notdir $@))$(LD) -Ttext=0 -o $(@:.bin=.elf) $< && $(OBJCOPY) -O binary $(@:.bin=.elf) $@

$(OUT)/check.sh: check.sh
	@mkdir -p $(@D)
	$(Q)cp $< $@

# run and check happen on an ARM64 host with KVM (see common/host/arm64-host.sh).
# Exit status 5 is god's "you quit with Ctrl-A x": not an error to make.
prepare: all

run: prepare
	$(Q)$(HOSTSH)/arm64-host.sh -C $(CHAPTER) -t 0 $(if $(RUN_DISK),-d $(OUT)/$(RUN_DISK)) \
		-- $(RUN) || [ $$? -eq 5 ]

HOST_CHECK := $(wildcard check-host.sh)
check: prepare
	$(if $(HOST_CHECK),$(Q)sh check-host.sh prepare $(OUT))
	$(Q)$(HOSTSH)/arm64-host.sh -C $(CHAPTER) -t $(or $(CHECK_TIMEOUT),300) \
		$(if $(HOST_CHECK),-d $(OUT)/check.img) -s check.sh
	$(if $(HOST_CHECK),$(Q)sh check-host.sh verify $(OUT))

# For `make diff` (tests/chapter-diff.sh).
print-modules:
	@echo $(COMMON)

clean:
	rm -rf $(OUT)

.PHONY: all prepare run check clean print-modules FORCE
.DELETE_ON_ERROR:
.SECONDARY:
-include $(OBJS:.o=.d)
