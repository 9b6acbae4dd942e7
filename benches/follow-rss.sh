#!/usr/bin/env bash
# RSS and lag of `audit-scan --follow` under steady traffic: generated audit events are appended
# to a file at RATE events/s (default 2000) in real time, their own timestamps paced to the wall
# clock, while the follower reads it with a 10 s refresh and a 15 m window. Every 10 s the
# follower's RSS (VmRSS) is sampled; every refresh's `summary.follow.lag_ms` is read from its
# NDJSON output. The issue asks for an hour; DURATION (seconds) scales it down, e.g. 300 for a
# five-minute run — note that the window fills for 15 minutes, so RSS is flat only once a run
# is longer than the window. Usage: benches/follow-rss.sh [BIN] [DURATION] [RATE]
set -euo pipefail
bin=${1:-target/release/audit-scan}
duration=${2:-3600}
rate=${3:-2000}
dir=$(mktemp -d)
cleanup() { [[ -n "${fpid:-}" ]] && kill "$fpid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
start=$(date -u -d '+5 sec' +%Y-%m-%dT%H:%M:%SZ)
# ~1 KB a line: the size that covers `duration` seconds at `rate` events/s.
size=$(( duration * rate * 1100 / 1000000 + 1 ))MB
"$bin" generate --size "$size" --start "$start" --rate "$rate" --plant reconcile-loop \
  --plant throttled -o "$dir/source.jsonl" 2>/dev/null
: > "$dir/audit.log"
"$bin" --follow "$dir/audit.log" --format json --refresh 10s --no-config > "$dir/out.ndjson" 2>"$dir/err.txt" &
fpid=$!
# The writer: appends each line when the wall clock reaches its requestReceivedTimestamp.
python3 - "$dir/source.jsonl" "$dir/audit.log" "$duration" <<'PY' &
import datetime, json, sys, time
src, dst, duration = sys.argv[1], open(sys.argv[2], "a"), float(sys.argv[3])
t0 = time.time()
batch = []
for line in open(src):
    ts = json.loads(line).get("requestReceivedTimestamp")
    if ts:
        due = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        if due - time.time() > 0.05:
            dst.write("".join(batch)); dst.flush(); batch = []
            time.sleep(max(0.0, due - time.time()))
    batch.append(line)
    if time.time() - t0 > duration:
        break
dst.write("".join(batch)); dst.flush()
PY
wpid=$!
echo "elapsed_s rss_kib bytes_written"
t=0
while kill -0 "$wpid" 2>/dev/null; do
  sleep 10; t=$((t + 10))
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$fpid/status")
  # Bytes, not lines: counting the lines of a file of gigabytes every 10 s would load the machine.
  echo "$t $rss $(stat -c %s "$dir/audit.log")"
done
sleep 12
kill -INT "$fpid"; wait "$fpid" || true
python3 - "$dir/out.ndjson" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
refreshes = [d for d in docs if not d["summary"]["follow"]["final"]]
lags = [d["summary"]["follow"]["lag_ms"] for d in refreshes if d["summary"]["follow"]["lag_ms"] is not None]
final = docs[-1]["summary"]
print(f"refreshes {len(refreshes)}; lag ms: max {max(lags)}, median {sorted(lags)[len(lags)//2]}")
print(f"final: events {final['events']}, requests {final['requests']}, final={final['follow']['final']}")
PY
