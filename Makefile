# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcd - one entry point: all, check, demo, deps, bench, install, clean.
# `make V=1` shows full commands; `make SANITIZE=1` builds user code and
# tests with AddressSanitizer and UndefinedBehaviorSanitizer into build-san/.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
OUTPUT ?= build-san
else
OUTPUT ?= build
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
# user/ is four wings (docs/design.md): lib/ (pure), sys/ (kernel and
# network), svcd/ (the agent), svcctl/ (the CLI). lib/ is compiled with
# include/ and lib/ alone on its path and unit-tested without libbpf or
# libcurl on its link line, so it cannot reach up; the format tier checks
# every other direction (scripts/check-layout.sh).
USER_BASE_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP
LIB_CFLAGS := $(USER_BASE_CFLAGS) -Iinclude -Iuser/lib
USER_CFLAGS := $(USER_BASE_CFLAGS) -Iinclude -Iuser -Iuser/lib \
	-I$(OUTPUT) -Iselftests
USER_LDLIBS := $(shell pkg-config --libs libbpf libcjson libmnl yaml-0.1 \
	libcurl 2>/dev/null || echo -lbpf -lelf -lz -lcjson -lmnl -lyaml -lcurl)
# sys/http.c's listeners: svcd only.
HTTP_LDLIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || \
	echo -lmicrohttpd)
LIB_LDLIBS := $(shell pkg-config --libs libcjson yaml-0.1 2>/dev/null || \
	echo -lcjson -lyaml)
ifeq ($(SANITIZE),1)
SAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
USER_CFLAGS += $(SAN_CFLAGS)
LIB_CFLAGS += $(SAN_CFLAGS)
USER_LDFLAGS += -fsanitize=address,undefined
endif

BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
	-Iinclude -Ibpf -I/usr/include/$(MULTIARCH) -MMD -MP

# ---- sources ------------------------------------------------------------
BPF_PROGS := pod wire sock
BPF_OBJS := $(patsubst %,$(OUTPUT)/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_PROGS))

