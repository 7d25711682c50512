# mcpgw: plain Makefile. `make` builds build/mcpgw, build/libmcpgw.a, build/libmcpgw.so.0 (with the
# build/libmcpgw.so link) and the example host of docs/examples/. `make deb` builds the Debian packages
# into build/deb/ (packaging/), `make install` installs the program, the library, the man pages and
# the systemd units under PREFIX.
# V=1 shows full command lines; WERROR=1 (set by CI) turns warnings into errors.

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
SYSTEMDUNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user
SYSUSERSDIR        ?= $(PREFIX)/lib/sysusers.d
DESTDIR    ?=
BUILD      ?= build
CC         ?= cc

PKGS := libevent jansson yaml-0.1 libcurl openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# libcurl is loaded on first use (gateway/upstream/curl_lazy.c), so it is not linked; --as-needed keeps
# OpenSSL out of a binary that does not call it.
PKG_LIBS   := -Wl,--as-needed $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)))

WARN := -Wall -Wextra -Wformat=2 -Werror=format-security -Wshadow -Wpointer-arith \
        -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
          -fcf-protection=full -fPIC
OPT    ?= -O2 -g
CFLAGS ?=
# gateway/ has one folder per stage of the data path (docs/architecture.md); headers are included by
# their bare name, so a file can move between folders without touching its users.
GW_SUBDIRS := $(patsubst %/,%,$(sort $(dir $(wildcard gateway/*/*.c gateway/*/*.h))))
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Igateway $(GW_SUBDIRS:%=-I%) -DMCPGW_SYSCONFDIR='"$(SYSCONFDIR)/mcpgw"' \
            -DMCPGW_PLUGINDIR='"$(PREFIX)/lib/mcpgw/plugins"'
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(HARDEN) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
LDHARDEN := -Wl,-z,relro,-z,now,-z,noexecstack
LDLIBS_ALL = $(PKG_LIBS) -ldl -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(wildcard gateway/*.c $(filter-out gateway/cmd/%,$(GW_SUBDIRS:%=%/*.c)))
CMD_SRCS := $(wildcard gateway/cmd/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# tests/tools/: helpers of the integration tests (notify_sink: the systemd end of sd_notify).
TOOL_SRCS := $(wildcard tests/bench/*.c tests/tools/*.c)
TOOL_BINS := $(addprefix $(BUILD)/tools/,$(basename $(notdir $(TOOL_SRCS))))

.PHONY: all test check unit integration bench asan valgrind install install-files clean demo deps deb man pc
VERSION := $(shell sed -n 's/^\#define MCPGW_VERSION "\(.*\)"/\1/p' gateway/util/version.h)
# The shared library exports only <mcpgw/mcpgw.h> (gateway/libmcpgw.map); its soname carries the ABI
# version (MCPGW_ABI in the header).
SO_ABI    := $(shell sed -n 's/^\#define MCPGW_ABI \([0-9]*\).*/\1/p' include/mcpgw/mcpgw.h)
SO_NAME   := libmcpgw.so.$(SO_ABI)
EXAMPLE_SRCS := $(wildcard docs/examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:docs/examples/%.c=$(BUILD)/examples/%)

all: $(BUILD)/mcpgw $(BUILD)/libmcpgw.a $(BUILD)/libmcpgw.so $(TOOL_BINS) examples

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libmcpgw.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/$(SO_NAME): $(LIB_OBJS) gateway/libmcpgw.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(OPT) $(HARDEN) $(LDHARDEN) $(CFLAGS) $(LDFLAGS) -Wl,-soname,$(SO_NAME) \
	    -Wl,--version-script=gateway/libmcpgw.map -o $@ $(LIB_OBJS) $(LDLIBS_ALL)

$(BUILD)/libmcpgw.so: $(BUILD)/$(SO_NAME)
	$(Q)ln -sf $(SO_NAME) $@

# Example hosts: built against the shared library (only the public API is visible there) and run by
# the integration tests (tests/integration/embed.vg.test.mjs).
.PHONY: examples
examples: $(EXAMPLE_BINS)
$(BUILD)/examples/%: docs/examples/%.c $(BUILD)/libmcpgw.so include/mcpgw/mcpgw.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=c11 $(OPT) $(WARN) $(HARDEN) $(PKG_CFLAGS) -Iinclude $(CFLAGS) -o $@ $< -L$(BUILD) -lmcpgw \
	    -Wl,-rpath,'$$ORIGIN/..' $(PKG_LIBS)

$(BUILD)/mcpgw: $(CMD_OBJS) $(BUILD)/libmcpgw.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -pie $(OPT) $(HARDEN) $(LDHARDEN) $(CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJS) $(BUILD)/libmcpgw.a $(LDLIBS_ALL)

# Unit tests link the static library and cmocka.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmcpgw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmcpgw.a $(LDLIBS_ALL) -lcmocka

# The allocation-failure torture tests (issue 13, finding 8) fail the Nth allocation of a whole run,
# for every N: test_config_oom (a configuration load), test_names_oom (the exposed-name table) and
# test_scenario_oom (a whole embedded gateway: tests/unit/README.md). Their allocations go through
# -Wl,--wrap to the counting allocator of tests/unit/oom.c; libyaml and jansson are linked statically
# (libyaml-dev and libjansson-dev ship the archives) so that their own allocations are counted and
# failed too (jansson and libevent also through their hooks: oom.c); without the archives libyaml's
# are not.
OOM_TESTS  := test_config_oom test_names_oom test_scenario_oom
OOM_WRAP   := malloc calloc realloc reallocarray strdup strndup asprintf vasprintf __asprintf_chk free \
              __vasprintf_chk realpath opendir
OOM_STATIC := $(wildcard $(shell pkg-config --variable=libdir yaml-0.1)/libyaml.a \
              $(shell pkg-config --variable=libdir jansson)/libjansson.a)
$(OOM_TESTS:%=$(BUILD)/tests/%): $(BUILD)/tests/%: tests/unit/%.c tests/unit/oom.c tests/unit/oom.h $(BUILD)/libmcpgw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< tests/unit/oom.c $(BUILD)/libmcpgw.a $(OOM_STATIC) \
	    $(OOM_WRAP:%=-Wl,--wrap=%) $(LDLIBS_ALL) -lcmocka
# its stdio servers
$(BUILD)/tests/test_scenario_oom: $(BUILD)/tools/echo_server

# The allocation-failure torture over every N (about 3,500 runs of test_scenario_oom; `make unit`,
# and so CI and `make asan`, runs its every-11th-N subset: about 400 runs, 2-3 min plain, 4 min under
# ASan). MCPGW_OOM_FULL=0 runs that subset here. BUILD=build-asan with the sanitizer flags of `asan`
# runs it under AddressSanitizer.
.PHONY: torture
torture: $(OOM_TESTS:%=$(BUILD)/tests/%)
	@MCPGW_OOM_FULL=$${MCPGW_OOM_FULL:-1} sh tests/run-unit.sh $^

# Small standalone tools used by the tests and the benchmark (byte relay, load driver).
$(BUILD)/tools/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS_ALL)
$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: all
	@sh tests/run-integration.sh

