#!/usr/bin/env bash
# Smoke test of the Logs Insights templates on a real log group: the check CI cannot run.
#
# For a user with AWS credentials (any way the AWS CLI finds them: profile, SSO, env) and an
# EKS cluster whose audit log goes to CloudWatch Logs. It runs every bundled template over a
# short window of the log group on the service (`queries run`), downloads the same window
# (FilterLogEvents) and evaluates every template on the download with the local evaluator
# (`queries run --local`), then prints both answers side by side per template, sorted, with
# the rows that differ marked. Reads only; costs the bytes the templates scan (printed).
#
#   scripts/insights-smoke.sh --log-group /aws/eks/CLUSTER/cluster [--since 15m] [--region R]
#                             [--profile P] [--endpoint-url URL] [--bin path/to/audit-scan]
#
# Expected differences, not bugs: log-volume bins by @timestamp, which is CloudWatch's time on
# the service and the request's own time locally; pct() rounding on the service is not
# documented and count_distinct is approximate at high cardinality; requests at the window's
# edges (the download keeps requests by their own time, the service by @timestamp).
set -euo pipefail

bin=audit-scan
since=15m
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --since) since=$2; shift 2 ;;
    --log-group|--region|--profile|--endpoint-url|--cluster) args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "insights-smoke: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ ${#args[@]} -eq 0 ]; then
  echo "insights-smoke: pass --log-group GROUP (or --cluster NAME)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One fixed window for both sides, resolved once here (GNU date): --since 15m, 2h, or a time.
now=$(date -u +%s)
case "$since" in
  *m) since_ts=$(date -u -d "@$((now - ${since%m} * 60))" +%Y-%m-%dT%H:%M:%SZ) ;;
  *h) since_ts=$(date -u -d "@$((now - ${since%h} * 3600))" +%Y-%m-%dT%H:%M:%SZ) ;;
  *) since_ts=$since ;;
esac
until_ts=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
window=(--since "$since_ts" --until "$until_ts")

echo "window: $since_ts .. $until_ts"
echo "downloading the window (FilterLogEvents) ..."
# --fetch-margin 0s: the records of the window's CloudWatch time only, as the queries see it.
"$bin" "${args[@]}" "${window[@]}" --fetch-margin 0s --no-progress --format json \
  --save "$work/window.jsonl" >/dev/null

status=0
# Template names: the first column of `queries list`, its lines that start with a name.
for t in $("$bin" queries list | tail -n +2 | grep -E '^[a-z]' | cut -d' ' -f1); do
  service="$work/$t.service.csv"
  local_="$work/$t.local.csv"
  if ! "$bin" queries run "$t" "${args[@]}" "${window[@]}" --format csv >"$service" 2>"$work/$t.err"; then
    echo "== $t: the service query failed: $(tail -n 1 "$work/$t.err")"
    status=1
    continue
  fi
  "$bin" queries run "$t" --local "$work/window.jsonl" --format csv >"$local_" 2>/dev/null
  bill=$(grep -o 'scanned [^;]*' "$work/$t.err" | head -n 1 || true)
  if diff -q <(sort "$service") <(sort "$local_") >/dev/null; then
    echo "== $t: same $(($(wc -l <"$service") - 1)) rows on the service and locally ${bill:+($bill)}"
  else
    echo "== $t: service (left) and local (right) differ ${bill:+($bill)}"
    diff -y -W 200 --suppress-common-lines <(sort "$service") <(sort "$local_") | head -n 40 || true
  fi
done
exit $status
