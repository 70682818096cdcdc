#!/usr/bin/env bash
# A real multi-host test on one Linux machine: network namespaces joined by veth pairs and a bridge, 20 ms +- 5 ms
# delay and 0.1% loss on every link, a distributed 200K-message write, and three faults (a worker killed at 50%, a
# server node stopped mid-run, the coordinator cut off for 3 s). See docs/multihost-test.md.
#
#   sudo scripts/netns-multihost-test.sh [--binary PATH] [--target N] [--timeout SECONDS] [--keep-logs] [--network-only]
#                                        [--impairment auto|netem|nfqueue|none] [--require-impairment]
#   (--network-only: build the network, check every namespace reaches every other, tear it down;
#    --impairment: how to add the delay and loss: auto (default) uses tc netem where the kernel has sch_netem, else
#      iptables (statistic match, random 0.1% DROP) plus scripts/nfqueue-delay.c (a userspace NFQUEUE delayer, built
#      with cc), else runs on a clean network with a SKIP line;
#    --require-impairment (or --require-netem): fail instead of skipping when no delay/loss can be added)
#
# Exit: 0 every check passed, 1 a check failed, 77 cannot run here (not root, no iproute2, no binary/commands).
# Everything it creates is named stp-* and lives in 10.77.0.0/24 inside its own namespaces (the iptables rules too:
# none is added to the root namespace); a trap removes it all, and stops the delayer, on any exit, including
# failures and Ctrl-C.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=""
TARGET=200000
TOTAL_TIMEOUT=900
KEEP_LOGS=0
NETWORK_ONLY=0
REQUIRE_IMPAIRMENT=0
IMPAIRMENT_MODE=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BIN=$2; shift ;;
        --target) TARGET=$2; shift ;;
        --timeout) TOTAL_TIMEOUT=$2; shift ;;
        --keep-logs) KEEP_LOGS=1 ;;
        --network-only) NETWORK_ONLY=1 ;;
        --require-netem|--require-impairment) REQUIRE_IMPAIRMENT=1 ;;
        --impairment) IMPAIRMENT_MODE=$2; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
case "$IMPAIRMENT_MODE" in auto|netem|nfqueue|none) ;; *) echo "--impairment must be auto, netem, nfqueue or none" >&2; exit 2 ;; esac
if [ -z "$BIN" ]; then
    for candidate in "${STAMPEDE_BIN:-}" "$ROOT/.build/release/stampede" "$ROOT/.build/debug/stampede"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then BIN=$candidate; break; fi
    done
fi

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces); run with sudo"
command -v ip >/dev/null && command -v tc >/dev/null || skip "needs iproute2 (ip, tc): apt-get install -y iproute2"
command -v curl >/dev/null || skip "needs curl"
command -v python3 >/dev/null || skip "needs python3"
if [ "$NETWORK_ONLY" = 0 ]; then
[ -n "$BIN" ] && [ -x "$BIN" ] || skip "no stampede binary: build it (swift build -c release --product stampede) or pass --binary"
for sub in server coordinator worker verify; do
    "$BIN" "$sub" --help 2>/dev/null | grep "USAGE: stampede $sub" >/dev/null || skip "$BIN has no '$sub' subcommand yet"
done
fi

