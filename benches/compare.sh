#!/usr/bin/env bash
# Side-by-side load bench: Debian's Prosody 0.12, Lilt and a bare WebSocket echo server
# (the machine's "physical limit"), same config, same scenarios, one run.
#
#   benches/compare.sh                 # full run (2000 sessions, 10 s per scenario),
#                                      # rewrites docs/BENCHMARKS.md and docs/benchmarks.png
#   benches/compare.sh --short         # CI: 200 sessions, 3 s, debug build, asserts no loss
#
# Options: --users N  --duration S  --targets "prosody lilt ws-echo" (also: lilt-lua, Lilt
#          with a one-line Lua plugin hooking message/bare, for the hook's cost)
#          lilt-lua3 / prosody-lua3, each server with three typical Lua plugins on
#          message/bare: a firewall-like filter, a counter and a body rewriter)
#          --scenarios "idle iq iq-paced pingpong login presence" (also: pingpong-bare,
#          pingpong to bare JIDs so message/bare runs)  --out FILE.md  --no-report
#          --paced-rate R (pings/s of iq-paced: latency at a fixed load, default 1000)
#          --repeat K (run every scenario K times; the report keeps the fastest run of each,
#          any failed run still fails)
#          --require-lilt (a Lilt that does not build or serve fails the run instead of
#          being skipped)
#          --release/--debug (build profile; --short defaults to debug)  --keep (keep temp dir)
#          --no-nagle (network_settings.nagle = false: TCP_NODELAY on the servers' sockets)
#          --modules "mam ..." (more modules_enabled on every server, e.g. archiving)
#          --roster-size N (contacts per roster group for presence/pep; default 10)
#          PEP fan-out: --users 201 --roster-size 201 --modules pep --scenarios pep
#          nonreader (hostile probe: one client never reads, 40 flood it, a bystander
#          pings; RSS base/peak/after and the bystander p99)
#          MUC (a conference.<domain> component is added): muc (a room of
#          --muc-occupants, default 500, each sending in a closed loop), muc-paced (the
#          room's total at --muc-rate messages/s, default 50), muc-join (--muc-joiners,
#          default 400, join one room at once; memory per idle occupant)
#
# It installs nothing. It needs: cargo, and for the Prosody column `prosody` (Debian package
# `prosody`, 0.12.x); the PNG needs fonts-dejavu-core. Missing pieces are reported and the
# affected column is skipped. Each server runs as our own foreground process on loopback
# ports chosen at random (never 5222/5269/5280/5281), with `ulimit -n` raised to the hard
# limit, a fresh data directory and a restart per scenario.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
USERS=2000
DURATION=10
SHORT=0
PROFILE=release
PROFILE_SET=0
TARGETS="prosody lilt ws-echo"
SCENARIOS="idle iq iq-paced pingpong login presence"
PACED_RATE=1000
REQUIRE_LILT=0
REPEAT=1
OUT="$ROOT/docs/BENCHMARKS.md"
REPORT=1
KEEP=0
NAGLE=default
LOGIN_WORKERS=50
ROSTER_SIZE=10
DOMAIN=bench.local
ROSTER_DOMAIN=roster.bench.local
PASSWORD=bench-pass
MUC_OCCUPANTS=500
MUC_JOINERS=400
MUC_RATE=50

while [ $# -gt 0 ]; do
  case "$1" in
    --short) SHORT=1; USERS=200; DURATION=3; LOGIN_WORKERS=20; PACED_RATE=200
      MUC_OCCUPANTS=50; MUC_JOINERS=40; MUC_RATE=20 ;;
    --users) USERS=$2; shift ;;
    --roster-size) ROSTER_SIZE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-report) REPORT=0 ;;
    --release) PROFILE=release; PROFILE_SET=1 ;;
    --debug) PROFILE=debug; PROFILE_SET=1 ;;
    --keep) KEEP=1 ;;
    --no-nagle) NAGLE=off ;;
    --modules) EXTRA_MODULES=$2; shift ;;
    --paced-rate) PACED_RATE=$2; shift ;;
    --require-lilt) REQUIRE_LILT=1 ;;
    --repeat) REPEAT=$2; shift ;;
    --muc-occupants) MUC_OCCUPANTS=$2; shift ;;
    --muc-joiners) MUC_JOINERS=$2; shift ;;
    --muc-rate) MUC_RATE=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$SHORT" = 1 ] && [ "$PROFILE_SET" = 0 ]; then PROFILE=debug; fi
NAGLE_LINE=""
if [ "$NAGLE" = off ]; then NAGLE_LINE=$'\n    nagle = false,'; fi
if [ "$SHORT" = 1 ] && [ "$OUT" = "$ROOT/docs/BENCHMARKS.md" ]; then REPORT=0; fi

