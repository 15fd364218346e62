# evedge — see README.md. Quick start: `make run`, `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
# The clock-sanity floor: a wall clock before the build is certainly wrong.
# The commit time keeps builds reproducible.
BUILD_TIME ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X github.com/evedge/evedge/agent/wallclock.BuildTime=$(BUILD_TIME)
PKG := ./agent/cmd/evedge
# The whole unit suite runs on emulated arm64; these core packages also on
# emulated armv7 (32-bit: alignment and int-size bugs). -short: no crash soak.
ARM_TEST_PKGS := ./board ./agent/sdnotify ./agent/wallclock ./drivers/can ./drivers/can/socketcan ./drivers/obd/... ./agent/diag ./agent/diag/kb ./agent/diag/detect ./agent/service ./drivers/audio ./agent/voice/... ./models/int8 ./agent/signals ./agent/sim ./agent/store ./agent/cmd/evedge
QEMU_ARM64 := qemu-aarch64 -L /usr/aarch64-linux-gnu
QEMU_ARM := qemu-arm -L /usr/arm-linux-gnueabihf

.PHONY: all build run test test-unit test-arm test-package vmtest deps bench budgets fuzz cross package lint clean indepsim voice-adapt-eval

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/evedge $(PKG)

## run: build and start the agent on the simulated car (Ctrl-C stops it).
run: build
	./$(BIN)/evedge run $(ARGS)

## test: install what the tests need (apt), then every test: unit tests with
## the race detector, the decode tests under qemu-aarch64 and qemu-arm, and
## the SocketCAN tests in a qemu VM with a real Linux CAN stack.
test: deps test-unit test-arm test-package vmtest
	@echo "make test: all suites passed"

deps:
	@bash scripts/deps.sh

# The crash (50 x SIGKILL) and disk-full tests kill and starve real agent
# processes; they run without -race so that the agent runs at full speed.
# So do the self-discharge test (a 2.5 h parked-car simulation, 17 s
# plain) and the other-domain voice test (80 syntheses and decodings on
# one goroutine): minutes under -race, nothing for it to find.
# agent/cmd/evedge, the CLI's end-to-end tests, takes about 19 min under
# -race on 2 cores (2026-12-01): its package timeout is 30 min.
test-unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -timeout 10m -run 'TestPowerLoss|TestDiskFull|TestDiagnoseSelfDischarge' -v ./agent/cmd/evedge
	$(GO) test -count=1 -timeout 10m -run 'TestOtherDomain' -v ./agent/voice/asr

test-arm:
	CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc GOARCH=arm64 \
	  $(GO) test -short -count=1 -timeout 20m -exec '$(QEMU_ARM64)' ./...
	CGO_ENABLED=1 CC=arm-linux-gnueabihf-gcc GOARCH=arm GOARM=7 \
	  $(GO) test -short -count=1 -timeout 20m -exec '$(QEMU_ARM)' $(ARM_TEST_PKGS)

vmtest:
	bash scripts/vmtest.sh

## test-package: build the amd64 .deb and check it: dpkg-deb --info and
## --contents, the unpacked binary's version and selftest, and
## systemd-analyze verify/security on the unit (systemd from make deps).
test-package:
	EVEDGE_REQUIRE_SYSTEMD=1 bash scripts/package_test.sh

## package: .deb packages for amd64, arm64 and armhf in $(BIN)/ (dpkg-deb).
package: deps
	OUT=$(BIN) VERSION=$(VERSION) BUILD_TIME=$(BUILD_TIME) bash scripts/package.sh amd64 arm64 armhf

## budgets: start to first stored frame and steady RSS with everything on
## under the sim board (scripts/budgets.sh).
budgets: build
	bash scripts/budgets.sh 60

## indepsim: the fault model on another simulator's logs (scripts/indepsim:
## its own car, DBC and signal map; about 3 min, 690 MB under /tmp/indepsim).
indepsim:
	bash scripts/indepsim/run.sh

## voice-adapt-eval: evedge voice build on coffee orders with and without
## adapting the acoustic model, each scored (scripts/voice/adapt_eval.sh;
## about 12 min, needs flite and festival: make deps).
voice-adapt-eval:
	bash scripts/voice/adapt_eval.sh

## bench: benchmarks, 6 runs each, summarised with benchstat (medians).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -timeout 30m ./... | tee bench.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da bench.txt

## fuzz: run every fuzz target for FUZZTIME (default 20s) each.
FUZZTIME ?= 20s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

## cross: ARM builds with cgo on (cross compilers from `make deps`).
cross: deps
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/evedge-linux-arm64 $(PKG)
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/evedge-linux-armv7 $(PKG)
	$(QEMU_ARM64) $(BIN)/evedge-linux-arm64 version
	$(QEMU_ARM) $(BIN)/evedge-linux-armv7 version
	$(MAKE) build
	BIN=$(BIN) QEMU_ARM64='$(QEMU_ARM64)' QEMU_ARM='$(QEMU_ARM)' bash scripts/cross_check.sh

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf $(BIN) bench.txt
