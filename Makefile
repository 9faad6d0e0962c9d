# pyprime: byte-compile and strip Python sources through an embedded
# libpython3.
#
#   make                  build src/pyprime
#   make ARCH=arm64       cross-build build/arm64/pyprime (any Debian arch)
#   make check            build, then run the bats suite (tests/*.bats)
#   make check-cross ARCH=arm64   the suite against the arm64 build under
#                         qemu, installing what it needs when root (armhf:
#                         in a chroot)
#   make check SANITIZE=1 the same with ASan and UBSan
#   make fuzz             fuzz strip_source() for FUZZ_TIME seconds (30),
#                         from FUZZ_SEED (1; 0 for a random one)
#   make install          into $(DESTDIR)$(PREFIX)
#
# CC, PKG_CONFIG, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX and DESTDIR are honoured;
# cross builds pass triplet-prefixed CC and PKG_CONFIG (debian/rules does),
# or ARCH, which picks them and builds out of tree in BUILDDIR.  SYSROOT
# builds against a root filesystem of that architecture instead of multiarch
# packages.  The fuzzer is built with FUZZ_CC (clang) and FUZZ_CFLAGS.

# The version is debian/changelog's, written nowhere else.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
ifeq ($(VERSION),)
$(error no version in debian/changelog)
endif

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
# The interpreter module, pyprime-python.so (src/pyload.c).
PKGLIBDIR ?= $(PREFIX)/lib/pyprime
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
PKG_CONFIG ?= pkg-config
INSTALL ?= install
CFLAGS ?= -O2 -g
BATS ?= bats
FUZZ_CC ?= clang
FUZZ_CFLAGS ?= -O1 -g
FUZZ_TIME ?= 30
FUZZ_SEED ?= 1

# make ARCH=arm64: $(TRIPLET)-gcc and $(TRIPLET)-pkg-config, objects and
# binary in build/arm64, so that the native ones in src/ stay.  Only from the
# command line: some environments export an unrelated ARCH.
ifeq ($(origin ARCH),command line)
TRIPLET := $(shell dpkg-architecture -a$(ARCH) -qDEB_HOST_GNU_TYPE 2>/dev/null)
BUILDDIR ?= build/$(ARCH)
ifeq ($(origin CC),default)
CC = $(TRIPLET)-gcc
endif
PKG_CONFIG = $(TRIPLET)-pkg-config
endif
BUILDDIR ?= src
# (override: debhelper passes CC and PKG_CONFIG on the command line)
ifdef SYSROOT
TRIPLET ?= $(shell $(CC) -dumpmachine)
override CC += --sysroot=$(SYSROOT)
override PKG_CONFIG := PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) \
	PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/$(TRIPLET)/pkgconfig:$(SYSROOT)/usr/share/pkgconfig \
	pkg-config
endif

