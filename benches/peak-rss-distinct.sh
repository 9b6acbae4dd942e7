#!/usr/bin/env bash
# Peak RSS when every request has its own userAgent, user, client and object name — millions of
# distinct keys (a benchmark, not a test): the capped identity cache, client table, pod lists
# and object table must hold memory flat. Usage: benches/peak-rss-distinct.sh [DIR] [SIZE]
set -euo pipefail
dir=${1:-/tmp/audit-scan-rss}; size=${2:-1GB}
cargo build --release --quiet
bin=target/release/audit-scan
mkdir -p "$dir"
base="$dir/gen-$size.jsonl"
f="$dir/distinct-$size.jsonl"
[ -f "$base" ] || "$bin" generate --size "$size" --seed 3 -o "$base"
if [ ! -f "$f" ]; then
  # Line N gets userAgent "uaN-…" (so its own client), user "uN-…" and object "oN-…".
  python3 - "$base" "$f" <<'PY'
import sys
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as dst:
    for n, line in enumerate(src):
        line = line.replace(b'"userAgent":"', b'"userAgent":"ua%d-' % n, 1)
        line = line.replace(b'"username":"', b'"username":"u%d-' % n, 1)
        dst.write(line.replace(b'"name":"', b'"name":"o%d-' % n, 1))
PY
fi
for input in "$base" "$f"; do
  for t in 1 2; do
    /usr/bin/time -f "$(basename "$input") threads=$t wall=%es peak_rss=%MKB" \
      "$bin" "$input" --threads "$t" --format json -o "$dir/out.json" --no-progress
  done
done
python3 - "$dir/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("clients:", len(r["clients"]), "lists:", len(r["lists"]), "objects:", len(r["objects"]))
print([c for c in r["summary"]["coverage"] if "folded" in c])
PY
