# rspkit: thin wrapper over Meson + Ninja. `make demo` and `make check` work on a fresh Debian 12.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS  ?= 1000000
PREFIX     ?= /usr/local
LAB_DIR    ?= lab
LAB_HOST   ?= 127.0.0.1
LAB_PORT   ?= 8443

.PHONY: all deps build check test format format-check fuzz demo lab bench install clean soak

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Every test: format check, unit tests, the same tests under ASan+UBSan, fuzz smoke runs.
check: deps
	scripts/check.sh

# Unit tests of the normal build only (quick loop while developing), with a private PostgreSQL
# server for the PostgreSQL tests (scripts/pg.sh).
test: build
	scripts/pg.sh run -- meson test -C $(BUILD) --print-errorlogs

format:
	scripts/format.sh fix

format-check:
	scripts/format.sh check

# libFuzzer campaign: FUZZ_RUNS executions per target (default 1M); results in fuzz/RESULTS.md.
fuzz: deps
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh

demo: build
	BUILD=$(BUILD) scripts/demo.sh

# Lab for other LPAs and devices: SM-DP+ on https://LAB_HOST:LAB_PORT, a software eUICC as the
# PC/SC reader "rspkit lab vpcd 00 00" (private pcscd + vpcd), released orders; prints the
# activation codes, the CI certificate and the log directory; runs until Ctrl-C. State in LAB_DIR
# (reused on restart; LAB_ARGS=--fresh starts over). PC/SC clients: scripts/lab.sh exec -- CMD.
lab: build
	BUILD=$(BUILD) LAB_DIR=$(LAB_DIR) LAB_HOST=$(LAB_HOST) LAB_PORT=$(LAB_PORT) scripts/lab.sh $(LAB_ARGS)

bench: build
	BUILD=$(BUILD) scripts/bench.sh

# Long versions of the fault suites (crash consistency with >= 1000 kills per store, bad network
# with 400 downloads, hostile input x5; SOAK_FUZZ=1 adds a 10M-per-target fuzz campaign); figures
# in soak-report.md (SOAK_REPORT). Short versions run in `make check`.
soak: build
	BUILD=$(BUILD) scripts/soak.sh

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
