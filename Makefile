# god - a hypervisor from scratch, one chapter at a time. See README.md.
#
#   make                 build every chapter
#   make test            unit tests, then every chapter's milestone, the hostile-guest
#                        suite and the malformed-inputs table (tests/hostile); ends
#                        "N passed, N failed"
#   make test-native     make test with HOST=native inside an emulated Raspberry Pi 4
#                        with a Debian arm64 userland (long; not in CI)
#   make -C chNN run     run one chapter's demo (chNN check: its milestone)
#   make diff A=ch03-vcpu B=ch04-uart
#                        what a chapter adds: its diff plus the common/ modules it brings
#   make format          apply .clang-format (format-check only verifies)
#   make fuzz            run every fuzz target (tests/fuzz) for FUZZ_SECONDS each (default 60)
#   make bench           measure boot time, exit cost and memory
#   SANITIZE=1           build everything with ASan + UBSan
#   HOST=native|emulated run on this ARM64 machine, or in an emulated ARM64 host
#   EMU=server|rpi4      which machine the emulated host is (default server)

CHAPTERS := $(sort $(wildcard ch[0-9][0-9]-*))
SOURCES   = $(wildcard common/*.c common/*.h ch*/*.c tests/unit/*.c tests/fuzz/*.c tests/bench/*.c tests/hostile/*.c tests/hostile/*.h)

all: $(CHAPTERS)

$(CHAPTERS):
	@$(MAKE) --no-print-directory -C $@

# Everything the milestones need: the programs and the guest files (kernels,
# initramfs, disk images), built or fetched once and cached.
prepare:
	@for ch in $(CHAPTERS); do $(MAKE) --no-print-directory -C $$ch prepare || exit 1; done
	@$(MAKE) --no-print-directory -C tests/hostile

# The unit tests need no KVM and run here; the milestones need an ARM64 KVM
# host. Both print "<kind>: N passed, N failed"; the last line adds them up.
# On the emulated host the milestones and the hostile guest run twice, each
# in its own boot: on the server profile (GICv3, VHE) and on the Raspberry
# Pi 4 one (GICv2, nVHE): see common/host/arm64-host.sh. A native host is
# what it is: once. (The inputs table is host-side argument checking: once.)
test: prepare
	@set +e; \
	$(MAKE) --no-print-directory -C tests run 2>&1 | tee build/unit.log; \
	$(if $(wildcard tests/fuzz/Makefile),$(MAKE) --no-print-directory -C tests/fuzz smoke 2>&1 | tee build/fuzz.log;) \
	EMU=server SUITES="hostile hostile/inputs.sh" tests/milestones.sh $(CHAPTERS) 2>&1 | tee build/milestones.log; \
	for s in hostile inputs; do \
		tr -d '\r' <build/milestones.log | grep -E "^$$s: [0-9]+ passed, [0-9]+ failed$$" >build/$$s.log; \
	done; \
	logs="build/milestones.log build/hostile.log build/inputs.log"; \
	if [ "$$(common/host/arm64-host.sh -w)" = emulated ]; then \
		EMU=rpi4 SUITES=hostile tests/milestones.sh $(CHAPTERS) 2>&1 | tee build/milestones-rpi4.log; \
		tr -d '\r' <build/milestones-rpi4.log | grep -E "^hostile: [0-9]+ passed, [0-9]+ failed$$" >build/hostile-rpi4.log; \
		logs="$$logs build/milestones-rpi4.log build/hostile-rpi4.log"; \
	fi; \
	tests/total.sh build/unit.log $(if $(wildcard tests/fuzz/Makefile),build/fuzz.log) $$logs

check: test

# make test again, inside an emulated Raspberry Pi 4 with a Debian arm64
# userland, with HOST=native: the native path a learner on arm64 takes
# (tests/native.sh). Long (see README.md), so not part of test or CI.
test-native: prepare
	@tests/native.sh

diff:
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make diff A=chNN-... B=chMM-..."; exit 2; }
	@tests/chapter-diff.sh $(A) $(B)

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run -Werror $(SOURCES) && echo "format: clean"

fuzz:
	@$(MAKE) --no-print-directory -C tests/fuzz run

bench: all
	@tests/bench.sh

clean:
	rm -rf build

.PHONY: all prepare test test-native check diff format format-check fuzz bench clean $(CHAPTERS)
