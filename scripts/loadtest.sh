#!/usr/bin/env bash
# Load test of the gate, on loopback, bounded in time, cleaning up after itself.
#
#   (a) status endpoint throughput with wrk: fresh visitors (each request signs a new ticket)
#       and polls with one valid ticket;
#   (b) nginx answering `return 503` with a small JSON body, same wrk settings, same run: the
#       ceiling of this machine for a trivial HTTP reply;
#   (c) the gate's memory (VmRSS) idle and with LOADTEST_TICKETS live tickets;
#   (d) waitroom-load: virtual users running the widget's state machine against the gate;
#   (e) attacks (scripts/attack.sh): a one-address flood of a million requests, a many-address
#       flood, slow-header and idle-connection floods under `ulimit -n 1024`, a school behind
#       one NAT. LOADTEST_ATTACKS=0 skips them;
#   (f) the queue in Redis (--store redis://…, Debian's redis-server): status throughput with
#       1 and 3 gate instances on one Redis, and Redis's memory for LOADTEST_REDIS_TICKETS
#       waiting tickets. LOADTEST_REDIS=0 skips it.
#
# Installs wrk and nginx from Debian when missing. Everything it starts is killed on exit.
# Knobs (environment): LOADTEST_DURATION (10s), LOADTEST_THREADS (2), LOADTEST_CONNECTIONS (64),
# LOADTEST_TICKETS (1000000). Run with `make loadtest` or `bash scripts/loadtest.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${LOADTEST_DURATION:-10s}
THREADS=${LOADTEST_THREADS:-2}
CONNECTIONS=${LOADTEST_CONNECTIONS:-64}
TICKETS=${LOADTEST_TICKETS:-1000000}
# The queue never moves during the measures: one admission every 100 minutes, no burst, so
# that every fresh request is queued (the overload path) and a ticket is never admitted.
SLOW_RATE=0.01

log() { printf '%s\n' "loadtest: $*" >&2; }

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v python3 >/dev/null \
  || ! command -v curl >/dev/null; then
  log "installing wrk, nginx, curl and python3 from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx curl python3 >/dev/null
fi