PREFIX=stp
NET=10.77.0
BRIDGE=${PREFIX}-br0
SERVER_IP=$NET.10          # the server namespace's own address: the admin endpoint listens here
# The three server nodes, each on its own address and the standard port, as on three machines. They are still one
# process in one namespace: the embedded cluster's nodes share one in-process store (replication is not simulated).
NODE_IPS=("$NET.11" "$NET.12" "$NET.13")
COORD_IP=$NET.20
TOKEN=netns-test-$(date +%s)-$$
NAMESPACES=(srv coord w1 w2 w3 w4)
declare -A IPS=([srv]=$NET.10 [coord]=$NET.20 [w1]=$NET.31 [w2]=$NET.32 [w3]=$NET.33 [w4]=$NET.34)
WORK=$(mktemp -d /tmp/stampede-netns.XXXXXX)
PIDS=()
PASSED=0
FAILED=0
IMPAIRMENT=none            # what is in effect: netem, nfqueue (iptables + nfqueue-delay) or none
IPT=""                     # the iptables command that works here (iptables or iptables-legacy)
DELAYER_PID=""
DELAY_MS=20 JITTER_MS=5 LOSS_PERCENT=0.1 LOSS_PROBABILITY=0.001

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
log() { echo "[$(date +%T)] $*"; }
in_ns() { local ns=$1; shift; ip netns exec "${PREFIX}-$ns" "$@"; }

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [ -n "${WATCHDOG:-}" ] && kill "$WATCHDOG" 2>/dev/null
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    # The iptables rules live inside the namespaces (deleting a namespace deletes them); flush them first anyway, so
    # nothing queues to the delayer while it stops.
    if [ -n "$IPT" ]; then
        for ns in "${NAMESPACES[@]}"; do ip netns exec "${PREFIX}-$ns" "$IPT" -w -F INPUT 2>/dev/null; done
    fi
    sleep 1
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for ns in "${NAMESPACES[@]}"; do
        # Anything still running inside a namespace (children of the processes above) goes with it.
        for pid in $(ip netns pids "${PREFIX}-$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip link del "${PREFIX}-$ns-h" 2>/dev/null
        ip netns del "${PREFIX}-$ns" 2>/dev/null
    done
    ip link del "$BRIDGE" 2>/dev/null
    if [ "$FAILED" -gt 0 ] || [ "$KEEP_LOGS" = 1 ]; then
        echo "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    echo "netns multi-host test: $PASSED passed, $FAILED failed"
    if [ "$FAILED" -gt 0 ]; then exit 1; fi
    exit "$status"
}
trap cleanup EXIT
trap 'echo "interrupted"; FAILED=$((FAILED + 1)); exit 130' INT TERM
# The whole test is bounded: the watchdog interrupts it (and the trap cleans up) after --timeout seconds.
# (Its sleep is killed with it, so no orphan keeps this script's output pipe open.)
( trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$TOTAL_TIMEOUT" & sleeper=$!
  wait "$sleeper" && { echo "FAIL: the whole test exceeded ${TOTAL_TIMEOUT}s"; kill -TERM $$; } ) &
WATCHDOG=$!

# Leftovers of an earlier run that was killed with SIGKILL.
for ns in "${NAMESPACES[@]}"; do ip netns del "${PREFIX}-$ns" 2>/dev/null; ip link del "${PREFIX}-$ns-h" 2>/dev/null; done
ip link del "$BRIDGE" 2>/dev/null

# --- The network ------------------------------------------------------------------------------------------------
log "creating namespaces ${NAMESPACES[*]} on $NET.0/24 (bridge $BRIDGE)"
ip link add "$BRIDGE" type bridge && ip link set "$BRIDGE" up || { fail "cannot create bridge $BRIDGE"; exit 1; }
for ns in "${NAMESPACES[@]}"; do
    name=${PREFIX}-$ns
    ip netns add "$name" || { fail "cannot create namespace $name"; exit 1; }
    ip link add "$name-h" type veth peer name "$name-n" || { fail "cannot create veth $name-h"; exit 1; }
    ip link set "$name-n" netns "$name"
    ip link set "$name-h" master "$BRIDGE" up
    in_ns "$ns" ip link set lo up
    in_ns "$ns" ip addr add "${IPS[$ns]}/24" dev "$name-n"
    in_ns "$ns" ip link set "$name-n" up
done
for ip in "${NODE_IPS[@]}"; do in_ns srv ip addr add "$ip/24" dev "${PREFIX}-srv-n"; done
pass "6 namespaces with their own addresses on a bridge (server nodes on ${NODE_IPS[*]})"