log() { echo "== $*" >&2; }

# ---- prerequisites ---------------------------------------------------------------------
command -v cargo >/dev/null || { echo "compare.sh: cargo is missing" >&2; exit 1; }
PROSODY_BIN=$(command -v prosody || true)
if [ -z "$PROSODY_BIN" ] && [[ " $TARGETS " == *" prosody "* ]]; then
  log "prosody is not installed (apt-get install prosody): skipping the Prosody column"
  TARGETS=${TARGETS//prosody/}
fi
PLOT_FEATURE=()
PLOT_ARGS=()
if [ "$REPORT" = 1 ]; then
  if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    PLOT_FEATURE=(--features bench-plot)
    PLOT_ARGS=(--plot "$(dirname "$OUT")/benchmarks.png")
  else
    log "fonts-dejavu-core is missing: the report will have no PNG plot"
  fi
fi

# The soft file limit is raised for everything started below (Prosody stalls near 1 000
# connections with the default 1 024).
ulimit -n "$(ulimit -Hn)"
log "open files limit: $(ulimit -n)"

# A system Prosody would hold the data dir and maybe the ports; ours is separate.
if command -v service >/dev/null && [ -n "$PROSODY_BIN" ]; then
  service prosody stop >/dev/null 2>&1 || true
fi

# ---- build ------------------------------------------------------------------------------
PROFILE_FLAG=()
[ "$PROFILE" = release ] && PROFILE_FLAG=(--release)
log "building lilt-bench and ws-echo ($PROFILE)"
(cd "$ROOT" && cargo build -q "${PROFILE_FLAG[@]}" --bin lilt-bench --bin ws-echo "${PLOT_FEATURE[@]}")
BIN="$ROOT/target/$PROFILE"
BENCH="$BIN/lilt-bench"
LILT_READY=0
if [[ " $TARGETS " == *" lilt"* ]]; then
  log "building lilt ($PROFILE)"
  if (cd "$ROOT" && cargo build -q "${PROFILE_FLAG[@]}" --bin lilt); then LILT_READY=1; else
    log "lilt does not build: skipping the Lilt column"; fi
fi

WORK=$(mktemp -d /tmp/lilt-bench.XXXXXX)
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    port_busy "$p" || { echo "$p"; return; }
  done
}
wait_port() { # port pid seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_busy "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ---- configuration in the guide's layout ------------------------------------------------
# prosody.cfg.lua includes stack/*/ and domains/*/ files. Prosody 0.12 expands wildcards only
# in the last path component, so the list of includes is written out flat.
write_config() { # dir http_port c2s_port s2s_port [lua]
  local dir=$1 lua=${5:-}
  mkdir -p "$dir/stack/01-transport" "$dir/stack/05-auth" "$dir/stack/07-interfaces" \
    "$dir/stack/09-modules" "$dir/domains/bench" "$dir/domains/roster"
  cat > "$dir/prosody.cfg.lua" <<CFG
-- Generated by benches/compare.sh: the websocket guide's layout on loopback ports.
pidfile = "$dir/server.pid"
data_path = "$dir/data"
-- Started by the bench as its own foreground process (root in CI containers).
run_as_root = true
log = { { levels = { min = "warn" }, to = "file", filename = "$dir/server.log" } }

Include "stack/01-transport/connections.cfg.lua"
Include "stack/05-auth/auth.cfg.lua"
Include "stack/07-interfaces/http.cfg.lua"
Include "stack/07-interfaces/websocket.cfg.lua"
Include "stack/09-modules/modules.cfg.lua"
Include "domains/bench/domain.cfg.lua"
Include "domains/roster/domain.cfg.lua"
CFG
  cat > "$dir/stack/01-transport/connections.cfg.lua" <<CFG
interfaces = { "127.0.0.1" }
c2s_ports = { $3 }
s2s_ports = { $4 }
network_settings = {
    read_timeout = 840,$NAGLE_LINE
}
CFG
  cat > "$dir/stack/05-auth/auth.cfg.lua" <<CFG
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
CFG
  cat > "$dir/stack/07-interfaces/http.cfg.lua" <<CFG
http_ports = { $2 }
http_interfaces = { "127.0.0.1" }
https_ports = { }
trusted_proxies = { "127.0.0.1", "::1" }
CFG
  cat > "$dir/stack/07-interfaces/websocket.cfg.lua" <<CFG
http_paths = {
    websocket = "/xmpp-websocket",
}
consider_websocket_secure = true
CFG
  local extra_module="" plugin_line="" m
  for m in ${EXTRA_MODULES:-}; do extra_module+=" \"$m\","; done
  if [ "$lua" = lua ]; then
    extra_module+=' "bench_hook",'
    plugin_line=$'\nplugin_paths = { "'"$dir/plugins"'" }'
    # lilt-lua: one Lua hook on message/bare that counts and lets the event go on, the
    # cheapest plugin an operator could add; it shows what crossing into Lua costs.
    mkdir -p "$dir/plugins"
    cat > "$dir/plugins/mod_bench_hook.lua" <<'LUA'
local count = 0
module:hook("message/bare", function(event)
    count = count + 1
    if count == 1 then module:log("warn", "bench_hook: message/bare reached Lua") end
end)
LUA
  fi
  if [ "$lua" = lua3 ]; then
    extra_module+=' "bench_firewall", "bench_counter", "bench_rewrite",'
    plugin_line=$'\nplugin_paths = { "'"$dir/plugins"'" }'
    mkdir -p "$dir/plugins"
    # Three plugins an operator typically runs on messages: a firewall-like filter (drops
    # bodies with a banned word, lets the rest go on), a per-sender counter, and a body
    # rewriter that edits the stanza. Each lets the event continue to delivery.
    cat > "$dir/plugins/mod_bench_firewall.lua" <<'LUA'
local banned = { "viagra", "casino", "lottery" }
module:hook("message/bare", function(event)
    local body = event.stanza:get_child_text("body")
    if not body then return end
    local lower = body:lower()
    for _, word in ipairs(banned) do
        if lower:find(word, 1, true) then return true end
    end
end, 10)
LUA
    cat > "$dir/plugins/mod_bench_counter.lua" <<'LUA'
local jid_bare = require "util.jid".bare
local counts = {}
module:hook("message/bare", function(event)
    local from = jid_bare(event.stanza.attr.from or "")
    counts[from] = (counts[from] or 0) + 1
end, 5)
LUA
    cat > "$dir/plugins/mod_bench_rewrite.lua" <<'LUA'
module:hook("message/bare", function(event)
    local body = event.stanza:get_child("body")
    if body and body[1] then
        local text = body[1]:gsub(":%)", "🙂")
        if text ~= body[1] then body[1] = text end
    end
end, 1)
LUA
  fi
  cat > "$dir/stack/09-modules/modules.cfg.lua" <<CFG
-- No mod_limits: the bench measures the servers, not their rate limiter.
modules_enabled = {
    "websocket", "bosh", "http", "saslauth", "ping", "disco", "roster", "presence",$extra_module
}$plugin_line
modules_disabled = { "s2s", "s2s_auth_certs" }
CFG
  echo "VirtualHost \"$DOMAIN\"" > "$dir/domains/bench/domain.cfg.lua"
  if [ "${WITH_MUC:-0}" = 1 ]; then
    # The MUC scenarios' room service: rooms open at once (no configuration step).
    mkdir -p "$dir/domains/muc"
    printf 'Include "domains/muc/domain.cfg.lua"\n' >> "$dir/prosody.cfg.lua"
    cat > "$dir/domains/muc/domain.cfg.lua" <<CFG
Component "conference.$DOMAIN" "muc"
    muc_room_locking = false
CFG
  fi
  echo "VirtualHost \"$ROSTER_DOMAIN\"" > "$dir/domains/roster/domain.cfg.lua"
}

log "writing $USERS accounts (plus rosters of $ROSTER_SIZE on $ROSTER_DOMAIN)"
"$BENCH" accounts --count "$USERS" --domain "$DOMAIN" --password "$PASSWORD" --data "$WORK/seed-data"
"$BENCH" accounts --count "$USERS" --domain "$ROSTER_DOMAIN" --password "$PASSWORD" \
  --data "$WORK/seed-data" --roster-size "$ROSTER_SIZE"

FAILED=()
SKIPPED=()
# The machine may be shared: the load before the run says how quiet it was.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

start_server() { # target dir -> sets SERVER_PID, HTTP_PORT
  local target=$1 dir=$2
  HTTP_PORT=$(free_port)
  rm -rf "$dir"
  case "$target" in
    ws-echo)
      mkdir -p "$dir"
      "$BIN/ws-echo" --listen "127.0.0.1:$HTTP_PORT" > "$dir/server.log" 2>&1 &
      SERVER_PID=$! ;;
    prosody|prosody-lua3|lilt|lilt-lua|lilt-lua3)
      local lua=""
      case "$target" in lilt-lua) lua=lua ;; *-lua3) lua=lua3 ;; esac
      write_config "$dir" "$HTTP_PORT" "$(free_port)" "$(free_port)" "$lua"
      cp -a "$WORK/seed-data" "$dir/data"
      if [[ "$target" == prosody* ]]; then
        "$PROSODY_BIN" --config "$dir/prosody.cfg.lua" -F > "$dir/stdout.log" 2>&1 &
      else
        "$BIN/lilt" --config "$dir/prosody.cfg.lua" > "$dir/stdout.log" 2>&1 &
      fi
      SERVER_PID=$! ;;
  esac
  if ! wait_port "$HTTP_PORT" "$SERVER_PID" 20; then
    log "$target did not start listening on $HTTP_PORT; its output:"
    tail -n 20 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
    stop_server
    return 1
  fi
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

