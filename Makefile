# Rigger — `make help` lists the targets.
GO       ?= go
BIN      := bin/rigger
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Arguments for `make run`, e.g. make run ARGS="--data-dir /tmp/r".
ARGS     ?=
# The catalog store runs on SQLite's C code (cgo and a C compiler, with
# FTS5 and without extension loading: internal/store/sqlite, library.go);
# CGO_ENABLED=0 or TAGS= builds the pure-Go SQLite instead, slower at
# loads and reads.
TAGS     ?= sqlite_fts5 sqlite_omit_load_extension

# The web UI (web/, Node 20): built into web/dist, which the binary embeds,
# when a source changed since the last build; `npm ci` only when the
# lockfile is newer than node_modules. dist/index.html is the stamp.
UI        := web/dist/index.html
UI_DEPS   := web/node_modules/.package-lock.json
UI_SRC    := web/package.json web/index.html web/vite.config.ts web/tsconfig.json \
             $(shell find web/src web/scripts web/public -type f ! -name '*.test.ts' ! -name '*.test.tsx' 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help run build build-nodev build-noindex ui test test-cluster test-short lint bench bench-peer clean vuln chart

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## Build and start the whole platform in one process (rigger dev, with the examples' config)
	./$(BIN) dev --config examples/rigger.yaml $(ARGS)

build: $(UI) ## Build bin/rigger (with the embedded Temporal server and the web UI) and bin/rigger-sandbox (the sandbox helper)
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rigger
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/rigger-sandbox ./cmd/rigger-sandbox

build-nodev: $(UI) ## Build bin/rigger-nodev without the embedded Temporal server (production)
	$(GO) build -tags 'nodevserver $(TAGS)' -ldflags '$(LDFLAGS)' -o bin/rigger-nodev ./cmd/rigger

build-noindex: $(UI) ## Build bin/rigger-noindex, which writes no search index: for make bench's BenchmarkSearchIndexCost only, never to ship
	$(GO) build -tags 'benchnosearchindex $(TAGS)' -ldflags '$(LDFLAGS)' -o bin/rigger-noindex ./cmd/rigger

ui: $(UI) ## Build the web UI alone (web/dist)

$(UI_DEPS): web/package-lock.json
	@command -v npm >/dev/null || { echo "building the web UI needs Node.js 20 or later with npm (see README, Prerequisites)" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund
	@touch $@

$(UI): $(UI_DEPS) $(UI_SRC)
	cd web && npm run build

# go test -json through internal/testreport: package results, failing tests'
# output, and the list of skipped tests at the end; under CI=true a skip fails.
# The web's unit tests (vitest) run first; their results join go test's
# events (web/scripts/vitest-events.mjs), so the closing line counts both.
test: build ## Web unit tests (vitest), then Go unit and integration tests (the real binary, ...); lists skipped tests, which fail under CI=true
	@$(GO) build -o bin/testreport ./internal/testreport
	@st=$$(mktemp); vt=$$(mktemp); \
	(cd web && npx vitest run --reporter=default --reporter=json --outputFile.json=$$vt); vc=$$?; \
	{ (cd web && node scripts/vitest-events.mjs $$vt $$vc); \
	  RIGGER_BIN=$(CURDIR)/$(BIN) RIGGER_WANT_SQLITE=$(if $(TAGS),c,go) $(GO) test -tags '$(TAGS)' -json -count=1 -timeout 28m -skip '^TestCluster' ./... 2>&1; echo $$? > $$st; } | ./bin/testreport; rep=$$?; \
	code=$$(cat $$st); rm -f $$st $$vt; \
	if [ "$$code" != 0 ]; then exit $$code; fi; if [ "$$vc" != 0 ]; then exit $$vc; fi; exit $$rep

# The production topology (the official Temporal server on PostgreSQL with
# mTLS, rigger server and worker replicas built with -tags nodevserver) and
# its failure tests: make test leaves the TestCluster* tests to this target.
# The e2e package's TestMain wants a rigger binary: these tests only start
# rigger-nodev, so it is given that one (no second build).
test-cluster: build-nodev ## Production topology tests: official Temporal server (PostgreSQL, mTLS, 4 shards), 2 servers + 2 workers, kill -9, restarts, PostgreSQL outage (~5 min)
	@$(GO) build -o bin/testreport ./internal/testreport
	@st=$$(mktemp); \
	{ RIGGER_BIN=$(CURDIR)/bin/rigger-nodev RIGGER_NODEV_BIN=$(CURDIR)/bin/rigger-nodev $(GO) test -tags '$(TAGS)' -json -count=1 -timeout 20m -run '^TestCluster' ./internal/testtools/ ./internal/e2e/ 2>&1; echo $$? > $$st; } | ./bin/testreport; rep=$$?; \
	code=$$(cat $$st); rm -f $$st; if [ "$$code" != 0 ]; then exit $$code; fi; exit $$rep

test-short: ## Unit tests only (skips everything that starts a server)
	$(GO) test -tags '$(TAGS)' -short ./...

lint: ## gofmt, go vet (the build variants, and the pure-Go SQLite's), staticcheck
	@unformatted=$$(git ls-files -z '*.go' ':!:examples/templates/*/skeleton/**' | xargs -0 gofmt -l); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) vet -tags 'nodevserver $(TAGS)' ./cmd/rigger
	$(GO) vet -tags 'benchnosearchindex $(TAGS)' ./internal/store ./cmd/rigger
	CGO_ENABLED=0 $(GO) vet -tags nodevserver ./internal/store/... ./cmd/rigger
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	"$$($(GO) env GOPATH)/bin/staticcheck" -tags '$(TAGS)' ./...
	CGO_ENABLED=0 "$$($(GO) env GOPATH)/bin/staticcheck" ./internal/store/...

bench: build build-nodev build-noindex ## Benchmarks: the web UI's initial download and its speed in Chromium (catalog render, picker, live log), start-up, RSS, hello latency, catalog ingest and queries, auth and policy cost, search, docs builds (see README)
	@ls -l $(BIN) bin/rigger-nodev | awk '{printf "binary size: %.1f MiB %s\n", $$5/1048576, $$9}'
	@cd web && node scripts/initial-size.mjs # the web UI's first download (issue 17's budget: 250 KiB gzip JS)
	RIGGER_BIN=$(CURDIR)/$(BIN) RIGGER_NODEV_BIN=$(CURDIR)/bin/rigger-nodev RIGGER_NOINDEX_BIN=$(CURDIR)/bin/rigger-noindex $(GO) test -tags '$(TAGS)' -count=1 -run '^$$' -bench . -benchtime 1x -timeout 60m ./internal/e2e/
	$(GO) test -tags '$(TAGS)' -count=1 -run '^$$' -bench 'BenchmarkAuthPolicyRequest|BenchmarkOwnerQueryPolicy' -benchtime 2000x -timeout 20m ./api/ ./internal/permission/
	$(GO) test -tags '$(TAGS)' -count=1 -run '^$$' -bench 'BenchmarkSearch' -benchtime 1x -timeout 30m ./internal/store/sqlite/ ./internal/store/postgres/ # search p50/p99 at 100k entities + 10k docs pages, indexing's ingest cost
	$(GO) test -count=1 -run '^$$' -bench 'BenchmarkDocsBuild50Pages' -benchtime 5x ./internal/docs/

# govulncheck and npm audit ask the Go vulnerability database and the npm
# registry's advisories: they need the internet (a CI runner or a laptop
# online, not an offline build machine).
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0

vuln: ## Known vulnerabilities: govulncheck (Go, both build variants) and npm audit of web/'s runtime dependencies (needs the internet)
	$(GO) run $(GOVULNCHECK) -tags '$(TAGS)' ./...
	$(GO) run $(GOVULNCHECK) -tags 'nodevserver $(TAGS)' ./cmd/rigger
	cd web && npm audit --omit=dev --audit-level=high

chart: ## The Helm chart's checks alone: helm lint, helm template | kubeconform -strict, restricted pods, least privilege, rigger.yaml through the config loader
	$(GO) test -count=1 ./deploy/ ./internal/testtools/

PEER        := ../shared/peers/backstage
PEER_PHASES ?= scaffolder,ingest,query
PEER_COUNT  ?= 10000

bench-peer: ## The stock Backstage peer on this machine, same scenarios and figure names (internal/e2e/peer/bench.mjs; PEER_PHASES, PEER_COUNT); installs it from npm
	cd $(PEER) && ./install.sh && ./pg.sh start
	cd $(PEER) && PEER_HOME=$$PWD node $(CURDIR)/internal/e2e/peer/bench.mjs --phases $(PEER_PHASES) --count $(PEER_COUNT); status=$$?; ./pg.sh stop; exit $$status

clean: ## Remove build output (the web UI's too) and the default data dir
	rm -rf bin .rigger
	find web/dist -mindepth 1 ! -name .keep -delete