# --- Delay and loss ---------------------------------------------------------------------------------------------
# Every packet between two namespaces is delayed 20 ms +- 5 ms once and dropped with probability 0.1% once, so a
# round trip takes about 40 ms. First choice: tc netem on each namespace's link (egress). Kernels without sch_netem
# get the same from netfilter inside each namespace, on the link's ingress: an iptables rule drops 0.1% of the
# incoming packets at random (statistic match), the next hands the rest to NFQUEUE, where nfqueue-delay (one process
# for all namespaces) holds each packet for its delay. --queue-bypass lets packets through if the delayer dies.
impairment_unavailable() {  # why: no delay/loss can be added
    if [ "$REQUIRE_IMPAIRMENT" = 1 ]; then
        fail "no delay/loss emulation: $* (--require-impairment was given)"
    else
        echo "SKIP: delay/loss emulation: $*; the faults below run on a clean network"
    fi
}
try_netem() {
    local ns
    for ns in "${NAMESPACES[@]}"; do
        if ! in_ns "$ns" tc qdisc add dev "${PREFIX}-$ns-n" root netem delay "${DELAY_MS}ms" "${JITTER_MS}ms" \
            loss "${LOSS_PERCENT}%" 2>"$WORK/netem.err"; then
            local other
            for other in "${NAMESPACES[@]}"; do in_ns "$other" tc qdisc del dev "${PREFIX}-$other-n" root 2>/dev/null; done
            NETEM_ERROR=$(head -1 "$WORK/netem.err" | sed "s/\.$//")
            return 1
        fi
    done
}
try_nfqueue() {  # sets NFQUEUE_ERROR when it cannot
    local candidate ns
    NFQUEUE_ERROR=""
    for candidate in iptables iptables-legacy iptables-nft; do
        command -v "$candidate" >/dev/null || continue
        if in_ns srv "$candidate" -w -A INPUT -i "${PREFIX}-srv-n" -m statistic --mode random --probability 0 -j DROP 2>/dev/null \
            && in_ns srv "$candidate" -w -F INPUT 2>/dev/null; then
            IPT=$candidate
            break
        fi
    done
    [ -n "$IPT" ] || { NFQUEUE_ERROR="no working iptables with the statistic match (apt-get install -y iptables)"; return 1; }
    command -v cc >/dev/null || { NFQUEUE_ERROR="no C compiler (cc) to build scripts/nfqueue-delay.c"; return 1; }
    cc -O2 -o "$WORK/nfqueue-delay" "$ROOT/scripts/nfqueue-delay.c" 2>"$WORK/nfqueue-delay.build.log" \
        || { NFQUEUE_ERROR="scripts/nfqueue-delay.c does not build: $(head -3 "$WORK/nfqueue-delay.build.log")"; return 1; }
    local paths=()
    for ns in "${NAMESPACES[@]}"; do paths+=("/run/netns/${PREFIX}-$ns"); done
    "$WORK/nfqueue-delay" --delay-ms "$DELAY_MS" --jitter-ms "$JITTER_MS" "${paths[@]}" >"$WORK/nfqueue-delay.log" 2>&1 &
    DELAYER_PID=$!
    PIDS+=("$DELAYER_PID")
    local waited=0
    until grep -q "nfqueue-delay: ready" "$WORK/nfqueue-delay.log" 2>/dev/null; do
        if ! kill -0 "$DELAYER_PID" 2>/dev/null || [ "$waited" -ge 50 ]; then
            NFQUEUE_ERROR="the NFQUEUE delayer did not start: $(head -2 "$WORK/nfqueue-delay.log")"
            kill -KILL "$DELAYER_PID" 2>/dev/null
            DELAYER_PID=""
            return 1
        fi
        sleep 0.1; waited=$((waited + 1))
    done
    for ns in "${NAMESPACES[@]}"; do
        in_ns "$ns" "$IPT" -w -A INPUT -i "${PREFIX}-$ns-n" -m statistic --mode random --probability "$LOSS_PROBABILITY" -j DROP \
            && in_ns "$ns" "$IPT" -w -A INPUT -i "${PREFIX}-$ns-n" -j NFQUEUE --queue-num 0 --queue-bypass \
            || { NFQUEUE_ERROR="could not add the iptables rules in ${PREFIX}-$ns (no xt_statistic or NFQUEUE target?)"; break; }
    done
    if [ -n "${NFQUEUE_ERROR:-}" ]; then  # undo a half-built setup: no rules, no delayer
        for ns in "${NAMESPACES[@]}"; do in_ns "$ns" "$IPT" -w -F INPUT 2>/dev/null; done
        kill -TERM "$DELAYER_PID" 2>/dev/null
        DELAYER_PID=""
        return 1
    fi
}
# Round-trip time between two namespaces, in whole milliseconds (median of 10): ping -U (user-to-user time: the
# kernel's receive timestamp would hide a delay applied on ingress), else the time of TCP connects.
round_trip_ms() {  # round_trip_ms FROM_NS TO_IP
    if command -v ping >/dev/null; then
        in_ns "$1" ping -U -n -c 10 -i 0.2 -W 2 "$2" 2>/dev/null \
            | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%d\n", v[int((NR + 1) / 2)] }'
    else
        in_ns "$1" python3 -c 'import socket, sys, time
times = []
for _ in range(10):
    start = time.monotonic()
    try:
        socket.create_connection((sys.argv[1], 7777), timeout=2).close()
    except OSError:
        try: socket.create_connection((sys.argv[1], 9), timeout=2)
        except ConnectionRefusedError: pass   # a refused connect is a round trip too
        except OSError: continue
    times.append((time.monotonic() - start) * 1000)
times.sort()
print(int(times[len(times) // 2]) if times else "")' "$2" 2>/dev/null
    fi
}
case "$IMPAIRMENT_MODE" in
    auto|netem)
        if try_netem; then
            IMPAIRMENT=netem
        elif [ "$IMPAIRMENT_MODE" = netem ]; then
            impairment_unavailable "tc netem: $NETEM_ERROR"
        else
            echo "netem is not available here ($NETEM_ERROR: this kernel has no sch_netem); trying iptables + NFQUEUE"
            if try_nfqueue; then IMPAIRMENT=nfqueue; else impairment_unavailable "no sch_netem, and $NFQUEUE_ERROR"; fi
        fi ;;
    nfqueue)
        if try_nfqueue; then IMPAIRMENT=nfqueue; else impairment_unavailable "$NFQUEUE_ERROR"; fi ;;
    none)
        echo "SKIP: delay/loss emulation (--impairment none)" ;;
