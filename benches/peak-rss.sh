#!/usr/bin/env bash
# Peak RSS and wall time of a full scan for generated logs of several sizes, on three shapes (a
# Metadata-level log, one whose writes carry bodies, and those writes alone), 1 and 2 threads (a
# benchmark, not a test).
# Usage: benches/peak-rss.sh [DIR] [SIZES...]   e.g. benches/peak-rss.sh /tmp/rss 1GB 8GB
set -euo pipefail
dir=${1:-/tmp/audit-scan-rss}; shift || true
sizes=("${@:-1GB 4GB}")
# The file path needs neither CloudWatch nor the exports: a build without them links less.
cargo build --release --quiet --no-default-features --bin audit-scan
bin=target/release/audit-scan
mkdir -p "$dir"
for size in ${sizes[@]}; do
  for shape in metadata bodies writes; do
    f="$dir/$shape-$size.jsonl"
    if [ ! -f "$f" ]; then
      case $shape in
        metadata) "$bin" generate --size "$size" --seed 3 -o "$f" ;;
        bodies) "$bin" generate --size "$size" --seed 3 --bodies -o "$f" ;;
        writes) benches/writes-log.sh "$bin" "$size" "$f" ;;
      esac
    fi
    for t in 1 2; do
      /usr/bin/time -f "$shape size=$size threads=$t wall=%es peak_rss=%MKB" \
        "$bin" "$f" --threads "$t" --format json -o /dev/null --no-progress
    done
  done
done
