# passkeyctl — see README.md. `make test` needs PostgreSQL on 127.0.0.1:5432
# and MariaDB/MySQL on 127.0.0.1:3306 (see .ci/run) and Chromium for the
# browser tests.
GO ?= go
BIN ?= bin/passkeyctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test bench lint install clean peers test-matrix \
	test-matrix-postgres13 test-matrix-postgres18 test-matrix-mysql97 \
	test-matrix-mariadb118 test-matrix-pgbouncer test-matrix-pglite

build:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/passkeyctl

test: lint
	$(GO) test -count=1 -timeout 15m ./...

# The database matrix: the internal/db and cmd/passkeyctl suites once per
# server that .ci/peers/ runs (`make peers` starts them all; see README,
# "Development"). In each run the named server replaces the default one of
# its dialect; the other dialect stays on the default server (PostgreSQL 15
# or MariaDB 10.11), and SQLite runs too. The browser test is left out: it
# checks the browser ceremony, which is the same on every server, and its
# database writes are the enrolment path that serve_*.txtar and enroll_test
# already run on each server. `make -k test-matrix` runs every server even
# when one fails (.ci/run does).
# The servers' DSNs (the ports .ci/peers/ uses); each can be overridden,
# e.g. make test-matrix-mysql97 MYSQL97_DSN=mysql://root@HOST:3306/test.
DEFAULT_PG ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
DEFAULT_MYSQL ?= mysql://root@127.0.0.1:3306/test
POSTGRES13_DSN ?= postgres://postgres@127.0.0.1:54313/test?sslmode=disable
POSTGRES18_DSN ?= postgres://postgres@127.0.0.1:54318/test?sslmode=disable
MYSQL97_DSN ?= mysql://root@127.0.0.1:33097/test
MARIADB118_DSN ?= mysql://root@127.0.0.1:33118/test
PGBOUNCER_DSN ?= postgres://postgres@127.0.0.1:64321/test?sslmode=disable
PGBOUNCER_DROPPING_DSN ?= postgres://postgres@127.0.0.1:64322/test?sslmode=disable
PGLITE_DSN ?= postgres://postgres@127.0.0.1:54399/postgres?sslmode=disable
MATRIX_ENV := PASSKEYCTL_TEST_MATRIX=1 PASSKEYCTL_TEST_POOLER_ROUNDS=25 \
	PASSKEYCTL_TEST_PGBOUNCER='$(PGBOUNCER_DSN)' \
	PASSKEYCTL_TEST_PGBOUNCER_DROPPING='$(PGBOUNCER_DROPPING_DSN)' \
	PASSKEYCTL_TEST_PGLITE='$(PGLITE_DSN)'
MATRIX_GOTEST := $(GO) test -count=1 -timeout 20m ./internal/db ./internal/store ./cmd/passkeyctl
# The pooler tests always go through PgBouncer to PostgreSQL 15, whatever
# server a run names: they run in the PgBouncer run (8 clients x 25 rounds,
# the figure issue 8 asks for) and are skipped in the others.
MATRIX_SKIP := ^TestServe_browser$$|^TestPgBouncer
# matrix-run NAME, POSTGRES DSN, MYSQL DSN[, tests to skip]
matrix-run = @echo "=== make test-matrix: $(1) (PASSKEYCTL_TEST_POSTGRES=$(2) PASSKEYCTL_TEST_MYSQL=$(3))" && \
	$(MATRIX_ENV) PASSKEYCTL_TEST_POSTGRES='$(2)' PASSKEYCTL_TEST_MYSQL='$(3)' $(MATRIX_GOTEST) -skip '$(if $(4),$(4),$(MATRIX_SKIP))'

# One run at a time: the PGlite script (in every run) shares PGlite's single
# database, and two runs at once would only fight over the 2 cores.
.NOTPARALLEL:

test-matrix: test-matrix-postgres13 test-matrix-postgres18 test-matrix-mysql97 \
	test-matrix-mariadb118 test-matrix-pgbouncer test-matrix-pglite

test-matrix-postgres13:
	$(call matrix-run,PostgreSQL 13,$(POSTGRES13_DSN),$(DEFAULT_MYSQL))

test-matrix-postgres18:
	$(call matrix-run,PostgreSQL 18,$(POSTGRES18_DSN),$(DEFAULT_MYSQL))

test-matrix-mysql97:
	$(call matrix-run,MySQL 9.7,$(DEFAULT_PG),$(MYSQL97_DSN))

test-matrix-mariadb118:
	$(call matrix-run,MariaDB 11.8,$(DEFAULT_PG),$(MARIADB118_DSN))

test-matrix-pgbouncer:
	$(call matrix-run,PostgreSQL 15 through PgBouncer A (transaction pooling),$(PGBOUNCER_DSN),$(DEFAULT_MYSQL),^TestServe_browser$$)

# PGlite: the smoke script only (one in-memory database, no CREATE DATABASE).
test-matrix-pglite:
	@echo "=== make test-matrix: PGlite (PASSKEYCTL_TEST_PGLITE=$(PGLITE_DSN))"
	$(MATRIX_ENV) $(GO) test -count=1 -timeout 10m -run '^TestPGlite' ./cmd/passkeyctl

# Start every server of the matrix (idempotent; see .ci/peers/).
peers:
	.ci/peers/all

# Benchmarks: speed and memory targets (figures in the closing notes),
# among them BenchmarkRevoke5kOf1M (internal/db): revoke of 5,000 of
# 1,000,000 passkeys on PostgreSQL, MySQL/MariaDB and SQLite against each
# database's own client. One package at a time (-p 1): two packages'
# benchmarks at once on 2 cores would time each other.
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

install:
	CGO_ENABLED=0 $(GO) install -ldflags '$(LDFLAGS)' ./cmd/passkeyctl

clean:
	rm -rf bin