esac
# Every namespace reaches every other one over the bridge (a TCP listener in each, a connection from each).
reach_ok=1
for ns in "${NAMESPACES[@]}"; do
    in_ns "$ns" timeout 20 python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 7777)); s.listen(16); s.settimeout(15)
try:
    while True: s.accept()[0].close()
except OSError: pass' "${IPS[$ns]}" >/dev/null 2>&1 &
    PIDS+=($!)
done
sleep 0.5
for from in "${NAMESPACES[@]}"; do
    for to in "${NAMESPACES[@]}"; do
        [ "$from" = "$to" ] && continue
        ok=0
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            if in_ns "$from" timeout 5 bash -c "exec 3<>/dev/tcp/${IPS[$to]}/7777" 2>/dev/null; then ok=1; break; fi
            sleep 0.3
        done
        [ "$ok" = 1 ] || { reach_ok=0; echo "  $from cannot reach $to (${IPS[$to]})"; }
    done
done
[ "$reach_ok" = 1 ] && pass "every namespace reaches every other over TCP" || fail "namespaces cannot reach each other"
if [ "$IMPAIRMENT" != none ]; then
    log "impairment: $IMPAIRMENT, ${DELAY_MS} ms +- ${JITTER_MS} ms one way and ${LOSS_PERCENT}% loss on every link"
    rtt=$(round_trip_ms w1 "$SERVER_IP")
    # Each direction is delayed at least DELAY_MS - JITTER_MS, so a round trip cannot be shorter than twice that.
    if [ -n "$rtt" ] && [ "$rtt" -ge $(( 2 * (DELAY_MS - JITTER_MS) )) ]; then
        pass "delay in effect ($IMPAIRMENT): round trip w1 -> srv ${rtt} ms (median of 10; expected about $((2 * DELAY_MS)) ms, at least $(( 2 * (DELAY_MS - JITTER_MS) )) ms)"
    else
        fail "delay not in effect: round trip w1 -> srv ${rtt:-unmeasurable} ms, expected at least $(( 2 * (DELAY_MS - JITTER_MS) )) ms"
    fi
