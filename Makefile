# dots-go: generate the client from openapi.yaml, check it, test it.
GO    ?= go
TOOLS  = $(GO) tool -modfile=.ci/tools.mod

.PHONY: generate check test fuzz bench

## generate: regenerate gen/ from openapi.yaml and oapi-codegen.yaml
generate:
	$(GO) generate ./...

## check: spec validation, formatting, vet, staticcheck, and a generated client that matches the spec
check:
	$(GO) test -count=1 -run '^TestSpec' .
	bash .ci/spec-gate
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS) staticcheck ./...
	$(GO) generate ./...
	@git diff --exit-code -- gen || { echo "gen/ is stale: run 'make generate' and commit it"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- gen)" || { echo "gen/ has files git does not track"; exit 1; }

## test: check, then every test with the race detector
test: check
	$(GO) test -race -count=1 ./...
