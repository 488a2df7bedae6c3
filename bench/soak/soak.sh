#!/usr/bin/env bash
# soak.sh: long load runs against sipcm serve and sipcm relay (issue 8).
#
# For each target it starts the server (a built sipcm binary, loopback
# only), measures its maximum OPTIONS rate with `sipcm bench` for
# SOAK_MAX_DURATION, then runs `sipcm bench --rate (SOAK_LOAD % of that)
# --duration SOAK_DURATION` against it while sampling the server's /metrics
# every SOAK_INTERVAL seconds: resident memory, goroutines, open file
# descriptors, connections and messages. It prints the series and the
# totals: requests sent, answered and failed (must be 0), RSS and goroutines
# at the start and end of the soak. The relay runs in front of a sipcm serve
# as its upstream, and is skipped when `sipcm relay` does not exist.
#
# Usage (from anywhere; runs by hand, not in CI):
#
#   bench/soak/soak.sh                      # 10 minutes each, serve then relay
#   SOAK_DURATION=1m bench/soak/soak.sh     # a short check
#
# Environment:
#   SOAK_DURATION      soak length, a Go duration (10m)
#   SOAK_TARGETS       "serve relay" (both), or one of them
#   SOAK_LOAD          percent of the measured maximum rate (80)
#   SOAK_MAX_DURATION  length of the maximum-rate run (10s)
#   SOAK_INTERVAL      seconds between samples (10)
#   SOAK_CONNS         bench connections (10)
#   SOAK_PIPELINE      bench requests outstanding per connection (16)
#   SIPCM_BIN          a sipcm binary to use instead of building one
#
# The exit status is 1 when a request failed or a server could not start.
set -euo pipefail

DURATION=${SOAK_DURATION:-10m}
TARGETS=${SOAK_TARGETS:-serve relay}
LOAD=${SOAK_LOAD:-80}
MAXDUR=${SOAK_MAX_DURATION:-10s}
INTERVAL=${SOAK_INTERVAL:-10}
CONNS=${SOAK_CONNS:-10}
PIPELINE=${SOAK_PIPELINE:-16}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipcm-soak.XXXXXX")
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=lib.sh
source "$ROOT/bench/soak/lib.sh"
build_sipcm

# start NAME ARGS...: starts sipcm ARGS in the background and waits for its
# listening lines; sets ADDR (SIP over TCP), ADMIN and PID.
start() {
	local name=$1
	shift
	"$SIPCM" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	PID=$!
	PIDS+=("$PID")
	local i
	for ((i = 0; i < 100; i++)); do
		if grep -q '^listening admin ' "$WORK/$name.out" 2>/dev/null; then
			ADDR=$(awk '$1 == "listening" && $2 == "tcp" { print $3; exit }' "$WORK/$name.out")
			ADMIN=$(awk '$1 == "listening" && $2 == "admin" { sub("http://", "", $3); print $3; exit }' "$WORK/$name.out")
			return 0
		fi
		if ! kill -0 "$PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "$name did not start:" >&2
	cat "$WORK/$name.err" >&2
	return 1
}

# stop PID: graceful stop of a server started here.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# metric ADMIN SERIES...: prints the value of each series of /metrics, "-"
# when absent.
metric() {
	local admin=$1
	shift
	curl -fsS --max-time 5 "http://$admin/metrics" | awk -v want="$*" '
		BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) v[w[i]] = "-" }
		!/^#/ { if ($1 in v) v[$1] = $2 }
		END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? " " : ""), v[w[i]]; print "" }'
}

SERIES='process_resident_memory_bytes go_goroutines process_open_fds sipcm_connections_open{direction="in"} sipcm_connections_open{direction="out"} sipcm_messages_total{direction="in"}'

# row FILE: value of a row of bench's table ("requests sent", "answered", ...).
row() {
	awk -v k="$2" 'index($0, k) == 1 { sub(k, ""); print $1; exit }' "$1"
}

FAILED=0

