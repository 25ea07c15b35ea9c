# wmpf-hil — the two commands of a fresh machine:
#   make run    the main job: the suites against the default simulated farm, with a report
#   make test   every test
# Both install what they need first (the adb server from Debian's "adb" package).

GO        ?= go
DEVICES   ?= devices.yaml
REPORTS   ?= reports
PROCS     ?=
GINKGO    := $(GO) run github.com/onsi/ginkgo/v2/ginkgo
export TESTCONTAINERS_RYUK_DISABLED = true

.PHONY: run test deps build vet fmt fuzz bench release-bench gate-check sim farm clean accuracy

run: deps
	$(GO) run ./cmd/wmpf-hil run -devices $(DEVICES) -reports $(REPORTS) $(if $(PROCS),-procs $(PROCS))

# The suites themselves run inside suites/teeth: on the default farm with one
# Ginkgo process per device, and against every defect.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/suites$$')

# deps makes sure the adb command is there; it installs Debian's package when
# it can (root with apt-get), and says what to do when it cannot.
deps:
	@command -v adb >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing adb (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq adb >/dev/null; \
	  else \
	    echo "adb is required: install Android platform-tools (Debian/Ubuntu: sudo apt-get install -y adb)" >&2; exit 1; \
	  fi; }
	@adb version | head -1

build:
	mkdir -p bin
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

# Short fuzz runs of every fuzz target.
fuzz:
	$(GO) test -run XXX -fuzz FuzzReadMessage -fuzztime 30s ./internal/adbwire
	$(GO) test -run XXX -fuzz FuzzPacketDecoder -fuzztime 30s ./internal/adbwire
	$(GO) test -run XXX -fuzz FuzzParseLine -fuzztime 30s ./harness/logcat
	$(GO) test -run XXX -fuzz FuzzParser -fuzztime 30s ./harness/contract

# Benchmarks print figures; they assert nothing about speed.
bench: deps
	$(GO) test -run XXX -bench . -benchmem ./harness/adb ./harness/loadgen ./simulator/...

# The release benchmark on a farm: open-loop calls, p50…p99.9 per stage and
# model; BASELINE=reports/<run> gates on an earlier one with the statistical
# gate (exit 4 on a regression; docs/release-gate.md).
ARRIVAL   ?= poisson:2/s
DURATION  ?= 2m
BASELINE  ?=
release-bench: deps
	$(GO) run ./cmd/wmpf-hil bench -devices $(DEVICES) -reports $(REPORTS) -arrival $(ARRIVAL) -duration $(DURATION) $(if $(BASELINE),-baseline $(BASELINE))

# The release gate's own check, long (2–3 hours; not part of make test):
# 20 pairs of runs of one build must not be flagged, 20 pairs with the
# launch 1.3× slower must be; compare must agree with bench. Runs already in
# $(REPORTS)/gate-check are kept; the figures go to gate-check.md there.
gate-check: deps
	$(GO) run ./harness/gate/gatecheck -devices $(DEVICES) -work $(REPORTS)/gate-check

sim: 
	$(GO) run ./cmd/wmpf-sim devices -n 4 -port 16000

farm:
	$(GO) run ./cmd/wmpf-sim farm -n 4 -port 16000

clean:
	rm -rf bin $(REPORTS)

# Clock correction against the simulator's ground truth: 200 calls on
# devices whose clocks are seconds off and drifting; prints the figures.
accuracy: deps
	$(GO) run ./cmd/wmpf-hil run -devices fixtures/farms/accuracy.yaml -label-filter latency -reports $(REPORTS)