work=$(mktemp -d /tmp/waitroom-loadtest.XXXXXX)
started=()
# Each started gate writes to its own file: a reused one could show the previous gate's URL.
gates=0
cleanup() {
  local pid
  for pid in "${started[@]+"${started[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${started[@]+"${started[@]}"}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

log "building the gate and waitroom-load (native profile)"
cargo build --profile native --quiet -p waitroom-gate -p waitroom-load
GATE_BIN=target/native/waitroom-gate
LOAD_BIN=target/native/waitroom-load

# Starts a gate on a free loopback port; sets GATE_PID and GATE_URL.
start_gate() {
  gates=$((gates + 1))
  local out="$work/gate.$gates.out"
  WAITROOM_SECRET=loadtest-secret-loadtest-secret-0123456789 RUST_LOG=warn \
    "$GATE_BIN" --listen 127.0.0.1:0 --admit-per-minute "$SLOW_RATE" --burst 1 "$@" >"$out" 2>"$out.err" &
  GATE_PID=$!
  started+=("$GATE_PID")
  for _ in $(seq 100); do
    GATE_URL=$(sed -n 's/^listening on //p' "$out")
    [ -n "$GATE_URL" ] && return 0
    sleep 0.1
  done
  log "the gate did not start: $(cat "$out.err")"
  exit 1
}

# Stops one process this script started; `forget` drops a reaped one from the list, so that
# cleanup never signals a recycled PID.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}
forget() {
  local pid kept=()
  for pid in "${started[@]+"${started[@]}"}"; do
    [ "$pid" = "$1" ] || kept+=("$pid")
  done
  started=("${kept[@]+"${kept[@]}"}")
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# CPU time (user + system, in clock ticks) used so far by the given processes. On a shared
# 2-core machine, CPU per request is a steadier figure than requests per second: it hardly
# depends on what else runs, where throughput and tail latency do.
cpu_ticks() {
  local pid total=0
  for pid in "$@"; do
    # Fields 14 and 15 of /proc/PID/stat; the command name before them has no spaces here.
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
  done
  echo "$total"
}
TICKS_PER_SECOND=$(getconf CLK_TCK)

# Runs wrk against $2 and prints one table row: requests/s, p50, p99, max, requests, non-2xx,
# socket errors, and the server's CPU time per request (the processes given after the URL).
# With BENCH_COOKIE set, every request carries it (the browser cookie a ticket is bound to).
bench() {
  local name=$1 url=$2 out="$work/wrk.$gates.$1" before after
  local cookie=()
  [ -n "${BENCH_COOKIE:-}" ] && cookie=(-H "Cookie: $BENCH_COOKIE")
  shift 2
  before=$(cpu_ticks "$@")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s --latency \
    -H 'Accept: application/json' "${cookie[@]}" "$url" >"$out"
  after=$(cpu_ticks "$@")
  awk -v name="$name" -v ticks=$((after - before)) -v hz="$TICKS_PER_SECOND" '
    /Requests\/sec:/ { rps = $2 }
    /^ +Latency +[0-9]/ { max = $4 }
    /^ +50%/ { p50 = $2 }
    /^ +99%/ { p99 = $2 }
    /requests in/ { total = $1 }
    /Socket errors:/ { errors = $0; sub(/.*Socket errors: /, "", errors) }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    END {
      printf "| %s | %.0f | %s | %s | %s | %s | %s | %s | %.1f |\n", name, rps, p50, p99, max, total,
        (non2xx == "" ? 0 : non2xx), (errors == "" ? "none" : errors), ticks * 1e6 / hz / total
    }' "$out"
}

json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

# What else runs: the load average, the share of CPU busy over one second, and the processes
# that have used more than 5 % of a CPU since they started (ps's %CPU is a lifetime average).
cpu_busy_percent() {
  local a b
  a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}'
}
LOAD_BEFORE=$(awk '{print $1, $2, $3}' /proc/loadavg)
BUSY_BEFORE=$(cpu_busy_percent)
OTHERS=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 5 {printf "%s%s (%s%%)", sep, $2, $1; sep=", "}')

# (a) The gate's status endpoint.
log "(a) gate throughput, ${DURATION} per case"
# wrk is one address: lift its cap on places, and proof of work off, so that every fresh
# request is queued and signed.
start_gate --max-per-address 9000000 --max-queue 9000000 --proof-of-work off
fresh_row=$(bench "gate, fresh visitor (signs a ticket)" "$GATE_URL/waitroom/status" "$GATE_PID")
stop "$GATE_PID"
start_gate
ticket=""
for _ in 1 2 3; do
  # The first visitor takes the bucket's one token; the next is queued and gets a ticket,
  # bound to the waitroom_id cookie it is given with it: the polls send both back.
  reply=$(curl -s --max-time 5 -D "$work/headers" -H 'Accept: application/json' "$GATE_URL/waitroom/status")
  ticket=$(json_field ticket <<<"$reply")
  [ -n "$ticket" ] && break
done
[ -n "$ticket" ] || { log "no ticket from the gate"; exit 1; }
browser_cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(waitroom_id=[^;]*\).*/\1/p' "$work/headers" | head -n 1)
[ -n "$browser_cookie" ] || { log "no waitroom_id cookie from the gate"; exit 1; }
ticket_row=$(BENCH_COOKIE=$browser_cookie bench "gate, poll with a ticket" "$GATE_URL/waitroom/status?ticket=$ticket" "$GATE_PID")
stop "$GATE_PID"

# (b) nginx, same machine, same wrk settings.
log "(b) nginx throughput"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  # hyper keeps a connection for ever; so does nginx here, or wrk would reconnect every 1000.
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/json;
      add_header Retry-After 60 always;
      add_header Cache-Control no-store always;
      return 503 '{"state":"queued","ticket":"t2.1796017910702000.1700000000.1700006120.1700006000000.Qm9vYmFyYmF6cXV4cXV1eA.qkO2Xz3mQ0y1C3Vh0sR8bqJ1vN9k8yHj8Jp3cD0eFf0","position":1,"eta_seconds":6000,"retry_after_ms":6000000,"advance_per_minute":0.01}';
    }
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>"$work/nginx/stderr" &
NGINX_PID=$!
started+=("$NGINX_PID")
for _ in $(seq 50); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break
  sleep 0.1
done
# The master and its workers (the workers do the work).
# shellcheck disable=SC2046
nginx_row=$(bench "nginx, return 503 + JSON" "http://127.0.0.1:$port/" "$NGINX_PID" $(pgrep -P "$NGINX_PID"))
stop "$NGINX_PID"

# (c) Memory, idle and with $TICKETS live tickets.
log "(c) gate memory with $TICKETS live tickets"
# wrk is one address: lift the caps (one address's places, the queue's size) for this measure.
start_gate --max-per-address 9000000 --max-queue 9000000 --proof-of-work off
sleep 0.5
idle_rss=$(rss_kib "$GATE_PID")
per_thread=$(( (TICKETS + THREADS - 1) / THREADS ))
# Each wrk thread stops after WRK_LIMIT responses (scripts/wrk-stop-after.lua says how).
fill_started=$(date +%s.%N)
WRK_LIMIT=$per_thread WRK_DONE="$work/filled" wrk -t"$THREADS" -c"$CONNECTIONS" -d180s --timeout 5s \
  -s scripts/wrk-stop-after.lua "$GATE_URL/waitroom/status" >"$work/fill.wrk" &
WRK_PID=$!
started+=("$WRK_PID")
while kill -0 "$WRK_PID" 2>/dev/null; do
  if [ "$(find "$work" -maxdepth 1 -name 'filled.*' | wc -l)" -ge "$THREADS" ]; then
    kill -INT "$WRK_PID" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
# Interrupted, wrk still prints its summary: let it.
wait "$WRK_PID" 2>/dev/null || true
forget "$WRK_PID"
fill_seconds=$(awk -v a="$fill_started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
fill_requests=$(awk '/requests in/ {print $1}' "$work/fill.wrk")
sleep 0.5
full_rss=$(rss_kib "$GATE_PID")
full_hwm=$(hwm_kib "$GATE_PID")
# One more fresh visitor: its position is the number of live tickets, itself included.
live=$(curl -s --max-time 5 -H 'Accept: application/json' "$GATE_URL/waitroom/status" | json_field position)
stop "$GATE_PID"

# (d) Virtual users running the widget's state machine.
log "(d) waitroom-load, default run (2000 users over 20 s, 6000/min)"
default_run=$("$LOAD_BIN")
log "(d) waitroom-load, stampede (2000 users over 5 s, 3000/min)"
stampede_run=$("$LOAD_BIN" --users 2000 --arrival-window 5 --admit-per-minute 3000)

# (f) The queue in Redis.
redis_section=""
if [ "${LOADTEST_REDIS:-1}" != 0 ] && command -v redis-server >/dev/null; then
  log "(f) the queue in Redis: 1 and 3 instances, memory"
  rport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/redis"
  # No persistence for the throughput figures (an append-only file synced every second costs
  # little more; synced at every write, a disk write per poll).
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save "" --appendonly no \
    --logfile "$work/redis/redis.log" &
  REDIS_PID=$!
  started+=("$REDIS_PID")
  for _ in $(seq 50); do
    redis-cli -p "$rport" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  STORE="redis://127.0.0.1:$rport/0"
  # One instance: fresh visitors, then polls with a ticket; gate and Redis CPU counted.
  start_gate --max-per-address 9000000 --max-queue 9000000 --proof-of-work off --store "$STORE" --room fresh
  redis_fresh_row=$(bench "1 gate on Redis, fresh visitor" "$GATE_URL/waitroom/status" "$GATE_PID" "$REDIS_PID")
  stop "$GATE_PID"
  start_gate --store "$STORE" --room polls
  reply=""
  for _ in 1 2 3; do
    reply=$(curl -s --max-time 5 -D "$work/headers" -H 'Accept: application/json' "$GATE_URL/waitroom/status")
    rticket=$(json_field ticket <<<"$reply")
    [ -n "$rticket" ] && break
  done
  rcookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(waitroom_id=[^;]*\).*/\1/p' "$work/headers" | head -n 1)
  redis_poll_row=$(BENCH_COOKIE=$rcookie bench "1 gate on Redis, poll with a ticket" "$GATE_URL/waitroom/status?ticket=$rticket" "$GATE_PID" "$REDIS_PID")
  one_pid=$GATE_PID
  one_url=$GATE_URL
  # Three instances, one room: three wrk at once (one thread and a third of the connections
  # each), the same ticket polled on all three; requests/s summed, CPU of the three and Redis.
  start_gate --store "$STORE" --room polls
  two_pid=$GATE_PID two_url=$GATE_URL
  start_gate --store "$STORE" --room polls
  three_pid=$GATE_PID three_url=$GATE_URL
  before=$(cpu_ticks "$one_pid" "$two_pid" "$three_pid" "$REDIS_PID")
  third=$(( (CONNECTIONS + 2) / 3 ))
  k=0
  wrks=()
  for url in "$one_url" "$two_url" "$three_url"; do
    k=$((k + 1))
    wrk -t1 -c"$third" -d"$DURATION" --timeout 5s --latency -H 'Accept: application/json' \
      -H "Cookie: $rcookie" "$url/waitroom/status?ticket=$rticket" >"$work/wrk.three.$k" &
    wrks+=("$!")
  done
  wait "${wrks[@]}" 2>/dev/null || true
  after=$(cpu_ticks "$one_pid" "$two_pid" "$three_pid" "$REDIS_PID")
  redis_three_row=$(awk -v ticks=$((after - before)) -v hz="$TICKS_PER_SECOND" '
    /Requests\/sec:/ { rps += $2 }
    /^ +99%/ { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) ms *= 1000; if (ms > p99) p99 = ms }
    /requests in/ { total += $1 }
    /Non-2xx or 3xx responses:/ { non2xx += $NF }
    END { printf "| 3 gates on one Redis, poll with a ticket (3 wrk at once) | %.0f | | %.2fms (worst of 3) | | %d | %d | | %.1f |\n", rps, p99, total, non2xx, ticks * 1e6 / hz / total }
  ' "$work"/wrk.three.*)
  stop "$one_pid"; stop "$two_pid"; stop "$three_pid"
  # Redis memory for REDIS_TICKETS waiting tickets, filled through a gate as in (c).
  REDIS_TICKETS=${LOADTEST_REDIS_TICKETS:-1000000}
  redis-cli -p "$rport" flushall >/dev/null
  mem_before=$(redis-cli -p "$rport" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  start_gate --max-per-address 9000000 --max-queue 9000000 --proof-of-work off --store "$STORE" --room memory
  rm -f "$work"/filled.*
  redis_fill_started=$(date +%s.%N)
  WRK_LIMIT=$(( (REDIS_TICKETS + THREADS - 1) / THREADS )) WRK_DONE="$work/filled" wrk -t"$THREADS" -c"$CONNECTIONS" -d600s --timeout 5s \
    -s scripts/wrk-stop-after.lua "$GATE_URL/waitroom/status" >"$work/fill.redis.wrk" &
  WRK_PID=$!
  started+=("$WRK_PID")
  while kill -0 "$WRK_PID" 2>/dev/null; do
    if [ "$(find "$work" -maxdepth 1 -name 'filled.*' | wc -l)" -ge "$THREADS" ]; then
      kill -INT "$WRK_PID" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  wait "$WRK_PID" 2>/dev/null || true
  forget "$WRK_PID"
  redis_fill_seconds=$(awk -v a="$redis_fill_started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  redis_live=$(curl -s --max-time 5 -H 'Accept: application/json' "$GATE_URL/waitroom/status" | json_field position)
  mem_after=$(redis-cli -p "$rport" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  stop "$GATE_PID"
  stop "$REDIS_PID"
  redis_per_ticket=$(awk -v a="$mem_before" -v b="$mem_after" -v n="${redis_live:-0}" 'BEGIN {if (n > 0) printf "%.0f", (b - a) / n; else print "?"}')
  redis_section=$(cat <<EOF2

### (f) The queue in Redis (\`--store redis://…\`, $(redis-server --version | awk '{print $1, $3}'), no persistence)

Same wrk settings; the CPU per request counts the gates and redis-server.

| case | requests/s | p50 | p99 | max | requests | non-2xx | socket errors | server CPU µs/request |
|---|---|---|---|---|---|---|---|---|
$redis_fresh_row
$redis_poll_row
$redis_three_row

Redis memory (\`used_memory\`) for ${redis_live:-?} waiting tickets (filled through one gate in $redis_fill_seconds s): $(mib $(( (mem_after - mem_before) / 1024 ))) MiB, $redis_per_ticket bytes per ticket.
EOF2
)
fi

attacks=""
if [ "${LOADTEST_ATTACKS:-1}" != 0 ]; then
  log "(e) attacks"
  attacks=$(GATE_BIN="$GATE_BIN" bash scripts/attack.sh)
fi

per_ticket=$(awk -v a="$idle_rss" -v b="$full_rss" -v n="${live:-0}" 'BEGIN {if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "?"}')
cat <<EOF

## waitroom gate load test

Machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); load average before the run: $LOAD_BEFORE, CPU busy over the second before: ${BUSY_BEFORE} %; processes above 5 % CPU (lifetime) at the start: ${OTHERS:-none}.
wrk ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION} per case, on the same cores as the server it measures.
Gate: native profile (opt-level 3), \`--admit-per-minute $SLOW_RATE --burst 1\` (every fresh visitor is queued), RUST_LOG=warn; for the fresh-visitor case and the memory fill, which come from one address, also \`--max-per-address 9000000 --max-queue 9000000\`.

### (a, b) Status endpoint throughput

| case | requests/s | p50 | p99 | max | requests | non-2xx | socket errors | server CPU µs/request |
|---|---|---|---|---|---|---|---|---|
$fresh_row
$ticket_row
$nginx_row

### (c) Gate memory

| state | VmRSS (MiB) |
|---|---|
| idle, just started | $(mib "$idle_rss") |
| ${live:-?} live tickets (filled by $fill_requests fresh requests in $fill_seconds s) | $(mib "$full_rss") (peak $(mib "$full_hwm")) |
| per live ticket | $per_ticket bytes |

### (d) waitroom-load

$default_run

$stampede_run
$redis_section
$attacks
EOF
