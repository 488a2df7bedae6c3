#!/usr/bin/env bash
# hostile-tls.sh: the long form of the TLS hostile-client tests (issue 8)
# against a sipcm serve process under mutual TLS, on loopback.
#
# It builds sipcm (unless SIPCM_BIN names one) and bench/soak/hostiletls,
# which makes a CA, the server's and the clients' certificates in a
# temporary directory, starts `sipcm serve --mtls --ca ... --allow localhost
# --handshake-timeout HOSTILE_TLS_HANDSHAKE_TIMEOUT` and runs, beside a good
# mutual-TLS client whose OPTIONS must all be answered:
# HOSTILE_TLS_N clients each with a certificate from an untrusted CA, an
# expired one, one outside the allowed domains, one with the wrong extended
# key usage and none at all (each must be refused and never answered), and
# HOSTILE_TLS_STALLED clients that stall in the handshake (each must be
# closed at the handshake timeout). It prints the refusals by reason from
# serve's /metrics (sipcm_tls_refusals_total), before, after and the delta
# against what it should be, and the server's memory, goroutines and
# descriptors. The short forms are TestTLSRefusals and
# TestTLSHandshakeTimeout in package engine.
#
# Usage (from anywhere; runs by hand, not in CI):
#
#   bench/soak/hostile-tls.sh                         # 200 of each, 200 stalled
#   HOSTILE_TLS_N=20 HOSTILE_TLS_STALLED=30 bench/soak/hostile-tls.sh
#
# Environment:
#   HOSTILE_TLS_N                  clients of each refused kind (200)
#   HOSTILE_TLS_WORKERS            refused clients at a time (8)
#   HOSTILE_TLS_STALLED            stalled handshakes, all at once (200)
#   HOSTILE_TLS_HANDSHAKE_TIMEOUT  serve's --handshake-timeout (2s)
#   HOSTILE_TLS_SLACK              how late a close may come (2s)
#   SIPCM_BIN                      a sipcm binary to use instead of building one
#
# The exit status is 1 when a count is off or the good client lost an
# answer.
set -euo pipefail

N=${HOSTILE_TLS_N:-200}
WORKERS=${HOSTILE_TLS_WORKERS:-8}
STALLED=${HOSTILE_TLS_STALLED:-200}
HSTO=${HOSTILE_TLS_HANDSHAKE_TIMEOUT:-2s}
SLACK=${HOSTILE_TLS_SLACK:-2s}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipcm-hostile-tls.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=lib.sh
source "$ROOT/bench/soak/lib.sh"
build_sipcm
(cd "$ROOT" && go build -o "$WORK/hostiletls" ./bench/soak/hostiletls)

status=0
"$WORK/hostiletls" -sipcm "$SIPCM" -n "$N" -workers "$WORKERS" -stalled "$STALLED" \
	-handshake-timeout "$HSTO" -slack "$SLACK" || status=$?
exit $status
