#!/usr/bin/env bash
# The attack section of `make loadtest` (docs/loadtest.md, part e): the gate against a
# prankster and a botnet, on loopback only, every case bounded in count and time.
#
#   (e1) one address sends 1 000 000 fresh requests (wrk): where does a pupil from another
#        address (127.0.0.2) land, and what does the gate's memory do during and after;
#   (e2) many addresses (a distinct IPv6 /64 per request, through the trusted proxy header):
#        requests per second the gate sustains, places taken, memory; without proof of work,
#        then with it (the default, auto): the same, the challenges and the difficulty, and
#        what a place costs a bot that solves (load/attack.py solve);
#   (e3) 2 000 slow-header connections (slowloris), gate under `ulimit -n 1024`: a real
#        client's latency;
#   (e4) 2 000 idle keep-alive connections, same limit: a real client's latency;
#   (e5) a lycée behind one NAT: 2 000 joins from one address (127.0.0.3) in 2 minutes.
#
# Called by scripts/loadtest.sh with GATE_BIN set; prints a Markdown section on stdout.
# Knobs: ATTACK_FLOOD (1000000), ATTACK_SECONDS (10, e2), ATTACK_CONNECTIONS (2000),
# ATTACK_SCHOOL_SECONDS (120).
set -euo pipefail
cd "$(dirname "$0")/.."

GATE_BIN=${GATE_BIN:-target/native/waitroom-gate}
FLOOD=${ATTACK_FLOOD:-1000000}
SECONDS_E2=${ATTACK_SECONDS:-10}
CONNECTIONS=${ATTACK_CONNECTIONS:-2000}
SCHOOL_SECONDS=${ATTACK_SCHOOL_SECONDS:-120}
RATE=2000
ATTACK="python3 load/attack.py"

log() { printf '%s\n' "attack: $*" >&2; }

