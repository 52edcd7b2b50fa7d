# BlockCache build and test entry points. The README's two commands:
#   make demo   - installs what is missing, builds everything, runs the C and Python demos
#                 and a 3-node cluster (etcd + blockcached)
#   make test   - installs what is missing, runs every test (Swift, C, Python, valgrind,
#                 ABI checks, and the 3-node cluster tests against a real etcd)
SHELL := /bin/bash
.DEFAULT_GOAL := demo

LIBDIR      := build/lib
BINDIR      := build/bin
LIB         := $(LIBDIR)/libblockcache.so
NODE        := $(BINDIR)/blockcached
JEMALLOC    := .deps/jemalloc/lib/libjemalloc_pic.a
STATIC_SCRATCH := .build-static
CERTS       := build/test-certs
SWIFT       ?= swift
PYTHON      ?= python3

export SWIFT_BACKTRACE := enable=no

.PHONY: deps lib node certs c-programs demo test test-swift test-c test-python test-abi test-valgrind test-cluster bench bench-cluster hit-ratios clean

deps:
	@bash scripts/setup.sh

# The shipped library: release, Swift runtime linked statically, only bc_* exported.
$(LIB): deps $(shell find Sources include -type f) Package.swift $(wildcard $(JEMALLOC))
	@# SwiftPM does not see the jemalloc archive as an input: force the relink.
	rm -f $(STATIC_SCRATCH)/release/libblockcache.so
	$(SWIFT) build -c release --product blockcache -Xswiftc -static-stdlib --scratch-path $(STATIC_SCRATCH)
	@mkdir -p $(LIBDIR)
	@# Debug info stripped: valgrind 3.19 cannot read the DWARF 5 that clang emits.
	objcopy --strip-debug $(STATIC_SCRATCH)/release/libblockcache.so $(LIB)
	ln -sf libblockcache.so $(LIBDIR)/libblockcache.so.1

lib: $(LIB)

# The node executable, release, from the same build folder as the library (which
# shares the compiled SwiftNIO and engine modules).
$(NODE): $(LIB)
	$(SWIFT) build -c release --product blockcached -Xswiftc -static-stdlib --scratch-path $(STATIC_SCRATCH)
	@mkdir -p $(BINDIR)
	objcopy --strip-debug $(STATIC_SCRATCH)/release/blockcached $(NODE)

node: $(NODE)

# Throw-away TLS certificates for the tests (scripts/make-test-certs.sh).
$(CERTS)/rogue-key.pem: scripts/make-test-certs.sh
	rm -rf $(CERTS)
	bash scripts/make-test-certs.sh $(CERTS)

certs: $(CERTS)/rogue-key.pem

c-programs: lib
	@bash scripts/c-programs.sh

demo: lib c-programs node
	@echo "== C demo (examples/c/demo.c) =="
	$(BINDIR)/demo
	@echo
	@echo "== Python demo (examples/python/demo.py) =="
	$(PYTHON) examples/python/demo.py
	@echo
	@echo "== 3-node cluster (examples/cluster/demo.py: etcd + 3 blockcached, redis-py) =="
	$(PYTHON) examples/cluster/demo.py --binary $(NODE)

test-swift: deps
	$(SWIFT) test

test-c: c-programs certs
	$(BINDIR)/test_blockcache
	BLOCKCACHE_TEST_CERTS=$(CURDIR)/$(CERTS) $(BINDIR)/test_node

test-python: lib certs
	BLOCKCACHE_LIBRARY=$(CURDIR)/$(LIB) BLOCKCACHE_TEST_CERTS=$(CURDIR)/$(CERTS) $(PYTHON) -m pytest -q bindings/python/tests

test-abi: c-programs
	@bash scripts/check-abi.sh

test-valgrind: c-programs
	@bash scripts/valgrind.sh

test-cluster: node certs
	BLOCKCACHED=$(CURDIR)/$(NODE) BLOCKCACHE_TEST_CERTS=$(CURDIR)/$(CERTS) $(PYTHON) -m pytest -q tests/cluster

test: test-swift test-c test-python test-abi test-valgrind test-cluster
	@echo "all BlockCache tests passed"

bench: c-programs
	@$(PYTHON) -c 'import cachetools' 2>/dev/null || $(PYTHON) -m pip install -q cachetools
	$(BINDIR)/bench_hitpath
	$(BINDIR)/bench_memory
	BLOCKCACHE_LIBRARY=$(CURDIR)/$(LIB) $(PYTHON) benchmarks/python/bench_binding.py

bench-cluster: node
	$(PYTHON) benchmarks/cluster/bench_cluster.py --binary $(NODE)

# Hit ratios of every policy on ../shared/traces (docs/hit-ratio.md has the figures).
hit-ratios: deps
	$(SWIFT) build -c release --product bctrace
	.build/release/bctrace --check-lru
	.build/release/bctrace --policies lru,lru2,wtinylfu --svg docs/plots

clean:
	rm -rf build .build $(STATIC_SCRATCH)
