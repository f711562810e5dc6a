# mq - Kafka's log model as Unix commands.  See README.md.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/mq
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# Where each shell looks for completions it loads on demand.
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wswitch-enum \
	-Wno-missing-field-initializers
YAML_CFLAGS := $(shell pkg-config --cflags yaml-0.1 2>/dev/null)
YAML_LIBS := $(shell pkg-config --libs yaml-0.1 2>/dev/null || echo -lyaml)
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -Iliblog $(YAML_CFLAGS) $(CFLAGS)

# make SANITIZE=1 builds everything with ASan and UBSan.
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Objects depend on the flags they were built with, so switching
# SANITIZE=1 on or off rebuilds everything.  The stamp is rewritten only
# when the flags change.
FLAGS_STAMP = .build-flags
FLAGS_NOW = $(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS)
MAKEFLAGS += --no-builtin-rules

# The shared library's version is MQ_VERSION in mq.h; its soname carries
# the major number only, so a 0.1.1 that keeps the ABI replaces 0.1.0
# under the programs linked against it.
VERSION := $(shell sed -n 's/^.define MQ_VERSION "\(.*\)"$$/\1/p' liblog/mq.h)
SOMAJOR = $(firstword $(subst ., ,$(VERSION)))
SONAME = liblog.so.$(SOMAJOR)
SHLIB = liblog.so.$(VERSION)

