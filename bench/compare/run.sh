#!/usr/bin/env bash
# Side-by-side OPTIONS load over TCP against four servers, in one run:
#
#   sipcm     sipcm serve (this repository)
#   sipgo     bench/cmd/sipgoserver, a minimal github.com/emiago/sipgo server
#   kamailio  Kamailio with bench/compare/kamailio.cfg (stateless sl replies);
#             skipped with a note when kamailio is not installed
#   gnetbare  bench/cmd/gnetbare: gnet + sipparse.Framer + a fixed 200 OK,
#             the limit of the transport path
#
# and, over TLS 1.3 (SERVERS="sipcm sipcm-tls cryptotls", or add them):
#
#   sipcm-tls  sipcm serve's TLS listener (its self-signed ECDSA P-256
#              certificate; the load runs with --insecure-skip-verify)
#   cryptotls  bench/cmd/tlsbaseline: crypto/tls over net.Conn with a
#              goroutine per connection and sipcm's framing, parsing and
#              answer (the baseline of bench/tls_test.go), ECDSA P-256
#
# Each server runs pinned to one core (SERVER_CPU), the same `sipcm bench`
# load runs pinned to another (CLIENT_CPU), RUNS times per server. All servers
# run at once, each idle while another is loaded, and the runs go round the
# servers (run 1 of each, then run 2 of each, ...), so that a slow spell of
# the machine falls on every server alike rather than on one. It prints a
# markdown report: per-run requests/s, p50/p99 and the server's CPU use,
# medians, and the ratios of sipcm to the others, by requests/s and by
# requests per server CPU-second (a server that does not saturate its core
# is limited by the load generator). Loopback only; every process it starts
# is stopped on exit. It takes about (RUNS x DURATION + WARMUP + 5 s) per
# server.
#
# Usage: bench/compare/run.sh
# Environment (defaults):
#   CONNS=50 PIPELINE=32 DURATION=10s RUNS=3 WARMUP=2s
#   SERVER_CPU=0 CLIENT_CPU=1 BASE_PORT=15070 KAMAILIO_TCP_WORKERS=2
#   SERVERS="sipcm sipgo kamailio gnetbare"  OUT=file (also write the report there)
set -euo pipefail
cd "$(dirname "$0")/../.."

CONNS=${CONNS:-50}
PIPELINE=${PIPELINE:-32}
DURATION=${DURATION:-10s}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2s}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BASE_PORT=${BASE_PORT:-15070}
KAMAILIO_TCP_WORKERS=${KAMAILIO_TCP_WORKERS:-2}
SERVERS=${SERVERS:-sipcm sipgo kamailio gnetbare}
OUT=${OUT:-}

log() { echo "compare: $*" >&2; }

