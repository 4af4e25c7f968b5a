# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# fuzz/fuzz.mk - libFuzzer harnesses of what svcd parses (fuzz/README.md),
# included by the Makefile after its own rules (it uses OUTPUT, Q, msg,
# CLANG, WARN, LIB_SRCS and LIB_LDLIBS from there).
#
#   make fuzz-build                  every harness into $(OUTPUT)/fuzz/
#   make fuzz [FUZZ_SECONDS=60]      build, run each that long on its corpus
#             [FUZZ=store,linesplit] (only those), one line each and a
#                                    summary (scripts/fuzz.sh)
#
# clang's libFuzzer with ASan and UBSan (Debian: libclang-rt-14-dev). The
# pure code of user/lib is built again into $(OUTPUT)/fuzz/obj with
# coverage and sanitizers; the harnesses need neither libbpf nor curl,
# but for fuzz_packet, which runs the shipped BPF objects (rules below).

# Wherever it is included, the Makefile's default goal stays its own.
FUZZ_OUTER_GOAL := $(.DEFAULT_GOAL)

FUZZ_SECONDS ?= 60
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 $(FUZZ_SAN) $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP \
	-Iinclude -Iuser/lib
FUZZ_LIB_OBJS := $(patsubst %.c,$(OUTPUT)/fuzz/obj/%.o,$(LIB_SRCS))
# kubeconfig.c's open() goes to the harness's fuzz_open(), which serves
# fuzz/files/ only (fuzz_kubeconfig.c says why).
FUZZ_KC_OBJ := $(OUTPUT)/fuzz/obj/user/lib/k8s/kubeconfig.o
FUZZ_KC_SANDBOXED := $(OUTPUT)/fuzz/obj/kubeconfig-sandboxed.o

.PHONY: fuzz fuzz-build fuzz-seed-packet
# Without clang's libFuzzer runtime nothing is built and scripts/fuzz.sh
# says SKIP for each harness. Asked of clang only when fuzzing.
ifneq ($(filter fuzz fuzz-build fuzz-seed-packet,$(MAKECMDGOALS)),)
FUZZ_RT := $(wildcard $(shell $(CLANG) -print-file-name=libclang_rt.fuzzer-$(shell uname -m).a 2>/dev/null))
endif
ifeq ($(FUZZ_RT),)
fuzz-build:
	@echo "  SKIP     fuzz: no libFuzzer runtime for $(CLANG) (make deps: libclang-rt-14-dev)"
else
fuzz-build: $(FUZZ_BINS)
endif

comma := ,
fuzz: fuzz-build
	$(Q)OUTPUT=$(OUTPUT) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		./scripts/fuzz.sh $(subst $(comma), ,$(FUZZ))

$(OUTPUT)/fuzz/obj/user/lib/%.o: user/lib/%.c
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/obj/fuzz_%.o: fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-DFUZZ_FILES_DIR='"$(CURDIR)/fuzz/files"' -c $< -o $@

$(FUZZ_KC_SANDBOXED): $(FUZZ_KC_OBJ)
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --redefine-sym open=fuzz_open $< $@

$(OUTPUT)/fuzz/fuzz_%: $(OUTPUT)/fuzz/obj/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LIB_LDLIBS) -o $@

$(OUTPUT)/fuzz/fuzz_kubeconfig: $(OUTPUT)/fuzz/obj/fuzz_kubeconfig.o \
		$(filter-out $(FUZZ_KC_OBJ),$(FUZZ_LIB_OBJS)) $(FUZZ_KC_SANDBOXED)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LIB_LDLIBS) -o $@

# fuzz_packet: the BPF programs through BPF_PROG_TEST_RUN, built with the
# prog tests' progtest.c and pktbuild.c against the skeletons and libbpf.
# (progtest.c asks the kernel's features as svcd does: user/sys/probe.c)
FUZZ_PKT_CFLAGS := $(FUZZ_CFLAGS) -I$(OUTPUT) -Iselftests -Iselftests/prog \
	-Iuser
FUZZ_PKT_OBJS := $(OUTPUT)/fuzz/obj/fuzz_packet.o \
	$(patsubst %.c,$(OUTPUT)/fuzz/obj/%.o,$(PROG_LIB_SRCS) \
		user/sys/probe.c user/lib/log.c)

$(OUTPUT)/fuzz/obj/fuzz_packet.o: fuzz/fuzz_packet.c | $(SKELS)
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_PKT_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# (clang, unlike gcc, warns of probe.c's feature table, whose rows leave
# the fields they do not use out)
$(OUTPUT)/fuzz/obj/user/sys/%.o: user/sys/%.c
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_PKT_CFLAGS) -Wno-missing-field-initializers \
		-fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/obj/selftests/prog/%.o: selftests/prog/%.c | $(SKELS)
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_PKT_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/fuzz_packet: $(FUZZ_PKT_OBJS)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(USER_LDLIBS) -o $@

# The seeds of fuzz/corpus/packet/test-*: the prog tests' packets.
fuzz-seed-packet: $(OUTPUT)/fuzz/fuzz_packet
	$(Q)rm -f fuzz/corpus/packet/test-*
	$(Q)mkdir -p fuzz/corpus/packet
	$(Q)FUZZ_PACKET_SEEDS=fuzz/corpus/packet $<

.DEFAULT_GOAL := $(FUZZ_OUTER_GOAL)
