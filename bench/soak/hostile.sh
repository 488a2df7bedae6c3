#!/usr/bin/env bash
# hostile.sh: the long forms of the hostile-client tests (issue 8) against a
# sipcm serve process on loopback.
#
# It starts `sipcm serve` with --first-message-timeout HOSTILE_FMT and runs
# bench/soak/hostile: HOSTILE_IDLE_CONNS connections that never send and
# HOSTILE_SLOW_CONNS that dribble an endless request a byte every
# HOSTILE_SLOW_EVERY, beside a client whose OPTIONS must all be answered.
# Every hostile connection must be closed at the first-message timeout (not
# before, at most HOSTILE_SLACK after) and counted; the program prints the
# figures, with the server's RSS, goroutines and descriptors before, with
# everything open and after. The short forms are `go test -run Hostile
# ./bench`.
#
# Usage (from anywhere; runs by hand, not in CI):
#
#   bench/soak/hostile.sh                                   # 10 000 silent, 1 slow, 1 min
#   HOSTILE_IDLE_CONNS=2000 HOSTILE_FMT=5s bench/soak/hostile.sh
#
# Environment:
#   HOSTILE_IDLE_CONNS  silent connections (10000)
#   HOSTILE_SLOW_CONNS  slow senders (1)
#   HOSTILE_SLOW_EVERY  pause between a slow sender's bytes (1s)
#   HOSTILE_FMT         the server's --first-message-timeout (1m, serve's default)
#   HOSTILE_SLACK       how late a close may come (5s)
#   SIPCM_BIN           a sipcm binary to use instead of building one
#
# TLS clients (untrusted CA, expired, outside the allowed domains, wrong
# EKU, no certificate under mTLS, stalled handshakes) have their own long
# form, hostile-tls.sh; the relay's upstream faults are tested by their own
# packages.
set -euo pipefail

IDLE=${HOSTILE_IDLE_CONNS:-10000}
SLOW=${HOSTILE_SLOW_CONNS:-1}
EVERY=${HOSTILE_SLOW_EVERY:-1s}
FMT=${HOSTILE_FMT:-1m}
SLACK=${HOSTILE_SLACK:-5s}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipcm-hostile.XXXXXX")
PID=""

cleanup() {
	if [[ -n "$PID" ]]; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=lib.sh
source "$ROOT/bench/soak/lib.sh"
build_sipcm
(cd "$ROOT" && go build -o "$WORK/hostile" ./bench/soak/hostile)

# Each connection is a descriptor on both sides.
want=$((IDLE + SLOW + 1024))
if [[ $(ulimit -n) -lt $want ]]; then
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if [[ $(ulimit -n) -lt $want ]]; then
	echo "open files limit $(ulimit -n) is below the $want needed" >&2
	exit 1
fi

"$SIPCM" serve --tcp 127.0.0.1:0 --tls none --admin 127.0.0.1:0 --first-message-timeout "$FMT" \
	--log-level warn >"$WORK/serve.out" 2>"$WORK/serve.err" &
PID=$!
for ((i = 0; i < 100; i++)); do
	grep -q '^listening admin ' "$WORK/serve.out" 2>/dev/null && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
ADDR=$(awk '$1 == "listening" && $2 == "tcp" { print $3; exit }' "$WORK/serve.out")
ADMIN=$(awk '$1 == "listening" && $2 == "admin" { sub("http://", "", $3); print $3; exit }' "$WORK/serve.out")
if [[ -z "$ADDR" || -z "$ADMIN" ]]; then
	echo "sipcm serve did not start:" >&2
	cat "$WORK/serve.err" >&2
	exit 1
fi
echo "sipcm serve on $ADDR (admin $ADMIN), first-message timeout $FMT"

status=0
"$WORK/hostile" -target "$ADDR" -admin "$ADMIN" -idle "$IDLE" -slow "$SLOW" -slow-every "$EVERY" \
	-first-message-timeout "$FMT" -slack "$SLACK" || status=$?
exit $status
