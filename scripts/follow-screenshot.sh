#!/usr/bin/env bash
# Takes the README's screenshot of the `--follow` terminal view (docs/follow-view.txt): a
# generated log with three planted problems and one hostile userAgent (a bidi override and a
# colour escape, which the view neutralizes), followed in a 130x36 tmux pane, captured after a
# few refreshes. Usage: scripts/follow-screenshot.sh [path/to/audit-scan]
set -euo pipefail
bin=${1:-target/debug/audit-scan}
out=docs/follow-view.txt
dir=$(mktemp -d)
trap 'tmux kill-session -t audit-scan-shot 2>/dev/null || true; rm -rf "$dir"' EXIT
start=$(date -u -d '-8 min' +%Y-%m-%dT%H:%M:00Z)
"$bin" generate --size 6MB --start "$start" --rate 10 --plant reconcile-loop --plant throttled \
  --plant expensive-list -o "$dir/audit.log" 2>/dev/null
t=$(date -u -d '-30 sec' +%Y-%m-%dT%H:%M:%S.000000Z)
for i in $(seq 1 30); do
  printf '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"h%s","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"system:serviceaccount:evil:x"},"userAgent":"evil\\u202e\\u001b[31mred/v1","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"%s","stageTimestamp":"%s"}\n' \
    "$i" "$t" "$t" >> "$dir/audit.log"
done
tmux new-session -d -s audit-scan-shot -x 130 -y 36 \
  "NO_COLOR=1 $bin --follow $dir/audit.log --refresh 2s --no-config; sleep 30"
sleep 5
tmux capture-pane -p -t audit-scan-shot | sed -e 's/[[:space:]]*$//' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' > "$out"
echo "wrote $out"
