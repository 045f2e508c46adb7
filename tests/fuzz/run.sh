#!/usr/bin/env bash
# Runs every libFuzzer target of a CHOP_FUZZ build for a bounded time (docs/reliability.md).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# For each fuzz_* binary in BUILD_DIR (or only the named targets): the committed corpus
# tests/fuzz/corpus/<name>/ is copied to a temporary directory (libFuzzer adds the inputs it
# finds to its first corpus directory; the committed one stays unchanged), replayed (every
# committed input, crash-* regressions included, runs first) and fuzzed for SECONDS. One line
# per target: name, executions, exec/s, final coverage, result. A crash prints the log's tail and
# the artifact's path; the other targets still run, and the exit status is then 1.
# Environment: FUZZ_JOBS=N runs N targets at a time (default 1); FUZZ_KEEP=1 keeps the work dir.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build_dir=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
jobs=${FUZZ_JOBS:-1}

# Inputs larger than a reader's interesting files only slow it down.
max_len_of() {
  case $1 in
    config) echo 4096 ;;
    idx) echo 8192 ;;
    cifar) echo 16384 ;;
    jsc_hdf5) echo 16384 ;;
    csv) echo 4096 ;;
    checkpoint) echo 16384 ;;
    storage_url) echo 256 ;;
    torchscript_import) echo 40000 ;;
    onnx_import) echo 8192 ;;
    *) echo 8192 ;;
  esac
}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for bin in "$build_dir"/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] && targets+=("$(basename "$bin" | sed 's/^fuzz_//')")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz_* binaries in $build_dir (configure with -DCHOP_FUZZ=ON and build them)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chop-fuzz.XXXXXX")
if [ "${FUZZ_KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
# allocator_may_return_null=1: a huge malloc inside a C library (HDF5 reading a corrupt object
# header) returns NULL, which the library reports as an error, as it would without ASan; a huge
# operator new in chop still fails (std::bad_alloc escapes the target: a finding).
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=0:allocator_may_return_null=1:handle_abort=1}
# chop turns a crash inside LibTorch's or HDF5's reader into one line (support/crash_guard.h): off here, so
# libFuzzer sees every crash.
export CHOP_NO_CRASH_GUARD=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# upstream_crash LOG: the crash's (or timeout's, or out-of-memory's) first frame outside the
# sanitizer / libFuzzer runtime, libc, libstdc++ and the allocator lies inside LibTorch
# (torch::jit::load on a corrupt archive) or HDF5 (H5Dopen on a corrupt datatype): a bug of
# LibTorch 1.13 or HDF5 1.10.8 that chop cannot catch, only turn into one line (CrashGuard;
# tests/fuzz/known/README.md). Reported with its artifact, not counted as ours.
upstream_crash() {
  grep -E '^ *#[0-9]+ ' "$1" |
    grep -vE ' in (__sanitizer|__asan|__ubsan|__interceptor|__lsan|__mem|fuzzer::|malloc|calloc|realloc|free|operator new|operator delete|abort|raise|gsignal|__GI_|__libc)|libc\.so|libstdc\+\+\.so' |
    head -1 | grep -qE 'libtorch|libc10|libhdf5'
}

# has_stack LOG: the log holds a sanitizer's or libFuzzer's stack trace.
has_stack() { grep -qE '^ *#[0-9]+ ' "$1"; }

# run_one NAME: fuzzes one target, writes $work/NAME.result (one summary line) and NAME.log.
run_one() {
  local name=$1 bin="$build_dir/fuzz_$1"
  local corpus="$work/$name.corpus" artifacts="$work/$name.artifacts" log="$work/$name.log"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$here/corpus/$name" ]; then cp -r "$here/corpus/$name/." "$corpus/"; fi
  if [ ! -x "$bin" ]; then
    echo "$name: not built ($bin)" > "$work/$name.result"
    return
  fi
  # LibTorch 1.13's unpickler allocates a string of the length a corrupt archive claims (up to
  # 4 GiB) before it finds the archive too short (tests/fuzz/known/): the targets that load a
  # TorchScript archive get room for that; chop's own allocations stay far below it.
  # HDF5 mallocs what a corrupt object header claims (GBs, never touched) and then fails the
  # read, as it does without ASan: single mallocs are not limited there, the RSS still is.
  local rss=2048 malloc=0
  case $name in torchscript_import | checkpoint) rss=6144 ;; jsc_hdf5) malloc=65536 ;; esac
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=$rss -malloc_limit_mb=$malloc \
    -max_len="$(max_len_of "$name")" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1
  local rc=$?
  local execs cov rate result
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  local artifact
  artifact=$(ls "$artifacts" 2>/dev/null | head -1)
  # libFuzzer's RSS watchdog (-rss_limit_mb) reports an out-of-memory from its own thread, with no
  # stack: the artifact runs again alone with a malloc limit, so that the allocation that grew the
  # RSS reports its stack (if one single allocation did), and that stack is classified.
  local replay="$work/$name.replay.log"
  if [ $rc -eq 0 ] && [ -z "$artifact" ]; then result=ok
  elif upstream_crash "$log"; then result="ok (the library crashed inside itself: tests/fuzz/known/README.md)"
  elif [ -n "$artifact" ] && ! has_stack "$log" &&
    { "$bin" -timeout=10 -rss_limit_mb=$rss -malloc_limit_mb=1024 "$artifacts/$artifact" > "$replay" 2>&1
      upstream_crash "$replay"; }; then
    result="ok (the library ran out of memory inside itself: tests/fuzz/known/README.md)"
  else result="CRASH (exit $rc)"; fi
  printf '%-20s execs %-9s exec/s %-7s cov %-7s %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result" \
    > "$work/$name.result"
  if [ "$result" != ok ]; then
    {
      echo "---- $name: last lines of $log"
      tail -40 "$log"
      [ -f "$replay" ] && { echo "---- $name: the artifact run again alone (-malloc_limit_mb=1024)"; tail -30 "$replay"; }
      [ -n "$artifact" ] && echo "---- $name: artifact $artifacts/$artifact (copy it to tests/fuzz/corpus/$name/crash-<what> once fixed)"
    } >> "$work/$name.result"
  fi
}

running=0
for name in "${targets[@]}"; do
  run_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
for name in "${targets[@]}"; do
  cat "$work/$name.result"
  head -1 "$work/$name.result" | grep -qE 'CRASH|not built' && status=1
done
if [ $status -ne 0 ]; then
  echo "fuzzing found crashes; work dir kept: $work"
  trap - EXIT
fi
exit $status