# The wings, found by directory: a new file needs no edit here.
LIB_SRCS := $(sort $(shell find user/lib -name '*.c'))
SYS_SRCS := $(sort $(wildcard user/sys/*.c))
SVCD_SRCS := $(sort $(wildcard user/svcd/*.c))
SVCCTL_SRCS := $(sort $(wildcard user/svcctl/*.c))

UNIT_SRCS := $(sort $(wildcard selftests/unit/test_*.c))
PROG_SRCS := $(sort $(wildcard selftests/prog/test_*.c))
TEST_LIB_SRCS := selftests/runner.c
PROG_LIB_SRCS := selftests/prog/pktbuild.c selftests/prog/progtest.c

objs = $(patsubst %.c,$(OUTPUT)/obj/%.o,$(1))

BINS := $(OUTPUT)/svcd $(OUTPUT)/svcctl
TEST_BINS := $(OUTPUT)/unit_tests $(OUTPUT)/prog_tests

.PHONY: all k8s check check-unit check-prog check-netns check-agent check-format \
	check-sanitize bench demo demo-k8s \
	deps install clean format vmtest vmtest-matrix
all: $(BINS) $(TEST_BINS)

# ---- BPF ----------------------------------------------------------------
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The netns tests' XDP_PASS program for router veths (lib.sh).
all: $(OUTPUT)/xdp_pass.bpf.o
$(OUTPUT)/xdp_pass.bpf.o: selftests/netns/xdp_pass.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# ---- user ---------------------------------------------------------------
$(OUTPUT)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

# lib/: include/ and lib/ only; no skeletons.
$(OUTPUT)/obj/user/lib/%.o: user/lib/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@

$(OUTPUT)/svcd: $(call objs,$(SVCD_SRCS) $(SYS_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ $(USER_LDLIBS) $(HTTP_LDLIBS) -o $@

$(OUTPUT)/svcctl: $(call objs,$(SVCCTL_SRCS) user/sys/pinned.c user/sys/probe.c \
	user/lib/log.c)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ $(USER_LDLIBS) -o $@

# ---- tools: test backends and load generators (no libbpf) -------------
TOOLS := $(OUTPUT)/svcd-echo $(OUTPUT)/svcd-load
all: $(TOOLS)
check-netns demo demo-k8s: $(TOOLS)

# Tools need no skeleton: a rule of their own, without the $(SKELS) order.
$(OUTPUT)/obj/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(OUTPUT)/svcd-echo: $(call objs,tools/echo.c)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ -o $@

$(OUTPUT)/svcd-load: $(call objs,tools/load.c)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ -lm -o $@

# The one tool with libbpf: per-packet cost of from_pod through
# BPF_PROG_TEST_RUN (make bench), built against the pod skeleton.
all: $(OUTPUT)/svcd-bpf-bench
$(OUTPUT)/obj/tools/bpf-bench.o: $(OUTPUT)/pod.skel.h
$(OUTPUT)/svcd-bpf-bench: $(call objs,tools/bpf-bench.c)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ $(USER_LDLIBS) -o $@

# ---- tests: test_<name>() functions are found here, not listed by hand ---
$(OUTPUT)/unit_tests.def: $(UNIT_SRCS) | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)grep -ho '^void test_[a-z0-9_]*(void)' $^ /dev/null | \
		sed 's/^void \(test_[a-z0-9_]*\)(void)/DEFINE_TEST(\1)/' > $@
$(OUTPUT)/prog_tests.def: $(PROG_SRCS) | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)grep -ho '^void test_[a-z0-9_]*(void)' $^ /dev/null | \
		sed 's/^void \(test_[a-z0-9_]*\)(void)/DEFINE_TEST(\1)/' > $@

$(OUTPUT)/obj/selftests/unit/main.o: selftests/main.c $(OUTPUT)/unit_tests.def
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -DTESTS_DEF='"unit_tests.def"' -c $< -o $@
$(OUTPUT)/obj/selftests/prog/main.o: selftests/main.c $(OUTPUT)/prog_tests.def
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -DTESTS_DEF='"prog_tests.def"' -c $< -o $@

$(OUTPUT)/unit_tests: $(OUTPUT)/obj/selftests/unit/main.o \
		$(call objs,$(UNIT_SRCS) $(TEST_LIB_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ $(LIB_LDLIBS) -o $@

$(OUTPUT)/prog_tests: $(OUTPUT)/obj/selftests/prog/main.o \
		$(call objs,$(PROG_SRCS) $(TEST_LIB_SRCS) $(PROG_LIB_SRCS) \
		user/sys/pinned.c user/sys/probe.c user/lib/log.c)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ $(USER_LDLIBS) -o $@

$(OUTPUT):
	@mkdir -p $@

# ---- entry points -------------------------------------------------------
# make check: every tier, one summary line `N passed, N failed` at the end.
check: all
	$(Q)OUTPUT=$(OUTPUT) ./selftests/run.sh

check-unit: $(OUTPUT)/unit_tests
	$(Q)OUTPUT=$(OUTPUT) ./selftests/run.sh unit
check-prog: $(OUTPUT)/prog_tests
	$(Q)OUTPUT=$(OUTPUT) ./selftests/run.sh prog
check-netns: $(BINS)
	$(Q)OUTPUT=$(OUTPUT) ./selftests/run.sh netns
check-agent: all
	$(Q)OUTPUT=$(OUTPUT) ./selftests/run.sh agent
check-format:
	$(Q)OUTPUT=$(OUTPUT) ./selftests/run.sh format

# The tiers CI runs under AddressSanitizer (with LeakSanitizer at exit) and
# UndefinedBehaviorSanitizer: the unit tests and the agent (svcd against a
# real API server); a report in any test's log fails it (netns/lib.sh).
check-sanitize:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 all
	$(Q)OUTPUT=build-san ./selftests/run.sh unit agent

# kubectl, etcd, kube-apiserver, kube-controller-manager and kube-proxy of
# the pinned Kubernetes, built once into /var/cache/svcd-k8s (needs Go;
# the agent tier of make check does this itself)
k8s:
	$(Q)./scripts/k8s.sh build

vmtest: all
	$(Q)OUTPUT=$(OUTPUT) ./scripts/vmtest.sh

# The same tiers on each kernel of the matrix (Debian 12's 6.1, its cloud
# flavour, 6.12): scripts/vmtest-matrix.sh; VMTEST_KERNELS picks others.
vmtest-matrix: all
	$(Q)OUTPUT=$(OUTPUT) ./scripts/vmtest-matrix.sh

demo: $(BINS)
	$(Q)OUTPUT=$(OUTPUT) ./scripts/demo.sh

# the same demo driven by a real API server (scripts/k8s.sh)
demo-k8s: $(BINS)
	$(Q)OUTPUT=$(OUTPUT) ./scripts/demo-k8s.sh

# make deps DEPS=--all: the bench and VM extras too (scripts/deps.sh -h)
deps:
	$(Q)./scripts/deps.sh $(DEPS)

bench: all
	$(Q)OUTPUT=$(OUTPUT) ./scripts/bench.sh

PREFIX ?= /usr/local
install: $(BINS)
	install -D -m 0755 $(OUTPUT)/svcd $(DESTDIR)$(PREFIX)/sbin/svcd
	install -D -m 0755 $(OUTPUT)/svcctl $(DESTDIR)$(PREFIX)/sbin/svcctl

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
include fuzz/fuzz.mk