fi
if [ "$NETWORK_ONLY" = 1 ]; then
    rtt=$(in_ns w1 python3 -c 'import socket,time,sys
t=time.time(); socket.create_connection((sys.argv[1], 7777), timeout=5).close(); print(int((time.time()-t)*1000))' "$SERVER_IP" 2>/dev/null)
    log "TCP connect w1 -> srv took ${rtt:-?} ms (about 2 x ${DELAY_MS} ms expected with delay emulation)"
    exit 0
fi

# --- The processes ----------------------------------------------------------------------------------------------
start() {  # start NAME NS COMMAND...: runs in the background in a namespace, logs to $WORK/NAME.log
    local name=$1 ns=$2; shift 2
    mkdir -p "$WORK/$name"
    (cd "$WORK/$name" && exec ip netns exec "${PREFIX}-$ns" env STAMPEDE_TOKEN="$TOKEN" "$@") > "$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$name=$!"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + seconds ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    fail "$what (not within ${seconds}s)"
    return 1
}
admin() { in_ns srv curl -sf -m 5 -X "$1" "http://$SERVER_IP:8088$2"; }
# Messages counted toward the target so far: the coordinator's progress line ("[running] 12345/200000 · ..."), or its
# dashboard API when it has one (any key named completed/total_messages).
progress() {
    local line
    line=$(grep -o '^\[[a-z]*\] [0-9]*' "$WORK/coordinator.log" 2>/dev/null | tail -1 | awk '{print $2}')
    if [ -n "$line" ]; then echo "$line"; return; fi
    in_ns srv curl -sf -m 2 -H "Authorization: Bearer $TOKEN" "http://$COORD_IP:8089/api/run?token=$TOKEN" | python3 -c '
import json, sys
def find(value):
    if isinstance(value, dict):
        for key in ("completed", "total_messages", "completedMessages"):
            if isinstance(value.get(key), (int, float)): return int(value[key])
        for item in value.values():
            found = find(item)
            if found is not None: return found
    return None
print(find(json.load(sys.stdin)) or 0)' 2>/dev/null || echo 0
}
wait_progress() {  # wait_progress FRACTION_PERCENT SECONDS: true once progress >= TARGET*FRACTION/100
    local want=$(( TARGET * $1 / 100 )) deadline=$(( $(date +%s) + $2 )) now
    while [ "$(date +%s)" -lt "$deadline" ]; do
        now=$(progress)
        if [ "${now:-0}" -ge "$want" ]; then echo "$now"; return 0; fi
        if ! kill -0 "$PID_coordinator" 2>/dev/null; then echo "${now:-0}"; return 1; fi
        sleep 0.5
    done
    echo "$(progress)"
    return 1
}

# One process, three nodes, each listening on (and advertising in system.local/system.peers) its own address.
log "starting the embedded server: 3 nodes on ${NODE_IPS[*]} (port 9042 each), admin on $SERVER_IP:8088"
node_list=$(IFS=,; echo "${NODE_IPS[*]}")
start server srv "$BIN" server --host "$SERVER_IP" --node-addresses "$node_list" --port 9042 --admin-port 8088 --mode memory
wait_for 60 "server ready" grep -q "CQL server ready" "$WORK/server.log" \
    && pass "server ready: $(grep '^node' "$WORK/server.log" | sed 's/^node [0-9]*: //' | paste -sd ' ')"

CONTACTS="${NODE_IPS[0]}:9042,${NODE_IPS[1]}:9042,${NODE_IPS[2]}:9042"
if "$BIN" schema --help >/dev/null 2>&1; then
    in_ns srv timeout 60 "$BIN" schema apply --contact-points "$CONTACTS" > "$WORK/schema.log" 2>&1 \
        && pass "schema applied" || fail "schema apply: $(tail -3 "$WORK/schema.log")"
fi

RUN_START=$(date +%s)
log "starting the coordinator on $COORD_IP:5557 (target $TARGET) and 4 workers"
WEB=()
"$BIN" coordinator --help 2>/dev/null | grep -- "--web-port" >/dev/null && WEB=(--web-port 8089)
LINEBUF=()
command -v stdbuf >/dev/null && LINEBUF=(stdbuf -oL)   # progress lines reach the log at once
start coordinator coord "${LINEBUF[@]}" "$BIN" coordinator --bind "$COORD_IP:5557" "${WEB[@]}" --expect-workers 4 \
    --target "$TARGET" --workload chat-write --contact-points "$CONTACTS"
for i in 1 2 3 4; do
    start "w$i" "w$i" "$BIN" worker --coordinator "$COORD_IP:5557" --id "w$i"
done

if done_at=$(wait_progress 1 120); then pass "run started with 4 workers ($done_at written)"; else fail "run did not start: $(tail -3 "$WORK/coordinator.log")"; fi
# The workers' driver found the three nodes through system.peers and connects to each at its own address.
if command -v ss >/dev/null; then
    served=$(in_ns srv ss -Htn state established '( sport = :9042 )' 2>/dev/null | awk '{ split($3, a, ":"); print a[1] }' | sort -u | paste -sd ' ')
    [ "$(echo "$served" | wc -w)" = 3 ] && pass "clients connected to every node address: $served" \
        || fail "clients are connected to only these node addresses: ${served:-none}"
fi

# Fault 1: SIGKILL a worker at 50%.
if at=$(wait_progress 50 300); then
    kill -KILL "$PID_w4" 2>/dev/null
    for pid in $(ip netns pids "${PREFIX}-w4"); do kill -KILL "$pid" 2>/dev/null; done
    pass "worker w4 killed (SIGKILL) at $at/$TARGET"
else
    fail "never reached 50% before the run ended or timed out ($at/$TARGET)"
fi

# Fault 2: stop one server node mid-run, start it again 3 s later.
if at=$(wait_progress 60 300) && [ "$at" -lt "$TARGET" ]; then
    if admin POST /nodes/1/stop >/dev/null; then
        pass "server node 2 (${NODE_IPS[1]}) stopped at $at/$TARGET"
        sleep 3
        admin POST /nodes/1/start >/dev/null && pass "server node 2 started again" || fail "could not restart node 2"
    else
        fail "could not stop node 2 through the admin endpoint"
    fi
else
    fail "the run finished before a node could be stopped ($at/$TARGET); use a larger --target"
fi

# Fault 3: cut the coordinator off the network for 3 s.
if at=$(wait_progress 70 300) && [ "$at" -lt "$TARGET" ]; then
    ip link set "${PREFIX}-coord-h" down
    log "coordinator cut off at $at/$TARGET"
    sleep 3
    ip link set "${PREFIX}-coord-h" up
    pass "coordinator cut off for 3 s at $at/$TARGET and reconnected to the bridge"
else
    fail "the run finished before the coordinator could be cut off ($at/$TARGET); use a larger --target"
fi

# --- The outcome ------------------------------------------------------------------------------------------------
log "waiting for the coordinator to finish"
deadline=$(( $(date +%s) + 300 ))
while kill -0 "$PID_coordinator" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
if kill -0 "$PID_coordinator" 2>/dev/null; then
    fail "coordinator still running 300 s after the last fault: $(tail -3 "$WORK/coordinator.log")"
else
    wait "$PID_coordinator"; status=$?
    [ "$status" = 0 ] && pass "coordinator finished (exit 0) after $(( $(date +%s) - RUN_START )) s (impairment: $IMPAIRMENT)" || fail "coordinator exited $status: $(tail -5 "$WORK/coordinator.log")"
fi

RESULTS="$WORK/coordinator/distributed_results.json"
if [ -f "$RESULTS" ]; then
    total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_messages"])' "$RESULTS" 2>/dev/null)
    [ "$total" = "$TARGET" ] && pass "distributed_results.json: total_messages = $TARGET" || fail "total_messages = $total, expected $TARGET"
    if python3 - "$RESULTS" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))