# soak NAME ADMIN TARGET: the maximum-rate run and the soak against TARGET,
# sampling the admin endpoint ADMIN.
soak() {
	local name=$1 admin=$2 target=$3
	echo
	echo "== $name: $target (admin $admin)"
	"$SIPCM" bench --target "tcp://$target" --duration "$MAXDUR" --conns "$CONNS" --pipeline "$PIPELINE" \
		--progress=false >"$WORK/$name.max" 2>&1 || true
	local max
	max=$(row "$WORK/$name.max" "requests/s")
	if [[ -z "$max" || "$max" == 0 ]]; then
		echo "maximum-rate run failed:"
		cat "$WORK/$name.max"
		FAILED=1
		return
	fi
	local rate=$((max * LOAD / 100))
	echo "maximum rate $max req/s ($MAXDUR, $CONNS conns x $PIPELINE); soak at $LOAD % = $rate req/s for $DURATION"

	"$SIPCM" bench --target "tcp://$target" --rate "$rate" --duration "$DURATION" --conns "$CONNS" \
		--pipeline "$PIPELINE" --progress=false >"$WORK/$name.soak" 2>&1 &
	local bench=$!
	local t0=$SECONDS
	printf '%6s %10s %10s %6s %8s %8s %10s\n' "t(s)" "RSS(KiB)" "goroutines" "fds" "conns_in" "conns_out" "msgs_in/s"
	local first="" last="" prev_msgs="" prev_t="" sample
	while :; do
		sample=$(metric "$admin" $SERIES) || sample="- - - - - -"
		read -r rss gor fds cin cout msgs <<<"$sample"
		local t=$((SECONDS - t0)) mrate="-"
		if [[ -n "$prev_msgs" && "$msgs" != "-" && $t -gt $prev_t ]]; then
			mrate=$(awk -v a="$prev_msgs" -v b="$msgs" -v d=$((t - prev_t)) 'BEGIN { printf "%.0f", (b - a) / d }')
		fi
		printf '%6d %10s %10s %6s %8s %8s %10s\n' "$t" "$(awk -v r="$rss" 'BEGIN { if (r == "-") print "-"; else printf "%.0f", r / 1024 }')" \
			"$gor" "$fds" "$cin" "$cout" "$mrate"
		[[ -z "$first" ]] && first="$rss $gor $fds"
		last="$rss $gor $fds"
		prev_msgs=$msgs prev_t=$t
		kill -0 "$bench" 2>/dev/null || break
		local i
		for ((i = 0; i < INTERVAL * 10; i++)); do
			kill -0 "$bench" 2>/dev/null || break
			sleep 0.1
		done
	done
	local status=0
	wait "$bench" || status=$?
	read -r rss0 gor0 fds0 <<<"$first"
	read -r rss1 gor1 fds1 <<<"$last"
	local sent answered errors
	sent=$(row "$WORK/$name.soak" "requests sent")
	answered=$(row "$WORK/$name.soak" "answered")
	errors=$(row "$WORK/$name.soak" "errors")
	echo "-- bench:"
	sed 's/^/   /' "$WORK/$name.soak"
	echo "-- $name totals: requests sent $sent, answered $answered, failed $errors;" \
		"RSS start $((rss0 / 1024)) KiB end $((rss1 / 1024)) KiB; goroutines start $gor0 end $gor1; fds start $fds0 end $fds1"
	echo "-- $name counters: $(metric "$admin" 'sipcm_connections_refused_total{reason="max_conns"}' \
		'sipcm_connections_refused_total{reason="max_conns_per_ip"}' 'sipcm_backpressure_total' \
		'sipcm_rejected_messages_total{reason="framing"}' 'sipcm_timeouts_total{kind="idle"}' |
		awk '{ printf "refused max_conns %s, max_conns_per_ip %s; backpressure %s; framing errors %s; idle timeouts %s", $1, $2, $3, $4, $5 }')"
	echo "-- $name responses made by sipcm itself: $(curl -fsS --max-time 5 "http://$admin/metrics" |
		awk '/^sipcm_auto_responses_total\{/ { sub("sipcm_auto_responses_total", ""); printf "%s%s", (n++ ? ", " : ""), $0 } END { if (!n) printf "none" }')"
	local achieved
	achieved=$(row "$WORK/$name.soak" "requests/s")
	echo "-- $name rate: achieved ${achieved:-?} req/s of the $rate asked" \
		"($(awk -v a="${achieved:-0}" -v r="$rate" 'BEGIN { printf "%.1f", 100 * a / r }') %)"
	if [[ -n "$achieved" && $((achieved * 100)) -lt $((rate * 98)) ]]; then
		echo "-- $name: WARNING: achieved $achieved req/s of the $rate asked: the soak ran at saturation, not at $LOAD %"
	fi
	if [[ $status -ne 0 || "$errors" != 0 || "$sent" != "$answered" ]]; then
		echo "-- $name: FAILED (bench exit $status)"
		FAILED=1
	fi
}

for t in $TARGETS; do
	case $t in
	serve)
		start serve serve --tcp 127.0.0.1:0 --tls none --admin 127.0.0.1:0 --log-level warn
		soak serve "$ADMIN" "$ADDR"
		stop "$PID"
		;;
	relay)
		if ! "$SIPCM" relay --help >/dev/null 2>&1; then
			echo
			echo "== relay: sipcm relay is not available in this build; skipped"
			continue
		fi
		start upstream serve --tcp 127.0.0.1:0 --tls none --admin 127.0.0.1:0 --log-level warn
		local_up=$ADDR up_pid=$PID up_admin=$ADMIN
		start relay relay --upstream "tcp://$local_up" --tcp 127.0.0.1:0 --tls none --admin 127.0.0.1:0 --log-level warn
		relay_pid=$PID
		soak relay "$ADMIN" "$ADDR"
		echo "-- upstream (sipcm serve) after the relay soak: $(metric "$up_admin" $SERIES |
			awk '{ printf "RSS %.0f KiB, goroutines %s, fds %s, conns in %s, messages in %s", $1 / 1024, $2, $3, $4, $6 }')"
		stop "$relay_pid"
		stop "$up_pid"
		;;
	*)
		echo "unknown target $t" >&2
		FAILED=1
		;;
	esac
done

echo
if [[ $FAILED -ne 0 ]]; then
	echo "soak: FAILED"
	exit 1
fi
echo "soak: ok"
