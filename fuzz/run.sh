#!/usr/bin/env bash
# Runs every native Go fuzz target in the module for the given time each
# (default 10m), keeping the generated corpus under $GOCACHE/fuzz and any
# failing input under the package's testdata/fuzz, where it becomes a
# regression test that plain `go test` runs. Usage: fuzz/run.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10m}"
status=0
while IFS= read -r file; do
  pkg="./$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "== $pkg $target ($dur)"
    start=$(date +%s)
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$dur" -parallel 2; then
      echo "FAIL: $pkg $target"; status=1
    fi
    echo "   ran $(( $(date +%s) - start ))s"
  done
done < <(grep -lE '^func Fuzz' $(git ls-files '*_test.go' 2>/dev/null; find . -name '*_test.go' -newer go.mod 2>/dev/null) | sed 's|^\./||' | sort -u)
exit $status
