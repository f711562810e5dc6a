# mq - Kafka's log model as Unix commands.  See README.md.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man

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

LIB_SRC = $(sort $(wildcard liblog/*.c))
LIB_OBJ = $(LIB_SRC:.c=.o)
CMDS = mq mq-create mq-produce mq-consume mq-offsets mq-list mq-delete \
	mq-dump mq-alter mq-clean
CMD_BIN = $(addprefix cmd/,$(CMDS))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:.c=)
MAN1 = $(addprefix docs/,$(addsuffix .1,$(CMDS)))

all: $(CMD_BIN)


liblog/%.o: liblog/%.c liblog/mq.h liblog/internal.h $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fPIC -c -o $@ $<

liblog/liblog.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

cmd/%.o: cmd/%.c cmd/common.h cmd/exec.h liblog/mq.h $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -c -o $@ $<

cmd/mq: cmd/mq.o cmd/common.o liblog/liblog.a
	$(CC) $(LDFLAGS) -o $@ cmd/mq.o cmd/common.o liblog/liblog.a $(YAML_LIBS)

cmd/mq-%: cmd/mq-%.o cmd/common.o liblog/liblog.a
	$(CC) $(LDFLAGS) -o $@ $< cmd/common.o liblog/liblog.a $(YAML_LIBS)

cmd/mq-consume: cmd/mq-consume.o cmd/exec.o cmd/common.o liblog/liblog.a
	$(CC) $(LDFLAGS) -o $@ cmd/mq-consume.o cmd/exec.o cmd/common.o \
		liblog/liblog.a $(YAML_LIBS)

tests/unit/test_%: tests/unit/test_%.c tests/unit/tap.h tests/unit/ref.h \
		liblog/liblog.a $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< liblog/liblog.a \
		$(YAML_LIBS)

# Decodes group offsets files for the bats tests, from the format doc.
tests/unit/decode_offsets: tests/unit/decode_offsets.c tests/unit/ref.h \
		$(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<

# The timing helper of make bench (tests/bench/mqbench.c), not installed.
tests/bench/mqbench: tests/bench/mqbench.c liblog/liblog.a $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< liblog/liblog.a \
		$(YAML_LIBS)

# The C unit tests, then every tests/*.bats file against the built
# commands.  SANITIZE=1 runs it all under ASan and UBSan.
check: all $(UNIT_BIN) tests/unit/decode_offsets
	MQ_SANITIZE=$(SANITIZE) tests/run.sh

# The long variants of the kill -9 tests (60,000 records through three
# group members killed at random); make check runs short ones.
torture: all tests/unit/decode_offsets
	MQ_TORTURE=1 PATH="$$(pwd)/cmd:$$PATH" bats -f torture tests/

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

lint:
	mandoc -Tlint -Wwarning $(MAN1)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(CMD_BIN) $(DESTDIR)$(BINDIR)
	install -m 0644 liblog/liblog.a $(DESTDIR)$(LIBDIR)
	install -m 0644 liblog/mq.h $(DESTDIR)$(INCLUDEDIR)
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(CMDS)
	rm -f $(DESTDIR)$(LIBDIR)/liblog.a $(DESTDIR)$(INCLUDEDIR)/mq.h
	cd $(DESTDIR)$(MANDIR)/man1 && rm -f $(notdir $(MAN1))

clean:
	rm -f liblog/*.o liblog/liblog.a cmd/*.o $(CMD_BIN) $(UNIT_BIN) \
		tests/unit/decode_offsets tests/bench/mqbench \
		$(FLAGS_STAMP)

.PHONY: all bench check torture demo lint install uninstall clean FORCE
.SECONDARY:
