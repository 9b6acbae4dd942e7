//! Synthetic audit logs: a seeded generator of realistic EKS-style Metadata-level events for
//! tests, benchmarks and demos. The cluster has heartbeats at their upstream periods (node
//! Leases, node status, leader election; see [`heartbeat`]), kubelets (pod and secret reads,
//! watches, Events), the scheduler (bindings), kube-controller-manager controllers, operators
//! with CRDs (cert-manager, Argo CD, Karpenter, Kyverno, the AWS load balancer controller),
//! node agents, monitoring, applications, humans with kubectl, and a trickle of errors (409
//! conflicts and AlreadyExists, 404, APF 429s, PodDisruptionBudget 429s on evictions, 5xx).
//! A healthy background: no finding at medium or above. The same seed and size (or duration)
//! give the same bytes.

use std::io::{self, Write};

use crate::timefmt::{Micros, parse_rfc3339};

mod background;
mod bodies;
mod event;
mod heartbeat;
mod plant;
mod req;
pub(crate) mod rng;

use background::{log_bodies, request};
use event::write_event;
use heartbeat::Heartbeats;
pub use plant::{Plant, TimedPlant, parse_plant};
use req::Req;
pub use rng::Rng;
use rng::uuid;

/// Generator settings.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Stop after about this many bytes (unless `duration` is set).
    pub bytes: u64,
    /// Stop when the log covers this span instead, whatever its size.
    pub duration: Option<Micros>,
    /// Seed.
    pub seed: u64,
    /// Kubelets.
    pub nodes: u32,
    /// Time of the first event.
    pub start: Micros,
    /// Mean requests per second of the cluster, heartbeats included.
    pub rate: f64,
    /// Problems to plant for the whole log.
    pub plants: Vec<Plant>,
    /// Problems to plant in a window of the log.
    pub timed_plants: Vec<TimedPlant>,
    /// Log writes to built-in groups at RequestResponse level with whole bodies (EKS' policy).
    pub bodies: bool,
    /// Send heartbeats at their upstream periods (off: only the background, for tests that
    /// need many nodes at a low rate).
    pub heartbeats: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            bytes: 10_000_000,
            duration: None,
            seed: 1,
            nodes: 50,
            start: parse_rfc3339("2024-05-01T10:00:00Z").unwrap_or(0),
            rate: 300.0,
            plants: Vec::new(),
            timed_plants: Vec::new(),
            bodies: false,
            heartbeats: true,
        }
    }
}

/// The smallest share of `--rate` left to the background when heartbeats alone exceed it.
const MIN_BACKGROUND_SHARE: f64 = 0.1;

/// Counts what was written and writes each request's events.
struct Sink<'a, W: Write> {
    out: &'a mut W,
    line: String,
    bodies: bool,
    start: Micros,
    bytes: u64,
    events: u64,
    requests: u64,
}

impl<W: Write> Sink<'_, W> {
    /// Writes `q`, completed at `end`: a watch (long-running) gets a ResponseStarted event
    /// when its headers go out, then ResponseComplete.
    fn emit(&mut self, r: &mut Rng, mut q: Req, end: Micros) -> io::Result<()> {
        if self.bodies {
            log_bodies(&mut q);
        }
        let id = uuid(r);
        self.line.clear();
        let received = end - q.latency;
        // A watch opened before the log began shows only its end, as in a real log.
        if q.verb == "watch" && received >= self.start {
            let started = received + 2_000;
            write_event(
                &mut self.line,
                r,
                &q,
                "ResponseStarted",
                received,
                started,
                &id,
            );
            self.events += 1;
        }
        write_event(
            &mut self.line,
            r,
            &q,
            "ResponseComplete",
            received,
            end,
            &id,
        );
        self.events += 1;
        self.requests += 1;
        self.out.write_all(self.line.as_bytes())?;
        self.bytes += self.line.len() as u64;
        Ok(())
    }
}

/// Writes events until about `cfg.bytes` bytes, or until the log spans `cfg.duration`;
/// returns (events, requests).
///
/// # Errors
/// Writing fails.
pub fn generate(cfg: &SynthConfig, out: &mut impl Write) -> io::Result<(u64, u64)> {
    let mut r = Rng::new(cfg.seed);
    let nodes = u64::from(cfg.nodes.max(1));
    let beating = if cfg.heartbeats { nodes } else { 0 };
    let mut beats = Heartbeats::new(&mut r, beating, cfg.start, cfg.heartbeats);
    let heartbeat_rate = if cfg.heartbeats {
        heartbeat::rate(nodes)
    } else {
        0.0
    };
    let background = (cfg.rate - heartbeat_rate).max(cfg.rate * MIN_BACKGROUND_SHARE);
    let step = (1e6 / background) as u64;
    let mut planted = plant::Schedule::new(cfg);
    let end = cfg.duration.map(|d| cfg.start + d);
    let mut sink = Sink {
        out,
        line: String::with_capacity(2048),
        bodies: cfg.bodies,
        start: cfg.start,
        bytes: 0,
        events: 0,
        requests: 0,
    };
    let mut now = cfg.start;
    // Without `duration`, the size bounds every event, heartbeats included: at a low `--rate`
    // the heartbeats between two background requests can be many.
    let full = |sink: &Sink<_>| end.is_none() && sink.bytes >= cfg.bytes;
    'events: while !full(&sink) {
        now += (r.below(2 * step.max(1)) + 1) as Micros;
        if end.is_some_and(|end| now >= end) {
            break;
        }
        while let Some((at, q)) = planted.next_due(&mut r, now) {
            sink.emit(&mut r, q, at)?;
            if full(&sink) {
                break 'events;
            }
        }
        while let Some((at, q)) = beats.next_due(&mut r, now) {
            sink.emit(&mut r, q, at)?;
            if full(&sink) {
                break 'events;
            }
        }
        let q = request(&mut r, nodes);
        sink.emit(&mut r, q, now)?;
    }
    Ok((sink.events, sink.requests))
}

/// Parses `10MB`, `1GB`, `512KiB` or a plain byte count.
///
/// # Errors
/// A message quoting the value.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("invalid size '{s}': e.g. 100MB or 1GB"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" | "K" => 1e3,
        "MB" | "M" => 1e6,
        "GB" | "G" => 1e9,
        "KIB" => 1024.0,
        "MIB" => 1_048_576.0,
        "GIB" => 1_073_741_824.0,
        _ => {
            return Err(format!(
                "invalid size unit in '{s}': use KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid_json() {
        let cfg = SynthConfig {
            bytes: 200_000,
            ..SynthConfig::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (events, _) = generate(&cfg, &mut a).unwrap();
        generate(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        let mut n = 0;
        for line in a.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert_eq!(v["kind"], "Event");
            n += 1;
        }
        assert_eq!(n, events);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("ten").is_err());
    }
}