run_one() { # target scenario
  local target=$1 scenario=$2 dir="$WORK/$1-$2" domain=$DOMAIN users=$USERS
  local extra=()
  case "$scenario" in
    login) extra=(--concurrency "$LOGIN_WORKERS") ;;
    iq-paced) scenario=iq; extra=(--rate "$PACED_RATE") ;;
    presence) domain=$ROSTER_DOMAIN; extra=(--roster-size "$ROSTER_SIZE") ;;
    # PEP fan-out: one roster group of everyone (run with --roster-size >= --users and
    # --modules pep).
    pep) domain=$ROSTER_DOMAIN; extra=(--roster-size "$ROSTER_SIZE") ;;
    # The hostile probe: a non-reading receiver, a bystander and 40 senders.
    nonreader) users=$(( USERS < 42 ? USERS : 42 )) ;;
    # MUC: one room of --muc-occupants; muc-paced at --muc-rate room messages/s.
    muc) users=$MUC_OCCUPANTS ;;
    muc-paced) scenario=muc; users=$MUC_OCCUPANTS; extra=(--rate "$MUC_RATE") ;;
    muc-join) users=$MUC_JOINERS ;;
  esac
  WITH_MUC=0
  [[ "$scenario" == muc* ]] && WITH_MUC=1
  if [ "$target" = ws-echo ]; then
    # The bare echo server has one scenario: frames bounced like pingpong messages.
    [ "$scenario" = pingpong ] || return 0
    scenario=echo
  fi
  if ! start_server "$target" "$dir"; then
    if [[ "$target" == lilt* ]]; then
      # One refusal is enough: the remaining Lilt scenarios are skipped too.
      LILT_READY=0
      SKIPPED+=("lilt (builds, but does not serve on its HTTP port yet)")
    else
      FAILED+=("$target:$scenario (no start)")
    fi
    return 0
  fi
  log "$target: $scenario ($users sessions, ${DURATION}s)"
  if ! "$BENCH" --url "ws://127.0.0.1:$HTTP_PORT/xmpp-websocket" --domain "$domain" \
      --users "$users" --password "$PASSWORD" --scenario "$scenario" --duration "$DURATION" \
      --pid "$SERVER_PID" --label "$target" --json "${extra[@]}" >> "$RESULTS"; then
    FAILED+=("$target:$scenario")
    tail -n 5 "$dir/server.log" >&2 2>/dev/null || true
  fi
  stop_server
}

