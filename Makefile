# streamtoken: the everyday commands. Everything runs through the go command;
# tools are pinned in go.mod (oapi-codegen) or by version (staticcheck).

GO          ?= go
# Builds say where they come from (streamtoken version): the VCS stamp on,
# whatever GOFLAGS says, where the tree is a checkout.
BUILDFLAGS  := -buildvcs=auto
# Recipes fail when any command of a pipeline does (go test | testreport).
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all run install image generate check-generated check-spec check-release lint-spec release-snapshot build test bench bench-client load lint fmt ci

all: build

## run: the token server on 127.0.0.1:8787, with a generated key and API token
run:
	$(GO) build $(BUILDFLAGS) -o bin/streamtoken ./cmd/streamtoken
	exec ./bin/streamtoken serve

## install: the command line into $(go env GOPATH)/bin
install:
	$(GO) install $(BUILDFLAGS) ./cmd/streamtoken

## image: the container image streamtoken/streamtoken, FROM scratch, for
## linux/amd64 and linux/arm64 (scripts/image: the command built with cgo,
## libc and libcrypto from Debian's packages; needs a Docker engine, and
## installs the arm64 cross compiler where absent); PLATFORMS=linux/amd64
## for one
PLATFORMS ?= linux/amd64 linux/arm64
image:
	scripts/image $(PLATFORMS)

## check-spec: fail when the spec breaks a client of the last published one
## (openapi/published/), unless the baseline moved with a CHANGELOG.md line
check-spec:
	scripts/check-spec

## lint-spec: Redocly CLI (pinned, from npm) lints the spec by its
## recommended rules (redocly.yaml: the one rule off, and why)
REDOCLY = npx --yes @redocly/cli@2.77.0
lint-spec:
	$(REDOCLY) lint openapi/stream-token.yaml

## check-release: GoReleaser checks .goreleaser.yaml (CI runs it)
GORELEASER = $(GO) tool -modfile=tools/go.mod goreleaser
check-release:
	$(GORELEASER) check

## release-snapshot: the release artefacts of the current tree, into dist/
## (archives for Linux, macOS and Windows on amd64 and arm64, checksums, a
## .deb); not in CI: some minutes on two cores
release-snapshot:
	$(GORELEASER) release --snapshot --clean

## generate: regenerate gen/, apicode/codes.gen.go and the README's table
## of codes from openapi/stream-token.yaml
generate:
	$(GO) generate ./...

## check-generated: fail if what go generate writes (gen/, apicode/, the
## README's table of codes) is not what the spec and config produce
GENERATED = gen/ apicode/ README.md
check-generated: generate
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated files differ from what is committed: commit them with the spec (or, if you did not change the spec, run 'make generate' and commit)" >&2; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked" >&2; exit 1; fi

## build: compile every package, and the command into bin/
build:
	$(GO) build ./...
	$(GO) build $(BUILDFLAGS) -o bin/streamtoken ./cmd/streamtoken

## test: every test, with the race detector, including compat/ (its own
## module: cloudflare-go v6 against the token server), bench/ (its own
## module: the client benchmark's set-up, a short run of the load tool)
## and deploy/ (its own module: the Kubernetes manifests decoded strictly,
## and the container image built and run where a Docker engine answers);
## then the packages whose behaviour differs without cgo, built without it
## (Go's RSA alone). The race detector waits 1 s at each test binary's exit
## for goroutines still running; 100 ms is plenty for ours, which stop with
## their tests.
## The PostgreSQL store's tests start a throwaway cluster of the server
## binaries (Debian's postgresql) where they are installed, and skip
## otherwise, as the line below says; CI installs them.
RACE_ENV = GORACE=atexit_sleep_ms=100
## Each run's output goes through internal/testreport: package results,
## failures in full. Every run goes on when one before it failed; at the end
## every failed test and every skipped one (with its reason) are listed
## together, and make test exits non-zero if anything failed.
REPORT   = $(CURDIR)/bin/testreport
SKIPS    = $(CURDIR)/.test-skips
FAILS    = $(CURDIR)/.test-failures
RECORD   = $(REPORT) -skips $(SKIPS) -failures $(FAILS)
failed   = || echo "$(1): go test exited non-zero" >> $(FAILS)
test:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || [ -n "$$STREAMTOKEN_PG_BIN" ] || \
		echo "PostgreSQL server binaries not found: the PostgreSQL store's tests are skipped (apt-get install postgresql to run them)"
	@rm -f $(SKIPS) $(FAILS)
	@$(GO) build -o $(REPORT) ./internal/testreport
	$(RACE_ENV) $(GO) test -race -json ./... | $(RECORD) $(call failed,the module)
	@command -v npm >/dev/null 2>&1 && npm ci --prefix compat/node --no-audit --no-fund --loglevel=error || \
		echo "npm ci in compat/node failed (or no npm): the TypeScript SDK's test is skipped"
	cd compat && $(RACE_ENV) $(GO) test -race -json ./... | $(RECORD) $(call failed,compat)
	cd bench && $(RACE_ENV) $(GO) test -race -json ./... | $(RECORD) $(call failed,bench)
	cd deploy && $(RACE_ENV) $(GO) test -race -json ./... | $(RECORD) $(call failed,deploy)
	CGO_ENABLED=0 $(GO) test -json ./token ./internal/ossl ./cmd/streamtoken | $(RECORD) $(call failed,without cgo)
	@$(REPORT) -summary $(SKIPS) -failures $(FAILS)

## bench: the benchmarks, each beside its baseline, compared by benchstat
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench:
	$(GO) test -run '^$$' -bench . -count 6 ./token ./server ./standin > bench.txt
	$(GO) run $(BENCHSTAT) -col /impl bench.txt

## bench-client: a token call by streamtoken's client beside a raw net/http
## POST + decode and cloudflare-go v6, against one cheap local server; ten
## rounds of the three in turn, so that a shared machine's drift falls on
## all three alike (-count 10 would run each ten times in a row)
bench-client:
	cd bench && $(GO) test -c -o bench.test . && \
	  for i in 1 2 3 4 5 6 7 8 9 10; do ./bench.test -test.run '^$$' -test.bench CreateToken -test.benchmem || exit 1; done > ../bench-client.txt; \
	  status=$$?; rm -f bench.test; exit $$status
	$(GO) run $(BENCHSTAT) -col /client bench-client.txt

## load: the token server beside a bare sign-only Go handler and a bare
## Node.js signer under the same load, with the machine's own limit
## (openssl speed); installs wrk, node and openssl where absent (about 11
## minutes; plots in bench/out/)
load:
	bench/scripts/install-tools.sh
	cd bench && $(GO) run ./load

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out" >&2; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd compat && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd deploy && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

## fmt: format the Go sources
fmt:
	gofmt -w $$(git ls-files '*.go')

## ci: what CI runs
ci: check-generated lint test
