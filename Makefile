# BlockCache build and test entry points. The README's two commands:
#   make demo   - installs what is missing, builds everything, runs the C and Python demos
#   make test   - installs what is missing, runs every test (Swift, C, Python, valgrind, ABI checks)
SHELL := /bin/bash
.DEFAULT_GOAL := demo

LIBDIR      := build/lib
BINDIR      := build/bin
LIB         := $(LIBDIR)/libblockcache.so
JEMALLOC    := .deps/jemalloc/lib/libjemalloc_pic.a
STATIC_SCRATCH := .build-static
SWIFT       ?= swift
PYTHON      ?= python3

export SWIFT_BACKTRACE := enable=no

.PHONY: deps lib c-programs demo test test-swift test-c test-python test-abi test-valgrind bench hit-ratios clean

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

c-programs: lib
	@bash scripts/c-programs.sh

demo: lib c-programs
	@echo "== C demo (examples/c/demo.c) =="
	$(BINDIR)/demo
	@echo
	@echo "== Python demo (examples/python/demo.py) =="
	$(PYTHON) examples/python/demo.py

test-swift: deps
	$(SWIFT) test

test-c: c-programs
	$(BINDIR)/test_blockcache
	$(BINDIR)/test_node

test-python: lib
	BLOCKCACHE_LIBRARY=$(CURDIR)/$(LIB) $(PYTHON) -m pytest -q bindings/python/tests

test-abi: c-programs
	@bash scripts/check-abi.sh

test-valgrind: c-programs
	@bash scripts/valgrind.sh

test: test-swift test-c test-python test-abi test-valgrind
	@echo "all BlockCache tests passed"

bench: c-programs
	@$(PYTHON) -c 'import cachetools' 2>/dev/null || $(PYTHON) -m pip install -q cachetools
	$(BINDIR)/bench_hitpath
	$(BINDIR)/bench_memory
	BLOCKCACHE_LIBRARY=$(CURDIR)/$(LIB) $(PYTHON) benchmarks/python/bench_binding.py

# Hit ratios of every policy on ../shared/traces (docs/hit-ratio.md has the figures).
hit-ratios: deps
	$(SWIFT) build -c release --product bctrace
	.build/release/bctrace --check-lru
	.build/release/bctrace --policies lru,lru2,wtinylfu --svg docs/plots

clean:
	rm -rf build .build $(STATIC_SCRATCH)