# seconds converts a Go-style duration made of h, m, s parts ("10s", "1m30s")
# to whole seconds (whole-number parts only); anything else gives 600.
seconds() {
	local d=$1 total=0 n unit
	while [[ $d =~ ^([0-9]+)(h|m|s)(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $unit in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
	done
	[[ -z $d ]] && echo "$total" || echo 600
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipcm-compare.XXXXXX")
bench_pid=""
declare -A server_pid # server name -> process group

# stop_server NAME stops the process group of a running server: TERM, then
# KILL after 5 s.
stop_server() {
	[[ -n ${server_pid[$1]:-} ]] || return 0
	local pid=${server_pid[$1]}
	unset "server_pid[$1]"
	kill -TERM -- "-$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	if [[ -n $bench_pid ]]; then
		kill -TERM "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
	fi
	for name in "${!server_pid[@]}"; do stop_server "$name"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Pinning: needs taskset and two CPUs.
pin_server=() pin_client=() pinning="server on CPU $SERVER_CPU, load generator on CPU $CLIENT_CPU (taskset)"
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
	pin_server=(taskset -c "$SERVER_CPU")
	pin_client=(taskset -c "$CLIENT_CPU")
else
	pinning="not pinned (taskset missing or fewer than 2 CPUs)"
	log "warning: $pinning"
fi

kamailio_bin=$(command -v kamailio || true)
[[ -z $kamailio_bin && -x /usr/sbin/kamailio ]] && kamailio_bin=/usr/sbin/kamailio

log "building"
mkdir -p "$tmp/bin"
go build -o "$tmp/bin/" ./cmd/sipcm ./bench/cmd/sipgoserver ./bench/cmd/gnetbare ./bench/cmd/tlsbaseline
bin=$tmp/bin

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints the first port from $1 on that nothing listens on.
free_port() {
	local p=$1
	while port_open "$p"; do p=$((p + 1)); done
	echo "$p"
}

# start_server NAME PORT starts a server in a process group of its own,
# pinned, and waits up to 10 s for its port.
start_server() {
	local name=$1 port=$2 cmd
	case $name in
	sipcm) cmd=("$bin/sipcm" serve --tcp "127.0.0.1:$port" --tls none --admin none --log-level warn) ;;
	sipcm-tls) cmd=("$bin/sipcm" serve --tcp none --tls "127.0.0.1:$port" --admin none --log-level warn) ;;
	cryptotls) cmd=("$bin/tlsbaseline" -addr "127.0.0.1:$port") ;;
	sipgo) cmd=("$bin/sipgoserver" -addr "127.0.0.1:$port") ;;
	gnetbare) cmd=("$bin/gnetbare" -addr "127.0.0.1:$port") ;;
	kamailio)
		mkdir -p "$tmp/kamailio/run"
		cmd=("$kamailio_bin" -DD -E -f bench/compare/kamailio.cfg -Y "$tmp/kamailio/run" -w "$tmp/kamailio"
			-A "SIP_PORT=$port" -A "TCP_WORKERS=$KAMAILIO_TCP_WORKERS" -m 64 -M 8)
		;;
	*) log "unknown server $name"; return 1 ;;
	esac
	setsid "${pin_server[@]}" "${cmd[@]}" >"$tmp/$name.log" 2>&1 </dev/null &
	server_pid[$name]=$!
	for _ in $(seq 100); do
		if ! kill -0 "${server_pid[$name]}" 2>/dev/null; then
			log "$name exited at start:"; cat "$tmp/$name.log" >&2; unset "server_pid[$name]"; return 1
		fi
		port_open "$port" && return 0
		sleep 0.1
	done
	log "$name: port $port not open after 10 s"; cat "$tmp/$name.log" >&2
	return 1
}

# to_us converts a latency as sipcm bench prints it (850ns, 123µs, 4.5ms,
# 1.2s) to microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /ns$/) { sub(/ns$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /(µs|us)$/) { sub(/(µs|us)$/, "", v); printf "%.3f", v }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v * 1000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000000 }
		else printf "nan" }'
}

# fmt_us prints microseconds readably.
fmt_us() {
	awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "-"; else if (v < 1000) printf "%.0f µs", v; else printf "%.2f ms", v / 1000 }'
}

# median of the numbers given as arguments.
median() {
	printf '%s\n' "$@" | grep -v nan | sort -g | awk '{ a[NR] = $1 } END {
		if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

limit=$(($(seconds "$DURATION") + 60))
clk_tck=$(getconf CLK_TCK)

# cpu_ticks PGID prints the user+system CPU ticks used so far by the live
# processes of a process group (all their threads).
cpu_ticks() {
	local total=0 pid f
	for pid in $(pgrep -g "$1" 2>/dev/null); do
		# Fields after the parenthesised command name: utime is 14, stime 15.
		f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
		read -r -a a <<<"$f"
		total=$((total + a[11] + a[12]))
	done
	echo "$total"
}

# target NAME PORT prints the load's --target (and TLS flags) for a server.
target() {
	case $1 in
	sipcm-tls | cryptotls) echo "--target tls://127.0.0.1:$2 --insecure-skip-verify" ;;
	*) echo "--target tcp://127.0.0.1:$2" ;;
	esac
}

