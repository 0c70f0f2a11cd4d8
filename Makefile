# tenantml build and test entry points. `make test` is the whole suite: it
# installs and starts what the tests need, then runs every Go test.
GO ?= go
BIN ?= bin/tenantml
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: build test lint deps bench clean

build:
	$(GO) build -o $(BIN) ./cmd/tenantml

deps:
	./scripts/test-deps.sh

test: deps
	./scripts/test.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1)
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

clean:
	rm -rf bin