# The whole suite: unit tests, then integration tests against the real binary.
test check: unit integration

bench: all
	@sh tests/bench/run.sh
	@if [ -z "$$BENCH_SMOKE" ]; then \
	    sh tests/bench/remote.sh > $(BUILD)/bench-remote.txt || exit 1; \
	    cat $(BUILD)/bench-remote.txt; cat $(BUILD)/bench-remote.txt >> $(BUILD)/bench-results.txt; fi

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
asan:
	$(MAKE) BUILD=build-asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    HARDEN="-fstack-protector-strong -fPIC" MCPGW_BIN=$(CURDIR)/build-asan/mcpgw test

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang against the library sources in their
# own tree; `make fuzz` runs each for FUZZ_SECONDS (default 60) on its committed seed corpus.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_LIB_SRCS := $(LIB_SRCS)
FUZZ_CFLAGS = -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    $(PKG_CFLAGS) $(CPPFLAGS)
build-fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(LDLIBS_ALL)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_BINS)

valgrind: all
	@MCPGW_VALGRIND=1 sh tests/run-integration.sh

# The crash-loop soak (issue 13): the test CI runs with 50 restarts, here with 1,000
# (MCPGW_SOAK_COUNT=N for another count). A few minutes.
.PHONY: soak
soak: all
	@MCPGW_SOAK_COUNT=$${MCPGW_SOAK_COUNT:-1000} MCPGW_BIN=$${MCPGW_BIN:-$(CURDIR)/$(BUILD)/mcpgw} \
	    node --test --test-reporter=tap tests/integration/soak.test.mjs

demo: all
	@sh scripts/demo.sh

deps:
	@sh scripts/install-deps.sh