for target in $TARGETS; do
  if [[ "$target" == lilt* ]] && [ "$LILT_READY" = 0 ]; then SKIPPED+=("$target (not built)"); continue; fi
  for scenario in $SCENARIOS; do
    for ((rep = 1; rep <= REPEAT; rep++)); do
      if [[ "$target" == lilt* ]] && [ "$LILT_READY" = 0 ]; then break 2; fi
      run_one "$target" "$scenario"
    done
  done
done

if [ "$REPORT" = 1 ]; then
  CMD="benches/compare.sh --users $USERS --duration $DURATION --repeat $REPEAT"
  [ "$NAGLE" = off ] && CMD="$CMD --no-nagle"
  CMD="$CMD --targets \"$TARGETS\" --scenarios \"$SCENARIOS\""
  BEST=""
  [ "$REPEAT" -gt 1 ] && BEST="; each row is the fastest of $REPEAT runs"
  PROSODY_VERSION=$(dpkg-query -W -f='${Version}' prosody 2>/dev/null || echo unknown)
  NOTE="Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB \
(load average before the run: $LOAD_BEFORE); \
Prosody $PROSODY_VERSION (Debian), Lilt $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); \
command: \`$CMD\`$BEST."
  if [ ${#SKIPPED[@]} -gt 0 ]; then NOTE="$NOTE Skipped: ${SKIPPED[*]}."; fi
  "$BENCH" report --results "$RESULTS" --out "$OUT" "${PLOT_ARGS[@]}" --note "$NOTE"
  cp "$RESULTS" "$(dirname "$OUT")/benchmarks.jsonl"
  log "wrote $OUT"
fi

[ ${#SKIPPED[@]} -eq 0 ] || log "skipped: ${SKIPPED[*]}"
if [ "$REQUIRE_LILT" = 1 ] && [ "$LILT_READY" = 0 ]; then FAILED+=("lilt (required, not serving)"); fi
if [ ${#FAILED[@]} -gt 0 ]; then
  log "FAILED: ${FAILED[*]}"
  exit 1
fi
log "all scenarios completed without loss"