# bench NAME PORT DURATION writes sipcm bench's table to stdout and returns
# its exit status.
# It runs in the background so that a signal to this script is handled at
# once (bash runs traps only between foreground commands).
bench() {
	# shellcheck disable=SC2046
	timeout --kill-after=5 "$limit" "${pin_client[@]}" "$bin/sipcm" bench $(target "$1" "$2") \
		--conns "$CONNS" --pipeline "$PIPELINE" --duration "$3" --progress=false &
	bench_pid=$!
	local rc=0
	wait "$bench_pid" || rc=$?
	bench_pid=""
	return "$rc"
}

declare -A rps p50 p99 errs cpus eff skipped ports
runs_md=""
port=$BASE_PORT
running=()
for name in $SERVERS; do
	if [[ $name == kamailio && -z $kamailio_bin ]]; then
		skipped[$name]="kamailio not installed (Debian package kamailio)"
		log "skipping kamailio: not installed"
		continue
	fi
	port=$(free_port "$port")
	log "$name on 127.0.0.1:$port"
	if ! start_server "$name" "$port"; then
		skipped[$name]="did not start"
		stop_server "$name"
		continue
	fi
	ports[$name]=$port
	running+=("$name")
	if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
		bench "$name" "$port" "$WARMUP" >/dev/null 2>&1 || true
	fi
	port=$((port + 1))
done

# measure NAME R runs the load once against server NAME and records run R.
measure() {
	local name=$1 r=$2 rc=0 t0 t1 out el cpu x a b e
	t0=$(cpu_ticks "${server_pid[$name]}")
	bench "$name" "${ports[$name]}" "$DURATION" >"$tmp/out" 2>"$tmp/err" || rc=$?
	t1=$(cpu_ticks "${server_pid[$name]}")
	out=$(cat "$tmp/out")
	el=$(awk '$1 == "elapsed" { sub(/s$/, "", $2); print $2 }' <<<"$out")
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v el="${el:-0}" 'BEGIN { if (el > 0) printf "%.0f%%", 100 * d / hz / el; else print "-" }')
	x=$(awk '$1 == "requests/s" { print $2 }' <<<"$out")
	a=$(to_us "$(awk '$1 == "latency" && $2 == "p50" { print $3 }' <<<"$out")")
	b=$(to_us "$(awk '$1 == "latency" && $2 == "p99" { print $3 }' <<<"$out")")
	e=$(awk '$1 == "errors" { print $2 }' <<<"$out")
	if [[ -z $x ]]; then
		log "$name run $r: no result (exit $rc)"; cat "$tmp/err" >&2
		x=nan e="exit $rc"
	fi
	rps[$name]+="$x " p50[$name]+="$a " p99[$name]+="$b "
	if [[ $e =~ ^[0-9]+$ ]]; then
		errs[$name]=$((${errs[$name]:-0} + e))
	else
		errs[$name]="${errs[$name]:-0}+?"
	fi
	[[ $cpu == - ]] && cpus[$name]+="nan " || cpus[$name]+="${cpu%\%} "
	eff[$name]+="$(awk -v x="$x" -v c="${cpu%\%}" 'BEGIN { if (x == "nan" || c == "-" || c == 0) print "nan"; else printf "%.0f", x / (c / 100) }') "
	log "$name run $r: $x req/s, p50 $(fmt_us "$a"), p99 $(fmt_us "$b"), errors ${e:-?}, server CPU $cpu"
	runs_md+="| $name | $r | $(printf '%.0f' "$x" 2>/dev/null || echo "$x") | $(fmt_us "$a") | $(fmt_us "$b") | ${e:-?} | $cpu |"$'\n'
}

for r in $(seq "$RUNS"); do
	for name in "${running[@]}"; do
		measure "$name" "$r"
	done
done
for name in "${running[@]}"; do stop_server "$name"; done

