"""Loads a JSON-lines audit log into a CloudWatch Logs endpoint (moto) as three EKS audit streams.
Usage: cloudwatch-load.py ENDPOINT LOG_GROUP FILE"""
import json, sys, datetime
import boto3

ep, group, path = sys.argv[1:4]
c = boto3.client("logs", endpoint_url=ep, region_name="us-east-1")
c.create_log_group(logGroupName=group)
streams = [f"kube-apiserver-audit-{h}" for h in ("a1", "b2", "c3")]
for s in streams:
    c.create_log_stream(logGroupName=group, logStreamName=s)
batches = [[] for _ in streams]
for i, line in enumerate(open(path)):
    t = json.loads(line)["stageTimestamp"]
    ms = int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
    batches[i % 3].append({"timestamp": ms, "message": line.rstrip("\n")})
for s, evs in zip(streams, batches):
    evs.sort(key=lambda e: e["timestamp"])
    for k in range(0, len(evs), 5000):
        c.put_log_events(logGroupName=group, logStreamName=s, logEvents=evs[k:k + 5000])
print(f"loaded {sum(map(len, batches))} events", file=sys.stderr)