work=$(mktemp -d /tmp/waitroom-attack.XXXXXX)
started=()
gates=0
cleanup() {
  local pid
  for pid in "${started[@]+"${started[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started[@]+"${started[@]}"}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local pid kept=()
  for pid in "${started[@]+"${started[@]}"}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  started=("${kept[@]+"${kept[@]}"}")
}

# Starts a gate admitting $RATE a minute with the extra arguments given, under a descriptor
# limit of $DESCRIPTORS (default: the shell's); sets GATE_PID, GATE_URL, GATE_PORT.
start_gate() {
  gates=$((gates + 1))
  local out="$work/gate.$gates.out"
  (
    [ -n "${DESCRIPTORS:-}" ] && ulimit -n "$DESCRIPTORS"
    WAITROOM_SECRET=attack-secret-attack-secret-0123456789 RUST_LOG=warn \
      exec "$GATE_BIN" --listen 127.0.0.1:0 --admit-per-minute "$RATE" "$@"
  ) >"$out" 2>"$out.err" &
  GATE_PID=$!
  started+=("$GATE_PID")
  for _ in $(seq 100); do
    GATE_URL=$(sed -n 's/^listening on //p' "$out")
    [ -n "$GATE_URL" ] && break
    sleep 0.1
  done
  [ -n "$GATE_URL" ] || { log "the gate did not start: $(cat "$out.err")"; exit 1; }
  GATE_PORT=${GATE_URL##*:}
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
live() { curl -s --max-time 5 "$GATE_URL/waitroom/health" | json_field live; }

# (e1) One address, a million fresh requests.
log "(e1) one address, $FLOOD fresh requests"
# Without proof of work: the per-address cap alone (a flood from one address is also seen as
# a flood, and asked to solve, when proof of work is on).
start_gate --proof-of-work off
sleep 0.3
idle=$(rss_kib "$GATE_PID")
t0=$(date +%s.%N)
WRK_LIMIT=$((FLOOD / 2)) WRK_DONE="$work/flooded" wrk -t2 -c64 -d300s --timeout 5s \
  -s scripts/wrk-stop-after.lua "$GATE_URL/waitroom/status" >"$work/flood.wrk" &
wrk_pid=$!
started+=("$wrk_pid")
while kill -0 "$wrk_pid" 2>/dev/null; do
  if [ "$(find "$work" -maxdepth 1 -name 'flooded.*' | wc -l)" -ge 2 ]; then
    kill -INT "$wrk_pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
wait "$wrk_pid" 2>/dev/null || true
stop "$wrk_pid"
flood_seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
flood_requests=$(awk '/requests in/ {print $1}' "$work/flood.wrk")
during=$(rss_kib "$GATE_PID")
peak=$(hwm_kib "$GATE_PID")
flood_live=$(live)
pupil=$(curl -s --max-time 5 --interface 127.0.0.2 -D "$work/pupil.headers" \
  -H 'Accept: application/json' "$GATE_URL/waitroom/status")
pupil_position=$(printf '%s' "$pupil" | json_field position)
pupil_retry=$(awk 'tolower($1) == "retry-after:" {print $2}' "$work/pupil.headers" | tr -d '\r')
sleep 10
after=$(rss_kib "$GATE_PID")
stop "$GATE_PID"

# (e2) Many addresses, each request from another IPv6 /64, through the trusted header.
log "(e2) many addresses, ${SECONDS_E2} s"
start_gate --client-address-header X-Forwarded-For --proof-of-work off
cat >"$work/many.lua" <<'EOF'
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", "/waitroom/status", {
    ["Accept"] = "application/json",
    -- Each request from another /64: 2001:<thread>:<n high>:<n low>::1.
    ["X-Forwarded-For"] = string.format("2001:%x:%x:%x::1", id, math.floor(n / 65536), n % 65536),
  })
end
EOF
# The many-address flood against the gate started last, for SECONDS_E2; prints what wrk
# measured: requests a second, p99, requests.
many_flood() {
  wrk -t2 -c64 -d"${SECONDS_E2}s" --timeout 5s --latency -s "$work/many.lua" \
    "$GATE_URL/waitroom/status" >"$work/$1.wrk"
  awk '/Requests\/sec:/ {rps = sprintf("%.0f", $2)} /^ +99%/ {p99 = $2}
       /requests in/ {requests = $1} END {print rps, p99, requests}' "$work/$1.wrk"
}
read -r many_rps many_p99 many_requests < <(many_flood many)
many_live=$(live)
many_rss=$(rss_kib "$GATE_PID")
stop "$GATE_PID"

# (e2, proof of work) The same flood against the default gate: --proof-of-work auto.
log "(e2) many addresses with proof of work, ${SECONDS_E2} s"
start_gate --client-address-header X-Forwarded-For
read -r pow_rps pow_p99 pow_requests < <(many_flood pow)
pow_live=$(live)
pow_rss=$(rss_kib "$GATE_PID")
metric() { curl -s --max-time 5 "$GATE_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
pow_challenged=$(metric 'waitroom_requests_total{outcome="challenged"}')
pow_difficulty=$(metric waitroom_pow_difficulty)
# Within the flood's minute: what a place costs a bot that solves, on one core.
bot=$($ATTACK solve --port "$GATE_PORT" --places 20)
stop "$GATE_PID"

# (e3, e4) Slow-header and idle floods under a 1 024-descriptor limit.
connection_flood() {
  local mode=$1
  DESCRIPTORS=1024 start_gate
  (ulimit -n 8192; $ATTACK hold --port "$GATE_PORT" --mode "$mode" \
    --connections "$CONNECTIONS" --seconds 25) >"$work/hold.$mode" &
  local attacker=$!
  started+=("$attacker")
  sleep 5
  $ATTACK probe --port "$GATE_PORT" --bind 127.0.0.2 --requests 300 --interval 0.05 \
    >"$work/probe.$mode"
  wait "$attacker" || true
  stop "$attacker"
  FLOOD_RSS=$(rss_kib "$GATE_PID")
  stop "$GATE_PID"
}
log "(e3) $CONNECTIONS slow-header connections, ulimit -n 1024"
connection_flood slow
slow_rss=$FLOOD_RSS
log "(e4) $CONNECTIONS idle connections, ulimit -n 1024"
connection_flood idle
idle_rss=$FLOOD_RSS

# (e5) The lycée behind one NAT.
log "(e5) 2000 joins from one address in ${SCHOOL_SECONDS} s"
start_gate
school=$($ATTACK school --port "$GATE_PORT" --bind 127.0.0.3 --joins 2000 --seconds "$SCHOOL_SECONDS")
stop "$GATE_PID"

field() { printf '%s' "$1" | json_field "$2"; }
row() { # mode, probe json, hold json, rss
  printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s | %s MiB |\n' "$1" \
    "$(field "$3" opened)" "$(field "$3" closed_by_gate)" \
    "$(field "$2" p50_ms)" "$(field "$2" p99_ms)" "$(field "$2" max_ms)" \
    "$(field "$2" failures)/$(field "$2" requests)" "$(mib "$4")"
}

cat <<EOF

### (e) Attacks

Gate: native profile, \`--admit-per-minute $RATE\` (default burst, \`--max-queue\` 1 000 000,
\`--max-per-address\` 4 000), RUST_LOG=warn.

**(e1) One address, $flood_requests fresh requests** (wrk \`-t2 -c64\` from 127.0.0.1, in $flood_seconds s):

| | |
|---|---|
| places the flood holds afterwards (\`/waitroom/health\` live) | $flood_live |
| a pupil from 127.0.0.2 right after | position $pupil_position, \`Retry-After: $pupil_retry\` |
| gate memory idle / at the end of the flood (peak) / 10 s later | $(mib "$idle") / $(mib "$during") ($(mib "$peak")) / $(mib "$after") MiB |

**(e2) Many addresses** (a distinct IPv6 /64 per request through \`--client-address-header X-Forwarded-For\`, wrk \`-t2 -c64 -d${SECONDS_E2}s\`, no proof of work):
$many_rps requests/s sustained, p99 $many_p99, $many_requests requests, $many_live places taken, gate memory $(mib "$many_rss") MiB.

**(e2) The same flood with proof of work** (\`--proof-of-work auto\`, the default): $pow_rps requests/s
sustained, p99 $pow_p99, $pow_requests requests, $pow_challenged of them answered with a challenge,
$pow_live places taken (those before the flood was seen), difficulty $pow_difficulty at the end, gate memory $(mib "$pow_rss") MiB.
A bot that does the work (\`load/attack.py solve\`, Python's hashlib on one core, 20 places while
the flood's minute lasts): $(field "$bot" median_s) s of solving per place (median; p90 $(field "$bot" p90_s) s),
$(field "$bot" hashes_per_s) hashes a second, $(field "$bot" bought) of $(field "$bot" challenged) solutions bought a place.

**(e3, e4) Connection floods**, gate under \`ulimit -n 1024\` (so \`--max-connections\` 960),
$CONNECTIONS attacking connections held for 25 s and reopened when closed; a real client from
127.0.0.2 sends 300 \`GET /waitroom/status\`, one every 50 ms, each on a new connection:

| flood | attacker connections opened | closed by the gate | client p50 | client p99 | client max | client failures | gate memory |
|---|---|---|---|---|---|---|---|
$(row "slow headers" "$(cat "$work/probe.slow")" "$(cat "$work/hold.slow")" "$slow_rss")
$(row "idle keep-alive" "$(cat "$work/probe.idle")" "$(cat "$work/hold.idle")" "$idle_rss")

**(e5) A lycée behind one NAT**: 2 000 joins from 127.0.0.3 over $(field "$school" seconds) s, each a new connection:
$(field "$school" admitted) admitted at once, $(field "$school" queued) queued, $(field "$school" refused) refused, $(field "$school" other) failed; p99 $(field "$school" p99_ms) ms.
EOF
