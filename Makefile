# followerd — GNU make build.
#
#   make                 build the daemon, the tools and the library
#   make test            build and run every unit and end-to-end test
#   make SANITIZE=1 test the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make ci              install test dependencies, make lint, then `make SANITIZE=1 test` (what CI runs)
#   make demo            install runtime dependencies, build, run the demo
#   make bench           long benchmarks (never part of `make test`; BENCH=name: one;
#                        installs their peers first: make bench-deps, as root)
#   make fuzz            libFuzzer targets (clang)
#   make install         honours PREFIX, DESTDIR, UNITDIR, SYSUSERSDIR
#                        (installs missing build libraries first, as root)
#   make dist-check      build the Debian package, lintian it, build the RPM
#                        (also run by make test, as tests/e2e/dist_check.sh)
#
# The library flags come from pkg-config when make reads this file.  So a
# target that may install packages first (demo, ci, bench, fuzz, install)
# runs the install, then its build in a second make started after it; and a
# build that starts without the libraries stops at once, saying so, instead
# of linking against nothing (tests/e2e/first_contact.sh holds this).
#
# Sources are found by wildcard: a new lib/FOLDER/NAME.c joins the library, a new
# tests/unit/test_NAME.c becomes a unit test, a new tests/e2e/NAME.sh an
# end-to-end test.  No edit of this file is needed for either.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libcurl openssl jansson libevent libevent_openssl libevent_pthreads libsystemd sqlite3 zlib libzstd libpcre2-8

