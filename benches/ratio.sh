#!/usr/bin/env bash
# The full CLI (file → JSON report) against a bare parse of the same bytes, in one run, on the
# two log shapes: a Metadata-level log and one whose writes carry whole bodies (`generate
# --bodies`). Runs the two commands in turn RUNS times each (page cache warm after the first),
# and prints the median wall time, GB/s and peak RSS of each and the CLI's share of the bare
# parse's speed. A benchmark, not a test: run it on an idle machine.
#
# Usage: benches/ratio.sh [DIR] [SIZE] [RUNS] [THREADS]   e.g. benches/ratio.sh /tmp/ratio 1GB 5 2
set -euo pipefail
dir=${1:-/tmp/audit-scan-ratio}
size=${2:-1GB}
runs=${3:-5}
threads=${4:-2}
cargo build --release --quiet --bin audit-scan --example bare_parse
bin=target/release/audit-scan
bare=target/release/examples/bare_parse
mkdir -p "$dir"
[ -f "$dir/metadata-$size.jsonl" ] || "$bin" generate --size "$size" --seed 3 -o "$dir/metadata-$size.jsonl"
[ -f "$dir/bodies-$size.jsonl" ] || "$bin" generate --size "$size" --seed 3 --bodies -o "$dir/bodies-$size.jsonl"

# One timed run: prints "seconds peak_kb".
timed() {
  /usr/bin/time -f "%e %M" -o "$dir/time.out" "$@" >/dev/null 2>"$dir/stderr.out" ||
    { cat "$dir/stderr.out" >&2; exit 1; }
  cat "$dir/time.out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for shape in metadata bodies; do
  f="$dir/$shape-$size.jsonl"
  bytes=$(stat -c %s "$f")
  : >"$dir/cli.times"; : >"$dir/bare.times"; : >"$dir/cli.rss"; : >"$dir/bare.rss"
  timed "$bin" "$f" --threads "$threads" --format json -o /dev/null --no-progress >/dev/null # warm-up
  for _ in $(seq "$runs"); do
    read -r s kb < <(timed "$bin" "$f" --threads "$threads" --format json -o /dev/null --no-progress)
    echo "$s" >>"$dir/cli.times"; echo "$kb" >>"$dir/cli.rss"
    read -r s kb < <(timed "$bare" --threads "$threads" "$f")
    echo "$s" >>"$dir/bare.times"; echo "$kb" >>"$dir/bare.rss"
  done
  cli=$(median <"$dir/cli.times"); raw=$(median <"$dir/bare.times")
  awk -v shape="$shape" -v b="$bytes" -v c="$cli" -v r="$raw" \
      -v cr="$(sort -n "$dir/cli.rss" | tail -1)" -v rr="$(sort -n "$dir/bare.rss" | tail -1)" 'BEGIN {
    printf "%-8s %6.2f GB  cli %6.3f s %5.2f GB/s %4d MB   bare typed parse %6.3f s %5.2f GB/s %4d MB   cli/bare speed %.2f\n",
      shape, b / 1e9, c, b / c / 1e9, cr / 1024, r, b / r / 1e9, rr / 1024, r / c }'
done
