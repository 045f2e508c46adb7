# chop: the two commands are `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: setup build test demo clean asan-build test-asan fuzz

setup:
	@bash scripts/setup

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: setup $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: setup $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target chop
	@bash scripts/demo

# Bug-finding build (docs/reliability.md): clang, AddressSanitizer + UBSan, libFuzzer coverage.
ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 30
FUZZ_JOBS ?= $(JOBS)
$(ASAN_BUILD)/CMakeCache.txt:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DCHOP_SANITIZE=ON -DCHOP_FUZZ=ON >/dev/null

asan-build: setup $(ASAN_BUILD)/CMakeCache.txt
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every unit and CLI test under the sanitizers (tests labelled no-asan excluded: none today).
test-asan: asan-build
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -LE no-asan

# Each fuzz target for FUZZ_SECONDS from its committed corpus, FUZZ_JOBS at a time.
fuzz: asan-build
	@FUZZ_JOBS=$(FUZZ_JOBS) bash tests/fuzz/run.sh $(ASAN_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
