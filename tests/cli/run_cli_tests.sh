#!/usr/bin/env bash
# Runs one CLI end-to-end case file: `run_cli_tests.sh CASE.sh /path/to/chop`.
# A case calls: ok CMD... (must exit 0 without a LibTorch warning; output in $OUT), fails "text" CMD... (must exit non-zero
# with one line on stderr containing text), has "text" (in $OUT), lacks "text" (not in $OUT).
set -uo pipefail
CASE=$1
CHOP=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
N_FAIL=0
N_PASS=0
OUT=""

fail() { echo "FAIL [$CASE:${BASH_LINENO[1]}]: $*" >&2; N_FAIL=$((N_FAIL + 1)); }
pass() { N_PASS=$((N_PASS + 1)); }

ok() {
  OUT=$("$@" 2>"$WORK/stderr"); local rc=$?
  if [ $rc -ne 0 ]; then fail "'$*' exited $rc: $(cat "$WORK/stderr")"; return; fi
  # LibTorch's own warnings (glog lines "W... ] Warning: ...") must never reach users.
  if grep -q "\] Warning: " "$WORK/stderr"; then fail "'$*' printed a LibTorch warning: $(grep -m1 "\] Warning: " "$WORK/stderr")"; return; fi
  pass
}
fails() {
  local want=$1; shift
  OUT=$("$@" 2>"$WORK/stderr"); local rc=$?
  local err; err=$(cat "$WORK/stderr")
  if [ $rc -eq 0 ]; then fail "'$*' succeeded, expected failure with '$want'"; return; fi
  if [[ "$err" != *"$want"* ]]; then fail "'$*': stderr lacks '$want': $err"; return; fi
  if [ "$(printf '%s\n' "$err" | grep -c .)" -gt 1 ] && [[ "$err" != *"Run with --help"* ]]; then
    fail "'$*': error is not one line: $err"; return
  fi
  pass
}
has() { if [[ "$OUT" == *"$1"* ]]; then pass; else fail "output lacks '$1': $OUT"; fi; }
lacks() { if [[ "$OUT" != *"$1"* ]]; then pass; else fail "output has '$1'"; fi; }

# shellcheck source=/dev/null
source "$CASE"
echo "$N_PASS passed, $N_FAIL failed"
[ $N_FAIL -eq 0 ]
