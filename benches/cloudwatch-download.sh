#!/usr/bin/env bash
# Download throughput from moto's CloudWatch Logs emulator with 1, 4 and 8 parallel slices (a
# benchmark, not a test). Usage: benches/cloudwatch-download.sh [EVENTS_MB]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-50}
venv=target/ci-venv
[ -x "$venv/bin/moto_server" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q 'moto[server]>=5,<6'; }
cargo build --release --quiet
bin=target/release/audit-scan
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > target/moto-bench.log 2>&1 &
pid=$!; trap 'kill $pid' EXIT
sleep 3
ep="http://127.0.0.1:$port"
start=$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)
"$bin" generate --size "${mb}MB" --start "$start" --seed 4 -o target/cw-bench.jsonl 2>/dev/null
AWS_ACCESS_KEY_ID=t AWS_SECRET_ACCESS_KEY=t "$venv/bin/python" benches/cloudwatch-load.py "$ep" /aws/eks/bench/cluster target/cw-bench.jsonl
for c in 1 4 8; do
  AWS_ACCESS_KEY_ID=t AWS_SECRET_ACCESS_KEY=t AWS_EC2_METADATA_DISABLED=true \
    "$bin" --cluster bench --since 3d --region us-east-1 --endpoint-url "$ep" --concurrency "$c" --rate 1000 \
    --slice 30m --format json --no-progress | "$venv/bin/python" -c "
import json,sys; c=json.load(sys.stdin)['summary']['cloudwatch']
print(f\"concurrency=$c events={c['events_fetched']} pages={c['pages']} {c['elapsed_s']:.1f}s {c['events_fetched']/c['elapsed_s']:.0f} events/s {c['bytes']/c['elapsed_s']/1e6:.1f} MB/s\")"
done
