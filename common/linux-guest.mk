# linux-guest.mk - the Linux guest's files, for the chapters that boot one
# (introduced in chapter 7). Included after chapter.mk by a chapter that has
# its own kernel.config.
#
# `make prepare` builds the kernel Image from the chapter's kernel.config and
# the BusyBox initramfs, both cached (common/host/build-*.sh). A learner may
# bring their own for `make run` with KERNEL=path/to/Image and/or
# INITRD=path/to/initramfs: they are copied into the build directory as
# my-kernel and my-initrd, and the check still boots ours. Use
# $(RUN_KERNEL) and $(RUN_INITRD) in RUN.

RUN_KERNEL = $(if $(KERNEL),my-kernel,Image)
RUN_INITRD = $(if $(INITRD),my-initrd,initramfs.cpio.gz)

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
