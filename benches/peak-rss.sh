#!/usr/bin/env bash
# Peak RSS and wall time of a full scan for generated logs of several sizes (a benchmark, not a
# test). Usage: benches/peak-rss.sh [DIR] [SIZES...]   e.g. benches/peak-rss.sh /tmp/rss 1GB 4GB
set -euo pipefail
dir=${1:-/tmp/audit-scan-rss}; shift || true
sizes=("${@:-1GB 4GB}")
cargo build --release --quiet
bin=target/release/audit-scan
mkdir -p "$dir"
for size in ${sizes[@]}; do
  f="$dir/gen-$size.jsonl"
  [ -f "$f" ] || "$bin" generate --size "$size" --seed 3 -o "$f"
  for t in 1 2; do
    /usr/bin/time -f "size=$size threads=$t wall=%es peak_rss=%MKB" \
      "$bin" "$f" --threads "$t" --format json -o /dev/null --no-progress
  done
done