ratio() { # ratio A B: A/B with two decimals, or "-"
	awk -v a="${1:-nan}" -v b="${2:-nan}" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.2f", a / b }'
}

declare -A med medeff
{
	echo "### sipcm vs peers: SIP OPTIONS over TCP$([[ " $SERVERS " == *" sipcm-tls "* || " $SERVERS " == *" cryptotls "* ]] && echo " and TLS")"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1), nproc $(nproc), $(uname -sr)"
	echo "- load: \`sipcm bench --conns $CONNS --pipeline $PIPELINE --duration $DURATION\`, $RUNS runs per server after a $WARMUP warm-up, taken in turns with all servers up; $pinning"
	echo "- versions: $(go version | awk '{ print $3 }'), gnet v2.10.0, sipgo v1.7.2$([[ -n $kamailio_bin ]] && echo ", $("$kamailio_bin" -v 2>/dev/null | sed -n 's/^version: \(kamailio [^ ]*\).*/\1/p')")"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| server | run | req/s | p50 | p99 | errors | server CPU |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s' "$runs_md"
	echo
	echo "| server | median req/s | median p50 | median p99 | errors (all runs) | median server CPU | median req per server CPU-second |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for name in $SERVERS; do
		if [[ -n ${skipped[$name]:-} ]]; then
			echo "| $name | skipped: ${skipped[$name]} | | | | | |"
			continue
		fi
		# shellcheck disable=SC2086
		med[$name]=$(median ${rps[$name]})
		# shellcheck disable=SC2086
		medeff[$name]=$(median ${eff[$name]})
		# shellcheck disable=SC2086
		echo "| $name | $(printf '%.0f' "${med[$name]}" 2>/dev/null || echo -) | $(fmt_us "$(median ${p50[$name]})") | $(fmt_us "$(median ${p99[$name]})") | ${errs[$name]} | $(median ${cpus[$name]})% | $(printf '%.0f' "${medeff[$name]}" 2>/dev/null || echo -) |"
	done
	echo
	echo "| ratio of median req/s | value | target |"
	echo "|---|---:|---:|"
	echo "| sipcm / kamailio | $(ratio "${med[sipcm]:-}" "${med[kamailio]:-}")× | ≥ 1.5× |"
	echo "| sipcm / sipgo | $(ratio "${med[sipcm]:-}" "${med[sipgo]:-}")× | ≥ 5× |"
	echo "| sipcm / gnetbare | $(ratio "${med[sipcm]:-}" "${med[gnetbare]:-}")× | ≥ 0.70× |"
	echo "| sipcm-tls / sipcm (TLS / TCP) | $(ratio "${med[sipcm-tls]:-}" "${med[sipcm]:-}")× | ≥ 0.80× |"
	echo "| sipcm-tls / cryptotls | $(ratio "${med[sipcm-tls]:-}" "${med[cryptotls]:-}")× | ≥ 1× |"
	echo
	echo "| ratio of median req per server CPU-second | value |"
	echo "|---|---:|"
	echo "| sipcm / kamailio | $(ratio "${medeff[sipcm]:-}" "${medeff[kamailio]:-}")× |"
	echo "| sipcm / sipgo | $(ratio "${medeff[sipcm]:-}" "${medeff[sipgo]:-}")× |"
	echo "| sipcm / gnetbare | $(ratio "${medeff[sipcm]:-}" "${medeff[gnetbare]:-}")× |"
	echo "| sipcm-tls / sipcm (TLS / TCP) | $(ratio "${medeff[sipcm-tls]:-}" "${medeff[sipcm]:-}")× |"
	echo "| sipcm-tls / cryptotls | $(ratio "${medeff[sipcm-tls]:-}" "${medeff[cryptotls]:-}")× |"
	echo
	echo "A server below ~95 % CPU was not saturated: the load generator on the other core was the limit, and its req/s understates it."
} >"$tmp/report.md"

cat "$tmp/report.md"
[[ -n $OUT ]] && cp "$tmp/report.md" "$OUT"
exit 0