workers = {w.get("worker_id"): w for w in results.get("workers", [])}
lost = workers.get("w4", {})
sys.exit(0 if any("lost" in str(k).lower() and lost[k] for k in lost) or "lost" in json.dumps(lost).lower() else 1)
EOF
    then pass "the results name w4 as lost"; else fail "the results do not mark w4 as lost"; fi
else
    fail "no $RESULTS"
fi

for i in 1 2 3; do
    pid_var=PID_w$i
    deadline=$(( $(date +%s) + 60 ))
    while kill -0 "${!pid_var}" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
    if kill -0 "${!pid_var}" 2>/dev/null; then fail "worker w$i still running after the run"; else
        wait "${!pid_var}"; status=$?
        [ "$status" = 0 ] && pass "worker w$i finished (exit 0)" || fail "worker w$i exited $status: $(tail -3 "$WORK/w$i.log")"
    fi
done

if [ -f "$RESULTS" ]; then
    log "verifying the server holds exactly $TARGET messages"
    if in_ns coord timeout 600 "$BIN" verify --results "$RESULTS" --contact-points "$CONTACTS" > "$WORK/verify.log" 2>&1; then
        pass "stampede verify: exactly $TARGET messages, nothing acknowledged lost"
    else
        fail "stampede verify: $(tail -5 "$WORK/verify.log")"
    fi
