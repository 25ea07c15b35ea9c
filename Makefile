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

.PHONY: run test check deps testdeps build vet fmt fuzz bench release-bench gate-check sim farm clean accuracy scale-bench image

run: deps
	$(GO) run ./cmd/wmpf-hil run -devices $(DEVICES) -reports $(REPORTS) $(if $(PROCS),-procs $(PROCS))

# The suites themselves run inside suites/teeth: on the default farm with one
# Ginkgo process per device, and against every defect.
test: deps testdeps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/suites$$')

# check: every Go file gofmt'ed, no non-test Go file over 1200 lines
# (docs/development.md), go vet, and staticcheck at a pinned version (its
# settings in staticcheck.conf). CI runs it before make test.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
check:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then \
	  echo "gofmt -l: not formatted (gofmt -w them):" >&2; echo "$$unformatted" >&2; exit 1; fi
	@long="$$(find . -name '*.go' ! -name '*_test.go' ! -path './.git/*' -exec wc -l {} + | awk '$$2 != "total" && $$1 > 1200')"; \
	  if [ -n "$$long" ]; then echo "non-test Go files over 1200 lines (split them by concept):" >&2; echo "$$long" >&2; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

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

# testdeps makes sure the tools the tests use are there: xmllint (junit.xml
# against junit-10.xsd), and aapt, zipalign, apksigner (with its Java, whose
# keytool makes test keys) and the framework resources, which build the real
# APKs the install tests use. It installs Debian's packages when it can.
TESTPKGS := libxml2-utils aapt zipalign apksigner android-framework-res
testdeps:
	@missing=""; \
	  for c in xmllint aapt zipalign apksigner keytool; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	  [ -f /usr/share/android-framework-res/framework-res.apk ] || missing="$$missing framework-res.apk"; \
	  if [ -n "$$missing" ]; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	      echo "installing$$missing (Debian packages: $(TESTPKGS))"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TESTPKGS) >/dev/null; \
	    else \
	      echo "the tests need$$missing: sudo apt-get install -y $(TESTPKGS)" >&2; exit 1; \
	    fi; \
	  fi

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
ARRIVAL   ?= poisson:1/s
DURATION  ?= 2m
BASELINE  ?=
release-bench: deps
	$(GO) run ./cmd/wmpf-hil bench -devices $(DEVICES) -reports $(REPORTS) -arrival $(ARRIVAL) -duration $(DURATION) $(if $(BASELINE),-baseline $(BASELINE))

# The farm at scale (docs/scale.md): smoke and launch over SCALE_DEVICES
# simulated devices, full matrix, then the release benchmark at 1 call/s per
# device; prints wall time, peak memory and CPU of every harness process,
# and the harness's own latency. Not part of make test (minutes long).
# SCALE_SHARDS=N runs the farm as N shards at once on this host.
SCALE_DEVICES ?= 200
SCALE_SHARDS  ?= 1
SCALE_ARGS    ?=
scale-bench: deps
	$(GO) test -run XXX -bench BenchmarkScale -benchtime 1x -timeout 90m ./cmd/wmpf-hil \
	  -args -scale.devices $(SCALE_DEVICES) -scale.shards $(SCALE_SHARDS) $(SCALE_ARGS)

# The wmpf-hil image for shard runners and Kubernetes (deploy/kubernetes):
# a static binary FROM scratch, as internal/hilimage builds it for the tests.
IMAGE ?= wmpf-hil/wmpf-hil:dev
image:
	@ctx=$$(mktemp -d) && trap 'rm -rf "$$ctx"' EXIT && \
	mkdir -p "$$ctx/rootfs/tmp" "$$ctx/rootfs/etc/ssl/certs" && chmod 1777 "$$ctx/rootfs/tmp" && \
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o "$$ctx/rootfs/wmpf-hil" ./cmd/wmpf-hil && \
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$$ctx/rootfs/etc/ssl/certs/"; fi && \
	cp internal/hilimage/Dockerfile "$$ctx/" && \
	docker build -t $(IMAGE) "$$ctx"

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
