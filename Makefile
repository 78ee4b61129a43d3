# Pouch build, install, test and benchmark entry points.
GO ?= go
PREFIX ?= /usr/local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -s -w -X github.com/pouchcontainer/pouch/version.Version=$(VERSION) -X github.com/pouchcontainer/pouch/version.GitCommit=$(COMMIT)
BINARIES := pouchd pouch pouch-shim pouch-logger

.PHONY: build install demo test unit integration bench clean

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./cmd/,$(BINARIES))

install: build
	install -m 0755 $(addprefix bin/,$(BINARIES)) $(PREFIX)/bin/

# From a fresh machine to a first container: dependencies, build, install,
# start pouchd, load a busybox image built offline, run it.
demo:
	./hack/install-deps.sh
	$(MAKE) install
	./hack/demo.sh

# Every test: unit tests, then integration tests against a real pouchd.
test: build unit integration

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /integration)

integration: build
	POUCH_BIN_DIR=$(CURDIR)/bin $(GO) test -count=1 -p 1 -timeout 30m ./integration/...

bench: build
	POUCH_BIN_DIR=$(CURDIR)/bin $(GO) run ./hack/bench -out docs/benchmarks.md

clean:
	rm -rf bin