fi

# --- Proof that the loss (and the delay) lasted the whole run -----------------------------------------------------
case "$IMPAIRMENT" in
    nfqueue)
        dropped=0
        for ns in "${NAMESPACES[@]}"; do
            count=$(in_ns "$ns" "$IPT" -w -L INPUT -v -x -n 2>/dev/null | awk '$3 == "DROP" && /statistic/ { s += $1 } END { print s + 0 }')
            dropped=$((dropped + count))
        done
        [ "$dropped" -gt 0 ] && pass "loss in effect: the random ${LOSS_PERCENT}% DROP rules dropped $dropped packets" \
            || fail "loss not in effect: the DROP rules dropped no packet"
        if kill -0 "$DELAYER_PID" 2>/dev/null; then
            kill -TERM "$DELAYER_PID"
            for _ in $(seq 50); do kill -0 "$DELAYER_PID" 2>/dev/null || break; sleep 0.1; done
            summary=$(grep "packets delayed" "$WORK/nfqueue-delay.log")
            delayed=$(echo "$summary" | awk '{ print $2 }')
            [ "${delayed:-0}" -gt 0 ] && pass "delay in effect for the whole run: ${summary#nfqueue-delay: }" \
                || fail "the delayer saw no packets: $summary"
        else
            fail "the NFQUEUE delayer died during the run: $(tail -2 "$WORK/nfqueue-delay.log")"
        fi ;;
    netem)
        dropped=0
        for ns in "${NAMESPACES[@]}"; do
            count=$(in_ns "$ns" tc -s qdisc show dev "${PREFIX}-$ns-n" 2>/dev/null | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -1)
            dropped=$((dropped + ${count:-0}))
        done
        [ "$dropped" -gt 0 ] && pass "loss in effect: netem dropped $dropped packets" || fail "loss not in effect: netem dropped no packet" ;;
    none) ;;
esac
