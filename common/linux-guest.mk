# linux-guest.mk - the Linux guest's files, for the chapters that boot one
# (introduced in chapter 7). Included after chapter.mk by a chapter that has
# its own kernel.config.
#
# `make prepare` builds the kernel Image from the chapter's kernel.config and
# the BusyBox initramfs, both cached (common/host/build-*.sh). A learner may
# bring their own for `make run` with KERNEL=path/to/Image and/or
# INITRD=path/to/initramfs: they are copied into the build directory as
# my-kernel and my-initrd, and the check still boots ours. CMDLINE="..."
# replaces god's default kernel command line (a kernel without the virtio
# console wants CMDLINE="console=ttyAMA0"). Use $(RUN_KERNEL), $(RUN_INITRD)
# and $(RUN_CMDLINE) in RUN.

RUN_KERNEL  = $(if $(KERNEL),my-kernel,Image)
RUN_INITRD  = $(if $(INITRD),my-initrd,initramfs.cpio.gz)
RUN_CMDLINE = $(if $(CMDLINE),--cmdline '$(CMDLINE)')

prepare: $(OUT)/Image $(OUT)/initramfs.cpio.gz $(if $(KERNEL),$(OUT)/my-kernel) \
         $(if $(INITRD),$(OUT)/my-initrd)

$(OUT)/Image: kernel.config $(HOSTSH)/build-kernel.sh
	$(Q)$(HOSTSH)/build-kernel.sh $@ kernel.config

$(OUT)/initramfs.cpio.gz: $(HOSTSH)/build-initramfs.sh
	$(Q)$(HOSTSH)/build-initramfs.sh $@

# Copied afresh whenever they differ.
$(OUT)/my-kernel $(OUT)/my-initrd: FORCE
	$(Q)f=$(if $(findstring my-kernel,$@),$(KERNEL),$(INITRD)); \
	test -f "$$f" || { echo "god: $$f: no such file" >&2; exit 1; }; \
	cmp -s "$$f" $@ || cp "$$f" $@

# Debian's stock arm64 kernel, which the milestones boot too: PL011, GICv3
# and the timer are built in, the virtio console is a module (so its console
# is ttyAMA0). A chapter adds `prepare: $(OUT)/debian-Image`.
$(OUT)/debian-Image:
	$(Q)rm -rf $(OUT)/debian-kernel && $(HOSTSH)/arm64-deb.sh linux-image-arm64 $(OUT)/debian-kernel
	$(Q)cp $(OUT)/debian-kernel/boot/vmlinuz-* $@ && rm -rf $(OUT)/debian-kernel