ifeq ($(SANITIZE),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build
SANFLAGS :=
endif

CFLAGS ?= -O2 -g
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
PKG_OK := $(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo yes)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-Wformat=2 -Wvla -MMD -MP -Ilib $(PKG_CFLAGS) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread -lm

LIB_SRC := $(wildcard lib/*.c lib/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIBA := $(B)/libfollower.a

DAEMON_SRC := $(wildcard daemon/*.c)
LEADERCTL_SRC := $(wildcard cli/leaderctl*.c)
FOLLOWERCTL_SRC := $(wildcard cli/followerctl*.c)
TOOLS_SRC := $(wildcard tests/tools/*.c)

PROGS :=
ifneq ($(DAEMON_SRC),)
PROGS += $(B)/followerd
endif
ifneq ($(LEADERCTL_SRC),)
PROGS += $(B)/leaderctl
endif
ifneq ($(FOLLOWERCTL_SRC),)
PROGS += $(B)/followerctl
endif
TOOLS := $(TOOLS_SRC:tests/tools/%.c=$(B)/tools/%)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
CMOCKA_OK := $(shell $(PKG_CONFIG) --exists cmocka 2>/dev/null && echo yes)

MAN_PAGES := $(wildcard man/*.[158])

.PHONY: all test unit e2e ci demo bench fuzz install clean deps test-deps bench-deps format lint dist-check \
	pkgcheck pkgcheck-cmocka build-deps install-files fuzz-build
all: $(PROGS) $(TOOLS)

# Order-only: checked once per make, before the first compile.
pkgcheck:
ifneq ($(PKG_OK),yes)
	@echo "make: the build libraries were missing when this make started" \
	  "($(PKG_CONFIG) --exists $(PKGS) failed): run 'make deps' (as root), then make again" >&2
	@$(PKG_CONFIG) --print-errors --exists $(PKGS) || true
	@exit 1
endif

pkgcheck-cmocka: | pkgcheck
ifneq ($(CMOCKA_OK),yes)
	@echo "make: cmocka was missing when this make started: run 'make test-deps' (as root), then make again" >&2
	@exit 1
endif

$(B)/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(B)/followerd: $(DAEMON_SRC:%.c=$(B)/%.o) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/leaderctl: $(LEADERCTL_SRC:%.c=$(B)/%.o) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/followerctl: $(FOLLOWERCTL_SRC:%.c=$(B)/%.o) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tools/%: $(B)/tests/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/test_%.o: tests/unit/test_%.c | pkgcheck-cmocka
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -c -o $@ $<

$(B)/tests/test_%: $(B)/tests/test_%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

# The test runner prints TAP from every program and script and ends with
# "N passed, N failed".  TESTS=pattern narrows it (e.g. make test TESTS=proto).
test: all $(UNIT_BIN)
	BUILD=$(abspath $(B)) SANITIZE=$(SANITIZE) bash tests/run.sh $(TESTS)

unit: all $(UNIT_BIN)
	BUILD=$(abspath $(B)) SANITIZE=$(SANITIZE) bash tests/run.sh --unit $(TESTS)

e2e: all
	BUILD=$(abspath $(B)) SANITIZE=$(SANITIZE) bash tests/run.sh --e2e $(TESTS)

deps:
	bash scripts/deps.sh

test-deps:
	bash scripts/deps.sh --test

# the tests' dependencies and the benchmarks' peers (ClickHouse, DuckDB)
bench-deps:
	bash scripts/deps.sh --bench

# Only what is missing: quiet where pkg-config already finds every library
# (a package build, whose build dependencies are installed).
build-deps:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null || bash scripts/deps.sh

# What CI runs, and the README's test command: the layering check and
# cppcheck, then every test under the sanitizers.
ci: test-deps
	$(MAKE) lint
	$(MAKE) SANITIZE=1 test

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

bench: bench-deps
	$(MAKE) all
	BUILD=$(abspath $(B)) bash tests/bench/run.sh $(BENCH)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz: test-deps
	$(MAKE) fuzz-build

fuzz-build: | pkgcheck
	@mkdir -p build-fuzz
	for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -g -O1 -std=c11 -D_GNU_SOURCE -Ilib $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o build-fuzz/$$n $$f $(LIB_SRC) $(LIBS) || exit 1; \
	done

install: build-deps
	$(MAKE) install-files

install-files: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	if [ -f $(B)/followerd ]; then install -m 0755 $(B)/followerd $(DESTDIR)$(SBINDIR)/followerd; fi
	if [ -f $(B)/leaderctl ]; then install -m 0755 $(B)/leaderctl $(DESTDIR)$(BINDIR)/leaderctl; fi
	if [ -f $(B)/followerctl ]; then install -m 0755 $(B)/followerctl $(DESTDIR)$(BINDIR)/followerctl; fi
	for m in $(MAN_PAGES); do \
	  s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done
# The configuration is installed once (a local one is never overwritten);
# the example, the same text, every time.
	install -d $(DESTDIR)$(SYSCONFDIR)/followerd
	install -m 0644 conf/followerd.conf $(DESTDIR)$(SYSCONFDIR)/followerd/followerd.conf.example
	[ -f $(DESTDIR)$(SYSCONFDIR)/followerd/followerd.conf ] || \
	  install -m 0644 conf/followerd.conf $(DESTDIR)$(SYSCONFDIR)/followerd/followerd.conf
# systemd units (paths follow SBINDIR and SYSCONFDIR) and the system user.
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	for u in packaging/followerd.service packaging/followerd.socket; do \
	  sed -e 's|/usr/sbin/followerd|$(SBINDIR)/followerd|g' \
	      -e 's|/etc/followerd/|$(SYSCONFDIR)/followerd/|g' $$u >$(DESTDIR)$(UNITDIR)/$${u##*/}; \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/}; \
	done
	install -m 0644 packaging/followerd.sysusers $(DESTDIR)$(SYSUSERSDIR)/followerd.conf

# The .deb (with lintian) and the .rpm, built from a copy in build-dist/.
dist-check:
	bash scripts/dist-check.sh

# Every C file of the tree, as the repository's .clang-format lays it out.
FORMAT_SRC = $(wildcard lib/*/*.[ch] daemon/*.[ch] cli/*.[ch] tests/unit/*.c tests/fuzz/*.c \
	tests/tools/*.c tests/bench/*.c)

format:
	clang-format -i $(FORMAT_SRC)

lint:
	bash scripts/layers.sh
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: ok ($(words $(FORMAT_SRC)) files)"
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
	  --suppress=missingIncludeSystem -Ilib lib daemon cli

clean:
	rm -rf build build-san build-fuzz build-dist

-include $(shell find $(B) -name '*.d' 2>/dev/null)
.SECONDARY:
