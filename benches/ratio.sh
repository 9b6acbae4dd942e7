#!/usr/bin/env bash
# The full CLI (file → JSON report) against a bare parse of the same bytes, in one run, on the
# three log shapes: a Metadata-level log, one whose writes carry whole bodies (`generate
# --bodies`) and those writes alone (`writes-log.sh`). Runs each command RUNS times in turn (page
# cache warm after the first) and prints the median wall time, GB/s and peak RSS of each, and the
# CLI's speed as a share of the bare parse's. The bare parses (`examples/bare_parse.rs`):
# simd-json into the typed event (the decoder before the skim), and audit-scan's own decoder;
# neither aggregates.
# BASELINE="path/to/another/audit-scan ..." times those binaries too (e.g. builds of earlier
# commits), in the same run, as baseline1, baseline2, ... A benchmark, not a test: run it on an
# otherwise idle machine.
#
# Usage: [BASELINE="BIN ..."] benches/ratio.sh [DIR] [SIZE] [RUNS] [THREADS]
#        e.g. benches/ratio.sh /tmp/ratio 1GB 3 2
set -euo pipefail
dir=${1:-/tmp/audit-scan-ratio}
size=${2:-1GB}
runs=${3:-3}
threads=${4:-2}
# The file path needs neither CloudWatch nor the exports: a build without them links less.
cargo build --release --quiet --no-default-features --bin audit-scan --example bare_parse
bin=target/release/audit-scan
bare=target/release/examples/bare_parse
mkdir -p "$dir"
[ -f "$dir/metadata-$size.jsonl" ] || "$bin" generate --size "$size" --seed 3 -o "$dir/metadata-$size.jsonl"
[ -f "$dir/bodies-$size.jsonl" ] || "$bin" generate --size "$size" --seed 3 --bodies -o "$dir/bodies-$size.jsonl"
# The issue's second shape: writes at RequestResponse level alone.
[ -f "$dir/writes-$size.jsonl" ] || benches/writes-log.sh "$bin" "$size" "$dir/writes-$size.jsonl"

# One timed run: prints "seconds peak_kb".
timed() {
  /usr/bin/time -f "%e %M" -o "$dir/time.out" "$@" >/dev/null 2>"$dir/stderr.out" ||
    { cat "$dir/stderr.out" >&2; exit 1; }
  cat "$dir/time.out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

names=(cli bare_typed bare_fast)
cmds=("$bin FILE --threads $threads --format json -o /dev/null --no-progress"
      "$bare --threads $threads FILE"
      "$bare --threads $threads --fast FILE")
k=0
for b in ${BASELINE:-}; do
  k=$((k + 1))
  names+=("baseline$k")
  cmds+=("$b FILE --threads $threads --format json -o /dev/null --no-progress")
done

for shape in metadata bodies writes; do
  f="$dir/$shape-$size.jsonl"
  bytes=$(stat -L -c %s "$f") # -L: a log may be linked in from elsewhere
  for n in "${names[@]}"; do : >"$dir/$n.times"; : >"$dir/$n.rss"; done
  timed $bin "$f" --threads "$threads" --format json -o /dev/null --no-progress >/dev/null # warm-up
  for _ in $(seq "$runs"); do
    for i in "${!names[@]}"; do
      # shellcheck disable=SC2086 # the command is split on purpose
      read -r s kb < <(timed ${cmds[$i]//FILE/$f})
      echo "$s" >>"$dir/${names[$i]}.times"; echo "$kb" >>"$dir/${names[$i]}.rss"
    done
  done
  cli=$(median <"$dir/cli.times")
  for n in "${names[@]}"; do
    t=$(median <"$dir/$n.times")
    awk -v shape="$shape" -v n="$n" -v b="$bytes" -v t="$t" -v c="$cli" \
        -v rss="$(sort -n "$dir/$n.rss" | tail -1)" 'BEGIN {
      printf "%-8s %5.2f GB  %-10s %6.3f s %5.2f GB/s %5d MB peak   cli speed / this %.2f\n",
        shape, b / 1e9, n, t, b / t / 1e9, rss / 1024, t / c }'
  done
done