LIB_SRC = $(sort $(wildcard liblog/*.c))
LIB_OBJ = $(LIB_SRC:.c=.o)
CMDS = mq mq-create mq-produce mq-consume mq-offsets mq-list mq-delete \
	mq-dump mq-alter mq-check mq-clean
CMD_BIN = $(addprefix cmd/,$(CMDS))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:.c=)
EXAMPLES = share/examples/tour
MAN1 = $(addprefix docs/,$(addsuffix .1,$(CMDS)))
MAN3 = $(sort $(wildcard docs/*.3))
MAN5 = $(sort $(wildcard docs/*.5))
MAN7 = $(sort $(wildcard docs/*.7))
MANPAGES = $(MAN1) $(MAN3) $(MAN5) $(MAN7)
# What people copy, installed under DOCDIR/examples.
SHARE = share/ship-rotated.sh share/tail-ship.sh share/lag-alert.sh \
	share/worker-pool.sh share/systemd/mq-clean.service \
	share/systemd/mq-clean.timer share/examples/tour.c

all: $(CMD_BIN) liblog/liblog.a liblog/$(SHLIB)


liblog/%.o: liblog/%.c liblog/mq.h liblog/internal.h $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fPIC -c -o $@ $<

liblog/liblog.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# The version script exports the mq_* API of mq.h and nothing else: the
# library's internal functions are not extern to its users.
liblog/$(SHLIB): $(LIB_OBJ) liblog/liblog.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) \
		-Wl,--version-script=liblog/liblog.map -o $@ $(LIB_OBJ) \
		$(YAML_LIBS)

cmd/%.o: cmd/%.c cmd/common.h cmd/exec.h cmd/queue.h liblog/mq.h \
		$(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -c -o $@ $<

cmd/mq: cmd/mq.o cmd/common.o liblog/liblog.a
	$(CC) $(LDFLAGS) -o $@ cmd/mq.o cmd/common.o liblog/liblog.a $(YAML_LIBS)

cmd/mq-%: cmd/mq-%.o cmd/common.o liblog/liblog.a
	$(CC) $(LDFLAGS) -o $@ $< cmd/common.o liblog/liblog.a $(YAML_LIBS)

cmd/mq-consume: cmd/mq-consume.o cmd/exec.o cmd/queue.o cmd/common.o \
		liblog/liblog.a
	$(CC) $(LDFLAGS) -o $@ cmd/mq-consume.o cmd/exec.o cmd/queue.o \
		cmd/common.o liblog/liblog.a $(YAML_LIBS)

tests/unit/test_%: tests/unit/test_%.c tests/unit/tap.h tests/unit/ref.h \
		liblog/liblog.a $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< liblog/liblog.a \
		$(YAML_LIBS)

# Decodes group offsets files for the bats tests, from the format doc.
tests/unit/decode_offsets: tests/unit/decode_offsets.c tests/unit/ref.h \
		$(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<

# The C example, built as its readers would build it: against mq.h
# alone, here with the static library (tests/t7000 builds it again
# against an installed liblog.so with pkg-config).
share/examples/%: share/examples/%.c liblog/mq.h liblog/liblog.a \
		$(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< liblog/liblog.a \
		$(YAML_LIBS)

examples: $(EXAMPLES)

# The timing helper of make bench (tests/bench/mqbench.c), not installed.
tests/bench/mqbench: tests/bench/mqbench.c liblog/liblog.a $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< liblog/liblog.a \
		$(YAML_LIBS)

# The power-loss simulation of tests/t9800-powerloss.bats
# (tests/powerloss/): plrec.so, preloaded, records a run's writes, syncs
# and acknowledgements under the log directory; plsim builds from that
# trace the states a power loss could leave.  The shim is built without
# the sanitizers, since it is preloaded ahead of their runtime.
tests/powerloss/plrec.so: tests/powerloss/plrec.c tests/powerloss/plrec.h
	$(CC) $(WARN) -D_GNU_SOURCE $(CFLAGS) -fPIC -shared -o $@ $< -ldl

tests/powerloss/plsim: tests/powerloss/plsim.c tests/powerloss/plrec.h \
		$(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<

# ---- Fuzzing (tests/fuzz/README) ----------------------------------------
# make fuzz builds a libFuzzer harness per decoder with clang, against
# liblog objects of its own in tests/fuzz/build/ (the normal build is
# untouched), and runs each for FUZZ_TIME seconds on its corpus
# tests/fuzz/corpus/NAME/, where new inputs go; a crash is written to
# tests/fuzz/crashes/NAME/.  make check replays both directories with
# tests/fuzz/replay_NAME, built like the unit tests (tests/t9650).
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_NAMES = batch config index recover state
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(WARN) -D_GNU_SOURCE -Iliblog -Itests/fuzz $(YAML_CFLAGS) \
	-g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_LIB_OBJ = $(patsubst liblog/%.c,tests/fuzz/build/%.o,$(LIB_SRC))
FUZZ_BIN = $(addprefix tests/fuzz/build/fuzz_,$(FUZZ_NAMES))
FUZZ_REPLAY = $(addprefix tests/fuzz/replay_,$(FUZZ_NAMES))
# Files on a tmpfs when there is one: the harnesses write partitions.
FUZZ_TMP = $(if $(wildcard /dev/shm/.),/dev/shm,/tmp)

tests/fuzz/build/%.o: liblog/%.c liblog/mq.h liblog/internal.h
	@mkdir -p tests/fuzz/build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

tests/fuzz/build/liblog.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_LIB_OBJ)

tests/fuzz/build/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h \
		tests/fuzz/build/liblog.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		tests/fuzz/build/liblog.a $(YAML_LIBS)

tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
		tests/fuzz/fuzz.h liblog/liblog.a $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz $(CPPFLAGS) $(LDFLAGS) -o $@ $< \
		tests/fuzz/replay.c liblog/liblog.a $(YAML_LIBS)

fuzz-build: $(FUZZ_BIN)

# One fuzzer at a time: the machine is shared.
fuzz: $(FUZZ_BIN)
	for n in $(FUZZ_NAMES); do \
		mkdir -p tests/fuzz/corpus/$$n tests/fuzz/crashes/$$n && \
		TMPDIR=$(FUZZ_TMP) tests/fuzz/build/fuzz_$$n \
			-max_total_time=$(FUZZ_TIME) -max_len=65536 \
			-timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=tests/fuzz/crashes/$$n/ \
			tests/fuzz/corpus/$$n || exit 1; \
	done

# Keeps only the inputs that add an edge, in place: hit counts would
# keep many times more files for little more coverage.
fuzz-merge: $(FUZZ_BIN)
	for n in $(FUZZ_NAMES); do \
		rm -rf tests/fuzz/build/min && mkdir -p tests/fuzz/build/min && \
		TMPDIR=$(FUZZ_TMP) tests/fuzz/build/fuzz_$$n -merge=1 \
			-use_counters=0 \
			-max_len=65536 -timeout=10 tests/fuzz/build/min \
			tests/fuzz/corpus/$$n && \
		rm -rf tests/fuzz/corpus/$$n && \
		mv tests/fuzz/build/min tests/fuzz/corpus/$$n || exit 1; \
	done

fuzz-clean:
	rm -rf tests/fuzz/build $(FUZZ_REPLAY)

.PHONY: fuzz fuzz-build fuzz-merge fuzz-clean


TEST_DEPS = all $(UNIT_BIN) tests/unit/decode_offsets $(EXAMPLES) \
	tests/fault/faultinj.so tests/fault/refuse \
	tests/powerloss/plrec.so tests/powerloss/plsim $(FUZZ_REPLAY)

# The C unit tests, then every tests/*.bats file against the built
# commands.  SANITIZE=1 runs it all under ASan and UBSan; MQ_CC lets the
# install test build with the compiler the library was built with.
check: $(TEST_DEPS)
	MQ_SANITIZE=$(SANITIZE) MQ_CC='$(CC)' tests/run.sh

# The fault injection shim of tests/t9600-faults.bats, LD_PRELOADed into
# the commands to make their file operations fail (tests/fault/faultinj.c).
# Never built with the sanitizers: it only forwards calls, and the
# commands it goes into carry their own ASan runtime.
tests/fault/faultinj.so: tests/fault/faultinj.c
	$(CC) -std=c11 -Wall -Wextra -O2 -g -fPIC -shared -o $@ \
		tests/fault/faultinj.c -ldl

# A long-lived library user that goes on after failures, for the shim.
tests/fault/refuse: tests/fault/refuse.c liblog/liblog.a $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< liblog/liblog.a \
		$(YAML_LIBS)

# What CI runs (README's test command): the suite under ASan and UBSan,
# then again in the plain build, which stays built for make demo.
check-all:
	$(MAKE) check SANITIZE=1
	$(MAKE) check SANITIZE=

# The suite with every command and unit test under valgrind's memcheck;
# fails on any report.  Slow (an hour or more), so not part of check-all.
check-valgrind: $(TEST_DEPS)
	MQ_VALGRIND=1 MQ_CC='$(CC)' tests/run.sh

# The long variants of the kill -9 tests (60,000 records through three
# group members killed at random); make check runs short ones.
torture: $(TEST_DEPS)
	MQ_TORTURE=1 PATH="$$(pwd)/cmd:$$PATH" bats -f torture tests/
	$(MAKE) crash-torture

# Every kind of writer of one log directory killed at 1,000 random points
# and restarted, then a Jepsen-style check of the history (lost, duplicate,
# inconsistent, skipped reads ...); make check runs 64 points in
# tests/t9700.  CRASH_KILLS=N sets the number of points.
CRASH_KILLS ?= 1000
crash-torture: all tests/unit/decode_offsets
	PATH="$$(pwd)/cmd:$$PATH" tests/torture/crash-torture.sh \
		-k $(CRASH_KILLS)

# The benchmark: one table of records/s, MB/s and ratios to cat and the
# peers of ../shared/bench, against issue 6's targets (docs/bench.md).
# BENCH_QUICK=1 is a smoke run; BENCH_RUNS=N sets the runs per figure.
bench: all tests/bench/mqbench
	tests/bench/run.sh

$(FLAGS_STAMP): FORCE
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

# Builds, then runs a demo pipeline on the default log directory.
demo: all
	share/demo.sh

# The manual pages are mandoc-clean, each command's --help is its
# SYNOPSIS, and every function of mq.h has a section 3 page.
lint: all
	mandoc -Tlint -Wwarning $(MANPAGES)
	PATH="$$(pwd)/cmd:$$PATH" tests/synopsis.sh $(CMDS)
	tests/apiman.sh liblog/mq.h $(MAN3)

# "PAGE LINK" for each name a section 3 page documents (the .Nm lines
# of its NAME) but its own: each is installed as a link to the page,
# so that man finds every function.
MLINKS = for p in $(MAN3); do \
		f=$$(basename $$p); \
		sed -n '/^\.Sh NAME/,/^\.Sh/s/^\.Nm \([a-z0-9_]*\).*/\1/p' \
		    $$p | while read -r n; do \
			[ "$$n.3" = "$$f" ] || echo "$$f $$n.3"; \
		done; \
	done

# The loader's cache must learn of a new liblog.so.N, unless this is a
# staged install (a package build) or ldconfig is not ours to run.
install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples/systemd
	install -m 0755 $(CMD_BIN) $(DESTDIR)$(BINDIR)
	install -m 0644 liblog/liblog.a $(DESTDIR)$(LIBDIR)
	install -m 0755 liblog/$(SHLIB) $(DESTDIR)$(LIBDIR)
	ln -sf $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblog.so
	install -m 0644 liblog/mq.h $(DESTDIR)$(INCLUDEDIR)
	sed -e 's|@prefix@|$(PREFIX)|' \
		-e 's|@libdir@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
		-e 's|@includedir@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
		-e 's|@version@|$(VERSION)|' \
		-e 's|@yaml_libs@|$(strip $(YAML_LIBS))|' \
		liblog/liblog.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/liblog.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/liblog.pc
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(MAN3) $(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7
	$(MLINKS) | while read -r page link; do \
		ln -sf "$$page" "$(DESTDIR)$(MANDIR)/man3/$$link"; \
	done
	install -m 0644 completions/mq.bash $(DESTDIR)$(BASHCOMPDIR)/mq
	install -m 0644 completions/_mq $(DESTDIR)$(ZSHCOMPDIR)/_mq
	install -m 0644 completions/mq.fish $(DESTDIR)$(FISHCOMPDIR)/mq.fish
	for c in $(filter-out mq,$(CMDS)); do \
		ln -sf mq $(DESTDIR)$(BASHCOMPDIR)/$$c; \
		ln -sf mq.fish $(DESTDIR)$(FISHCOMPDIR)/$$c.fish; \
	done
	for f in $(SHARE); do \
		g=$${f#share/}; \
		install -m 0644 $$f $(DESTDIR)$(DOCDIR)/examples/$${g#examples/}; \
	done
	[ -n "$(DESTDIR)" ] || ldconfig 2>/dev/null || true

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(CMDS))
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,liblog.a $(SHLIB) $(SONAME) \
		liblog.so)
	rm -f $(DESTDIR)$(INCLUDEDIR)/mq.h $(DESTDIR)$(PKGCONFIGDIR)/liblog.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
	$(MLINKS) | while read -r page link; do \
		rm -f "$(DESTDIR)$(MANDIR)/man3/$$link"; \
	done
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(CMDS))
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_mq
	rm -f $(addprefix $(DESTDIR)$(FISHCOMPDIR)/,$(addsuffix .fish,$(CMDS)))
	for f in $(SHARE); do \
		g=$${f#share/}; \
		rm -f $(DESTDIR)$(DOCDIR)/examples/$${g#examples/}; \
	done
	rmdir $(DESTDIR)$(DOCDIR)/examples/systemd \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true

clean:
	rm -f liblog/*.o liblog/liblog.a liblog/liblog.so* cmd/*.o \
		$(CMD_BIN) $(UNIT_BIN) tests/unit/decode_offsets $(EXAMPLES) \
		tests/bench/mqbench tests/fault/faultinj.so tests/fault/refuse \
		tests/powerloss/plrec.so tests/powerloss/plsim $(FLAGS_STAMP)
	rm -rf tests/fuzz/build $(FUZZ_REPLAY)

.PHONY: all bench examples check check-all check-valgrind torture \
	crash-torture demo lint install uninstall clean FORCE
.SECONDARY:
