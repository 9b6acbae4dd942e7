//! Synthetic audit logs: a seeded generator of realistic EKS-style Metadata-level events for
//! tests, benchmarks and demos. The cluster has kubelets (node leases, status patches, pod and
//! secret reads, watches), the scheduler (bindings), kube-controller-manager controllers,
//! operators with CRDs (cert-manager, Argo CD, Karpenter, Kyverno, the AWS load balancer
//! controller), LIST-heavy monitoring, humans with kubectl, and a trickle of errors (409
//! conflicts and AlreadyExists, 404, 429, 5xx). The same seed and size give the same bytes.

use std::io::{self, Write};

use crate::timefmt::{Micros, parse_rfc3339};

mod background;
mod bodies;
mod event;
mod plant;
mod req;
mod rng;

use background::{log_bodies, request};
use event::write_event;
pub use plant::Plant;
pub use rng::Rng;
use rng::uuid;

/// Generator settings.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Stop after about this many bytes.
    pub bytes: u64,
    /// Seed.
    pub seed: u64,
    /// Kubelets.
    pub nodes: u32,
    /// Time of the first event.
    pub start: Micros,
    /// Mean requests per second of the cluster.
    pub rate: f64,
    /// Problems to plant in the background traffic.
    pub plants: Vec<Plant>,
    /// Log writes to built-in groups at RequestResponse level with whole bodies (EKS' policy).
    pub bodies: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            bytes: 10_000_000,
            seed: 1,
            nodes: 50,
            start: parse_rfc3339("2024-05-01T10:00:00Z").unwrap_or(0),
            rate: 300.0,
            plants: Vec::new(),
            bodies: false,
        }
    }
}

/// Writes events until about `cfg.bytes` bytes; returns (events, requests).
///
/// # Errors
/// Writing fails.
pub fn generate(cfg: &SynthConfig, out: &mut impl Write) -> io::Result<(u64, u64)> {
    let mut r = Rng::new(cfg.seed);
    let mut now = cfg.start;
    let (mut bytes, mut events, mut requests) = (0u64, 0u64, 0u64);
    let mut line = String::with_capacity(2048);
    let step = (1e6 / cfg.rate) as u64;
    let mut planted: Vec<(Plant, Micros, u64)> =
        cfg.plants.iter().map(|p| (*p, cfg.start, 0)).collect();
    while bytes < cfg.bytes {
        now += (r.below(2 * step.max(1)) + 1) as Micros;
        for (plant, next, n) in &mut planted {
            while *next <= now {
                let mut q = plant.request(&mut r, *n);
                if cfg.bodies {
                    log_bodies(&mut q);
                }
                let id = uuid(&mut r);
                line.clear();
                if q.verb == "watch" {
                    write_event(
                        &mut line,
                        &mut r,
                        &q,
                        "ResponseStarted",
                        *next - q.latency,
                        *next - q.latency + 2_000,
                        &id,
                    );
                    events += 1;
                }
                write_event(
                    &mut line,
                    &mut r,
                    &q,
                    "ResponseComplete",
                    *next - q.latency,
                    *next,
                    &id,
                );
                events += 1;
                requests += 1;
                out.write_all(line.as_bytes())?;
                bytes += line.len() as u64;
                *next += (plant.period_s() * 1e6) as Micros;
                *n += 1;
            }
        }
        let mut q = request(&mut r, u64::from(cfg.nodes.max(1)));
        if cfg.bodies {
            log_bodies(&mut q);
        }
        let id = uuid(&mut r);
        line.clear();
        if q.verb == "watch" {
            // Long-running: a ResponseStarted event when headers go out, then ResponseComplete.
            write_event(
                &mut line,
                &mut r,
                &q,
                "ResponseStarted",
                now - q.latency,
                now - q.latency + 2_000,
                &id,
            );
            events += 1;
        }
        write_event(
            &mut line,
            &mut r,
            &q,
            "ResponseComplete",
            now - q.latency,
            now,
            &id,
        );
        events += 1;
        requests += 1;
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    Ok((events, requests))
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
