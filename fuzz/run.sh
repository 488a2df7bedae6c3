#!/usr/bin/env bash
# Runs every native Go fuzz target in the module, one after another, for the
# given time each (default 10m), keeping the generated corpus under
# $(go env GOCACHE)/fuzz and any failing input under the package's
# testdata/fuzz/<Target>/, where it becomes a regression test that plain
# `go test` runs. See fuzz/README.md.
#
# Usage: fuzz/run.sh [DURATION] [TARGET_REGEXP]
#   DURATION       per target, as go test -fuzztime takes it (10m, 1h, 5000x)
#   TARGET_REGEXP  run only targets whose name matches (grep -E), e.g. 'Parse|Frame'
# FUZZ_PARALLEL sets the fuzzing workers per target (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10m}"
only="${2:-.}"
parallel="${FUZZ_PARALLEL:-2}"
status=0
failed=()
# Every *_test.go file in the module (tracked or not) that declares a fuzz
# target (testdata and .git hold none).
files=$(grep -rlE --include='*_test.go' --exclude-dir=testdata --exclude-dir=.git '^func Fuzz' . | sed 's|^\./||' | sort || true)
for file in $files; do
  pkg="./$(dirname "$file")"
  for target in $(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file"); do
    if ! grep -qE -- "$only" <<<"$target"; then
      continue
    fi
    echo "== $pkg $target ($dur)"
    start=$(date +%s)
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$dur" -parallel "$parallel"; then
      echo "FAIL: $pkg $target (failing input under $pkg/testdata/fuzz/$target/)"
      failed+=("$pkg $target")
      status=1
    fi
    echo "   ran $(( $(date +%s) - start ))s"
  done
done
if [ "$status" -ne 0 ]; then
  echo "failed targets:"; printf '  %s\n' "${failed[@]}"
fi
exit $status
