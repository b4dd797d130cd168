# dots-go: generate the client from openapi.yaml, check it, test it.
GO    ?= go
TOOLS  = $(GO) tool -modfile=.ci/tools.mod

.PHONY: generate check lint-spec test evolution fuzz faultmatrix crash bench lines

## generate: regenerate gen/ from openapi.yaml and oapi-codegen.yaml
generate:
	$(GO) generate ./...

## check: spec validation, the spec gate, the spec linters, formatting, vet, staticcheck, a
## generated client that matches the spec, and the line budgets of .ci/lines
check:
	$(GO) test -count=1 -run '^TestSpec' .
	bash .ci/lines
	bash .ci/spec-gate
	bash .ci/lint/run
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./... ./.ci/webhookpaths
	$(TOOLS) staticcheck ./... ./.ci/webhookpaths
	$(GO) generate ./...
	@git diff --exit-code -- gen codegen/overlay.yaml || { echo "gen/ or codegen/overlay.yaml is stale: run 'make generate' and commit them"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- gen)" || { echo "gen/ has files git does not track"; exit 1; }

## lint-spec: Spectral and Redocly on openapi.yaml (installed once into .ci/lint/node_modules)
lint-spec:
	bash .ci/lint/run

## test: check, then every test with the race detector
test: check
	$(GO) test -race -count=1 ./...

## evolution: the spec-evolution suite (TestEvolution in evolution_test.go): in a temporary copy of
## the repository, edit openapi.yaml as a team would and prove each edit end to end (CI runs it)
evolution:
	$(GO) test -count=1 -timeout 40m -run '^TestEvolution$$' -v . -evolution

## lines: the hand-written Go of each package (not tests, not gen/) in lines and code lines, against
## the budgets in .ci/lines; fails when a package or the total is over its budget
lines:
	bash .ci/lines

## fuzz: run every fuzz target for FUZZTIME each (seed corpora live in testdata/fuzz)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzResponses$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzWireTypes$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyParse$$' -fuzztime $(FUZZTIME) ./webhook
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeLikeEncodingJSON$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeLikeEncodingJSON$$' -fuzztime $(FUZZTIME) ./api

## faultmatrix: the full 10,000-create fault matrix (make test runs 1,000 under -race)
faultmatrix:
	$(GO) test -count=1 -run '^TestFaultMatrix$$' -v ./api -faultmatrix.n=10000

## crash: the crash test of issue 19 at full size (make test runs 1,000 rows through 5 kills): three
## 'payoutlinks batch' workers on one Postgres, 5,000 rows against the mock in chaos mode, a random
## worker killed 20 times; no duplicate, nothing missing, every row settled (CI runs it)
crash:
	$(GO) test -race -count=1 -timeout 20m -run '^TestBatchWorkersSurviveKills$$' -v ./cmd/payoutlinks -crash.rows=5000 -crash.kills=20

## bench: the benchmarks of BENCHMARKS.md (api and mock against a hand-written floor), BENCHCOUNT
## runs each, summarised by benchstat: medians per implementation with their change against the
## floor ("vs base"), and the in-run ratios to the floor (x-floor-ns, x-floor-allocs, x-floor-tput).
BENCHCOUNT ?= 6
BENCHTIME  ?= 500ms
BENCHOUT   ?= $(or $(TMPDIR),/tmp)/dots-go-bench.txt
bench:
	bash -o pipefail -c "$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) -benchtime $(BENCHTIME) ./api ./mock | tee $(BENCHOUT)"
	@echo; echo "== against the floor (vs base = change from impl=floor) =="
	$(TOOLS) benchstat -col /impl -filter '-.name:Validator' $(BENCHOUT)
	@echo; echo "== contract validation alone, one create request and its 201 response =="
	$(TOOLS) benchstat -filter '.name:Validator' $(BENCHOUT)

## spec-watch: what Dots' published spec (a copy: testdata/dots-published/payout-links.yaml) has
## that openapi.yaml lacks or types differently; fails on what testdata/specwatch/allow.txt does
## not acknowledge. PUBLISHED=file compares with another copy.
PUBLISHED ?= testdata/dots-published/payout-links.yaml
.PHONY: spec-watch
spec-watch:
	$(GO) run ./internal/specwatch -published $(PUBLISHED)

## spec-gate: the breaking-change gate alone (.ci/spec-gate: oasdiff, openapi.yaml against
## .ci/openapi.released.yaml; make check runs it too)
.PHONY: spec-gate contract ci-kit
spec-gate:
	bash .ci/spec-gate

## contract: make, read, list and cancel one payout link with contract validation on
## (examples/ci): against Dots when DOTS_CLIENT_ID and DOTS_API_KEY are set (the sandbox, or
## DOTS_BASE_URL; production is refused), against the mock when no DOTS_* variable is
contract:
	$(GO) test -count=1 -run '^TestSandboxContract$$' -v ./examples/ci -contract.env

## ci-kit: what examples/ci/github-actions.yml runs, for your CI (README, "Your CI")
ci-kit: spec-gate spec-watch contract
## bench-batch: the batch runners against one mock in the same run (BENCHMARKS.md, "Batch
## payouts"): the SQLite runner and three Postgres workers paying 5,000 rows each, BENCHCOUNT
## times. Postgres comes from DOTS_TEST_POSTGRES, or a throwaway server from the local binaries.
.PHONY: bench-batch
bench-batch:
	$(GO) test -run '^$$' -bench 'BatchPostgres' -benchtime 5000x -count $(BENCHCOUNT) ./cmd/payoutlinks
