# passkeyctl — see README.md. `make test` needs PostgreSQL on 127.0.0.1:5432
# and MariaDB/MySQL on 127.0.0.1:3306 (see .ci/run) and Chromium for the
# browser tests.
GO ?= go
BIN ?= bin/passkeyctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test bench lint install clean

build:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/passkeyctl

test: lint
	$(GO) test -count=1 -timeout 15m ./...

# Benchmarks: speed and memory targets (figures in the closing notes).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

install:
	CGO_ENABLED=0 $(GO) install -ldflags '$(LDFLAGS)' ./cmd/passkeyctl

clean:
	rm -rf bin