PY_CFLAGS := $(shell $(PKG_CONFIG) --cflags python3-embed)
PY_LIBS := $(shell $(PKG_CONFIG) --libs python3-embed)
PY_SERIES := $(shell $(PKG_CONFIG) --modversion python3-embed)
ifeq ($(PY_SERIES),)
$(error no python3-embed for $(PKG_CONFIG): install python3-dev)
endif

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifeq ($(SANITIZE),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif

# Large files and 64-bit time_t on 32-bit targets; user flags last so that
# dpkg-buildflags' hardening wins.
ALL_CPPFLAGS = -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 \
	-DPYPRIME_VERSION='"$(VERSION)"' -DPYRT_SERIES='"$(PY_SERIES)"' \
	-DPYRT_MODULE='"$(PKGLIBDIR)/pyprime-python.so"' \
	$(PY_CFLAGS) $(CPPFLAGS)
# Nothing here reads errno or traps after a maths function: sqrt(),
# floor(), ceil() and round() become instructions, and the binary needs
# no libm where the CPU has them (--as-needed).
ALL_CFLAGS = -std=gnu11 $(WARNINGS) -fno-math-errno -fno-trapping-math \
	$(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

# Every src/*.c is a module of the one program; the pyrt*.c ones, which
# include Python.h, are linked with libpython into the module it loads
# when it needs the interpreter (src/pyload.c), the rest into the program,
# whose symbols the module uses.
MODULES = $(patsubst src/%.c,%,$(sort $(wildcard src/*.c)))
PYRT_MODULES = $(filter pyrt%,$(MODULES))
OBJS = $(MODULES:%=$(BUILDDIR)/%.o)
PYRT_OBJS = $(PYRT_MODULES:%=$(BUILDDIR)/%.o)
PROG_OBJS = $(filter-out $(PYRT_OBJS),$(OBJS))
BIN = $(BUILDDIR)/pyprime
PYMOD = $(BUILDDIR)/pyprime-python.so

# A sanitized build must not mix with a plain one.
BUILD_FLAVOUR = $(if $(SANITIZE),sanitize,plain)

all: $(BIN) $(PYMOD)

$(BIN): $(PROG_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -rdynamic -o $@ $(PROG_OBJS) \
		-Wl,--as-needed -lm

$(PYMOD): $(PYRT_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -shared -o $@ $(PYRT_OBJS) $(PY_LIBS)

# Only the module's one symbol is seen from outside it (pyrt-ops.h).
$(PYRT_OBJS): MODULE_CFLAGS = -fPIC -fvisibility=hidden

$(BUILDDIR)/%.o: src/%.c $(BUILDDIR)/.flavour-$(BUILD_FLAVOUR)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(MODULE_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILDDIR)/.flavour-$(BUILD_FLAVOUR):
	mkdir -p $(BUILDDIR)
	rm -f $(BUILDDIR)/*.o $(BUILDDIR)/.flavour-*
	touch $@

# A sanitized run aborts at the first report.
ifeq ($(SANITIZE),1)
CHECK_ENV = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
endif

check: $(BIN) $(PYMOD)
	$(CHECK_ENV) PYPRIME=$(CURDIR)/$(BIN) $(BATS) tests

# Installs the cross compiler, the libraries and qemu when root (for armhf,
# a debootstrap'd chroot), builds with ARCH and runs the suite against that
# binary under qemu-user; see tests/cross.sh.
check-cross:
	sh tests/cross.sh $(ARCH)

# The fuzzer drives the pure-C stripper and tokenizer, built again with
# clang's libFuzzer, ASan and UBSan, without libpython.
FUZZ_OBJS = tests/fuzz/strip.o tests/fuzz/src-strip.o tests/fuzz/src-pytok.o \
	tests/fuzz/src-util.o
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_ALL_CFLAGS = -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -Isrc \
	-fsanitize=fuzzer-no-link $(FUZZ_SAN) $(FUZZ_CFLAGS)

fuzz: tests/fuzz/fuzz-strip
	tests/fuzz/run tests/fuzz/fuzz-strip $(FUZZ_TIME) $(FUZZ_SEED)

tests/fuzz/fuzz-strip: $(FUZZ_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $(FUZZ_CFLAGS) -o $@ $(FUZZ_OBJS)

tests/fuzz/strip.o: tests/fuzz/strip.c
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -MMD -MP -c -o $@ $<

tests/fuzz/src-%.o: src/%.c
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -MMD -MP -c -o $@ $<

install: $(BIN) $(PYMOD)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BIN) $(DESTDIR)$(BINDIR)/pyprime
	$(INSTALL) -m 644 $(PYMOD) $(DESTDIR)$(PKGLIBDIR)/pyprime-python.so
	$(INSTALL) -m 644 src/pyprime.1 $(DESTDIR)$(MANDIR)/man1/pyprime.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pyprime $(DESTDIR)$(MANDIR)/man1/pyprime.1 \
		$(DESTDIR)$(PKGLIBDIR)/pyprime-python.so

clean:
	rm -f src/pyprime src/pyprime-python.so src/*.o src/*.d src/.flavour-*
	rm -rf build
	rm -f tests/fuzz/fuzz-strip tests/fuzz/*.o tests/fuzz/*.d

.PHONY: all check check-cross fuzz install uninstall clean

-include $(OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)
