//! The CloudWatch Logs emulator (moto's server) for tests: its endpoint, a loader that puts
//! audit events into it through the real AWS SDK, and a fault-injecting HTTP proxy.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

/// moto's endpoint from `AUDIT_SCAN_MOTO_ENDPOINT` (set by `.ci/run`), or a loud skip by hand.
pub fn endpoint() -> Option<String> {
    super::external(
        "AUDIT_SCAN_MOTO_ENDPOINT",
        "Start a CloudWatch emulator: moto_server -H 127.0.0.1 -p 5055, then AUDIT_SCAN_MOTO_ENDPOINT=http://127.0.0.1:5055",
    )
}

/// Static test credentials, the region, and no instance metadata or config files.
const TEST_ENV: [(&str, &str); 6] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    ),
];

/// Environment that pins the SDK to static test credentials and no network but loopback.
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.envs(TEST_ENV)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
        .env_remove("KUBECONFIG")
}

/// Runs audit-scan with the test credentials against `endpoint` (`--endpoint-url`).
pub fn cli(endpoint: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = super::bin();
    aws_env(&mut cmd)
        .args(args)
        .args(["--endpoint-url", endpoint])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    Client::from_conf(conf)
}

/// One log event: CloudWatch time (ms) and message.
pub type Record = (i64, String);

/// Creates `group` with `streams` and puts each stream's records (sorted by time).
pub fn load(endpoint: &str, group: &str, streams: &[(String, Vec<Record>)]) {
    let c = client(endpoint);
    runtime().block_on(async {
        let _ = c.create_log_group().log_group_name(group).send().await;
        for (name, records) in streams {
            c.create_log_stream()
                .log_group_name(group)
                .log_stream_name(name)
                .send()
                .await
                .unwrap();
            put_records(&c, group, name, records).await;
        }
    });
}

/// Puts `records` (sorted by time) into the existing stream `stream` of `group`.
pub fn put(endpoint: &str, group: &str, stream: &str, records: &[Record]) {
    let c = client(endpoint);
    runtime().block_on(put_records(&c, group, stream, records));
}

async fn put_records(c: &Client, group: &str, stream: &str, records: &[Record]) {
    let mut records = records.to_vec();
    records.sort_by_key(|r| r.0);
    for batch in records.chunks(2000) {
        let events: Vec<InputLogEvent> = batch
            .iter()
            .map(|(t, m)| {
                InputLogEvent::builder()
                    .timestamp(*t)
                    .message(m)
                    .build()
                    .unwrap()
            })
            .collect();
        c.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }
}

/// A proxy in front of moto that answers some requests with ThrottlingException (HTTP 400) or a
/// 500, and delays others. Returns its endpoint and the count of faults injected.
pub fn faulty_proxy(upstream: &str) -> (String, Arc<AtomicU64>) {
    let faults = Arc::new(AtomicU64::new(0));
    let f2 = faults.clone();
    let endpoint = proxy(upstream, move |conn, up, n| serve(conn, up, n, &f2));
    (endpoint, faults)
}

/// A loopback HTTP proxy in front of `upstream` (`http://host:port`): each connection, numbered
/// from 0, is handed to `handle` on its own thread with the upstream's `host:port`. Returns the
/// proxy's endpoint.
pub fn proxy(
    upstream: &str,
    handle: impl Fn(TcpStream, &str, u64) -> std::io::Result<()> + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().flatten().enumerate() {
            let (up, handle) = (upstream.clone(), handle.clone());
            std::thread::spawn(move || {
                let _ = handle(conn, &up, n as u64);
            });
        }
    });
    format!("http://{addr}")
}

/// Reads one HTTP message (head without its blank line, body of `Content-Length` bytes).
pub fn read_message(s: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(h) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..h]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < h + 4 + len {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok((head, buf[h + 4..].to_vec()));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok((String::from_utf8_lossy(&buf).into_owned(), Vec::new()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends one request on to moto (`Connection: close`) and reads its answer (head, body).
pub fn forward(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
    let head: Vec<&str> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(head.join("\r\n").as_bytes())?;
    up.write_all(b"\r\nConnection: close\r\n\r\n")?;
    up.write_all(body)?;
    read_message(&mut up)
}

fn serve(mut client: TcpStream, upstream: &str, n: u64, faults: &AtomicU64) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (head, body) = read_message(&mut client)?;
    if head.is_empty() {
        return Ok(());
    }
    // Discovery (the first request) passes; then every 4th is throttled, every 7th fails.
    let reply = |status: &str, kind: &str| {
        let body = format!(r#"{{"__type":"{kind}","message":"injected by the test proxy"}}"#);
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    if n > 0 && n % 4 == 1 {
        faults.fetch_add(1, Ordering::SeqCst);
        return client.write_all(reply("400 Bad Request", "ThrottlingException").as_bytes());
    }
    if n > 0 && n % 7 == 3 {
        faults.fetch_add(1, Ordering::SeqCst);
        return client.write_all(
            reply("500 Internal Server Error", "ServiceUnavailableException").as_bytes(),
        );
    }
    if n % 5 == 2 {
        std::thread::sleep(Duration::from_millis(300));
    }
    // Relay the whole answer.
    let (rhead, rbody) = forward(upstream, &head, &body)?;
    client.write_all(rhead.as_bytes())?;
    client.write_all(b"\r\n\r\n")?;
    client.write_all(&rbody)
}

/// Loads `n` kubectl pod LISTs into stream `kube-apiserver-audit-x1` of `group`, one a second
/// from CloudWatch time `t0_ms + offset_ms` (each received 5 ms before it is logged).
pub fn load_lists(endpoint: &str, group: &str, t0_ms: i64, offset_ms: i64, n: i64) {
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let t = t0_ms + i * 1000 + offset_ms;
            let msg = format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-{i}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"u"}},"userAgent":"kubectl/v1.31.0","objectRef":{{"resource":"pods","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}}"#,
                rfc3339(t - 5),
                rfc3339(t)
            );
            (t, msg)
        })
        .collect();
    load(
        endpoint,
        group,
        &[("kube-apiserver-audit-x1".to_owned(), records)],
    );
}

/// Loads `n` audit events one second apart, at `offset_ms` into each second, from an hour ago;
/// returns the first second (epoch ms).
pub fn load_recent(endpoint: &str, group: &str, offset_ms: i64, n: i64) -> i64 {
    let t0 = (now_ms() - 3_600_000) / 1000 * 1000;
    load_lists(endpoint, group, t0, offset_ms, n);
    t0
}

/// A CloudWatch time (epoch ms) as the audit log writes times.
pub fn rfc3339(ms: i64) -> String {
    audit_scan::timefmt::format_rfc3339(ms * 1000)
}

/// Now, epoch ms.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A name no earlier run used, so tests rerun on a long-lived emulator.
pub fn unique(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), now_ms())
}