# Man pages (docs/man/*.scd, scdoc(1)) and the pkg-config file.
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(wildcard docs/man/*.scd))
man: $(MAN_PAGES)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCDOC   $@")
	$(Q)scdoc < $< > $@.tmp && mv $@.tmp $@

pc: $(BUILD)/mcpgw.pc
$(BUILD)/mcpgw.pc: packaging/mcpgw.pc.in gateway/util/version.h Makefile
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# What `make install` installs, built (no test tools, no examples).
install-files: $(BUILD)/mcpgw $(BUILD)/libmcpgw.a $(BUILD)/libmcpgw.so plugins man pc

# The systemd units name /usr/bin/mcpgw and /etc/mcpgw: rewritten for the PREFIX and SYSCONFDIR.
UNIT_SED := sed -e 's|/usr/bin/mcpgw|$(PREFIX)/bin/mcpgw|g; s|/etc/mcpgw|$(SYSCONFDIR)/mcpgw|g'

# Also the configuration's JSON Schema, in $(PREFIX)/share/mcpgw/ for editors (docs/configuration.md),
# and the shell completions.
install: install-files
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/mcpgw
	install -m 0755 $(BUILD)/mcpgw $(DESTDIR)$(PREFIX)/bin/mcpgw
	install -m 0644 $(BUILD)/libmcpgw.a $(DESTDIR)$(LIBDIR)/libmcpgw.a
	install -m 0644 $(BUILD)/$(SO_NAME) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libmcpgw.so
	install -m 0644 $(BUILD)/mcpgw.pc $(DESTDIR)$(LIBDIR)/pkgconfig/mcpgw.pc
	install -m 0644 include/mcpgw/*.h $(DESTDIR)$(INCLUDEDIR)/mcpgw/
	install -d $(DESTDIR)$(PREFIX)/lib/mcpgw/plugins
	$(if $(PLUGIN_SOS),install -m 0644 $(PLUGIN_SOS) $(DESTDIR)$(PREFIX)/lib/mcpgw/plugins/)
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 conf/completion/mcpgw.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mcpgw
	install -m 0644 conf/completion/_mcpgw $(DESTDIR)$(ZSHCOMPDIR)/_mcpgw
	install -d $(DESTDIR)$(PREFIX)/share/mcpgw
	install -m 0644 conf/mcpgw.schema.json $(DESTDIR)$(PREFIX)/share/mcpgw/mcpgw.schema.json
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(BUILD)/man/mcpgw.1 $(DESTDIR)$(MANDIR)/man1/mcpgw.1
	install -m 0644 $(BUILD)/man/mcpgw.yaml.5 $(DESTDIR)$(MANDIR)/man5/mcpgw.yaml.5
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSTEMDUSERUNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	for u in mcpgw.service mcpgw.socket; do \
	    $(UNIT_SED) packaging/systemd/system/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
	    $(UNIT_SED) packaging/systemd/user/$$u > $(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u; \
	    chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u $(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u; done
	install -m 0644 packaging/systemd/mcpgw.sysusers $(DESTDIR)$(SYSUSERSDIR)/mcpgw.conf

# Debian packages (packaging/debian/) built from a copy of the tree in $(BUILD)/deb/, which gets
# the .deb files; the developer's $(BUILD)/ is not touched otherwise.
deb:
	@sh packaging/build-deb.sh $(BUILD)/deb $(VERSION)

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d)

# ---- auth plugins (issue 3) -------------------------------------------------------------------
# Each plugins/NAME/ directory (C sources) becomes $(BUILD)/plugins/NAME.so against the installed
# ABI header <mcpgw/plugin.h>; tests/fixtures/plugins/*.c become $(BUILD)/tests/plugins/*.so
# (plugins the tests expect the gateway to refuse).
PLUGIN_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c))))
PLUGIN_SOS   := $(sort $(PLUGIN_NAMES:%=$(BUILD)/plugins/%.so))
TEST_PLUGIN_SOS := $(patsubst tests/fixtures/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(wildcard tests/fixtures/plugins/*.c))
PLUGIN_LIBS  := $(shell pkg-config --libs libcrypto)
.PHONY: plugins test-plugins
all: plugins
plugins: $(PLUGIN_SOS)
test-plugins: $(TEST_PLUGIN_SOS)
integration: test-plugins $(BUILD)/tests/test_embed
unit: plugins

define PLUGIN_RULE
$(BUILD)/plugins/$(1).so: $(wildcard plugins/$(1)/*.c) include/mcpgw/plugin.h
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  CC      $$@")
	$$(Q)$$(CC) -shared $$(ALL_CFLAGS) $$(LDHARDEN) -o $$@ $$(filter %.c,$$^) $$(PLUGIN_LIBS)
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call PLUGIN_RULE,$(p))))

$(BUILD)/tests/plugins/%.so: tests/fixtures/plugins/%.c include/mcpgw/plugin.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -shared $(ALL_CFLAGS) $(LDHARDEN) -o $@ $<
# ---- end of auth plugins ----------------------------------------------------------------------
