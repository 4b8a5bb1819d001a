#!/usr/bin/env bash
# Sorted-set commands side by side: slotgate-node vs redis-server 7, one run, both started the
# same way (appendonly no, no snapshots), each fed the same data, then redis-benchmark per
# command against each. Prints a Markdown table of ops/s and the ratio node / redis.
#
# Usage: benches/load/zset.sh [path/to/slotgate-node] [pipeline] [requests]
# Ports 30010 (redis-server) and 30011 (slotgate-node); stops what it started, by PID.
set -euo pipefail

NODE=${1:-target/release/slotgate-node}
PIPE=${2:-16}
REQUESTS=${3:-100000}
RPORT=30010
NPORT=30011
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT

redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >"$DIR/redis.log" 2>&1 &
PIDS+=($!)
"$NODE" --port $NPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >"$DIR/node.log" 2>&1 &
PIDS+=($!)
for port in $RPORT $NPORT; do
    until redis-cli -p $port PING >/dev/null 2>&1; do sleep 0.1; done
done

# 1,000 members scored 0..999 in `big`, 1,000 same-score members in `lex`, two 100-member
# sets overlapping by half for the algebra.
load() {
    local port=$1 big=() lex=() a=() b=()
    for i in $(seq 0 999); do
        big+=("$i" "m:$i")
        lex+=(0 "$(printf 'w%04d' "$i")")
    done
    for i in $(seq 0 99); do
        a+=("$i" "e:$i")
        b+=("$i" "e:$((i + 50))")
    done
    redis-cli -p "$port" ZADD big "${big[@]}" >/dev/null
    redis-cli -p "$port" ZADD lex "${lex[@]}" >/dev/null
    redis-cli -p "$port" ZADD za "${a[@]}" >/dev/null
    redis-cli -p "$port" ZADD zb "${b[@]}" >/dev/null
}
load $RPORT
load $NPORT

COMMANDS=(
    "ZADD bench __rand_int__ m:__rand_int__"
    "ZINCRBY bench 1 m:__rand_int__"
    "ZSCORE big m:500"
    "ZRANGE big 0 9 WITHSCORES"
    "ZRANGE big 100 200 BYSCORE LIMIT 0 10"
    "ZREVRANGEBYSCORE big 900 800 LIMIT 0 10"
    "ZRANGEBYLEX lex [w0500 + LIMIT 0 10"
    "ZLEXCOUNT lex [w0100 (w0200"
    "ZCOUNT big 100 200"
    "ZUNIONSTORE dst 2 za zb"
    "ZINTER 2 za zb"
    "ZINTERCARD 2 za zb"
    "ZDIFF 2 za zb"
    "ZRANDMEMBER big 10"
    "ZRANGESTORE dst big 0 99"
)

rps() {
    local port=$1
    shift
    redis-benchmark -p "$port" -c 50 -r 100000 -n "$REQUESTS" -P "$PIPE" --csv "$@" \
        | tail -n 1 | cut -d, -f2 | tr -d '"'
}

echo "| command | slotgate-node ops/s | redis-server ops/s | node / redis |"
echo "|---|---|---|---|"
for command in "${COMMANDS[@]}"; do
    # shellcheck disable=SC2086
    r=$(rps $RPORT $command)
    # shellcheck disable=SC2086
    n=$(rps $NPORT $command)
    ratio=$(python3 -c "print(f'{$n / $r:.2f}')")
    echo "| \`$command\` | $n | $r | ${ratio}× |"
done
