//! Model: the request-rate limits client libraries ship with, and how many of a client's minutes
//! sit at or above each: `clients[].limit_minutes`, which both report builders fill and rule
//! AS302 (`client-side-throttling`) judges.

/// Known client limits, requests per second.
pub const LIMITS: [(f64, &str); 3] = [
    (5.0, "client-go default QPS 5"),
    (20.0, "controller-runtime default QPS 20"),
    (50.0, "kubelet kube-api-qps 50"),
];

/// For each of [`LIMITS`]: (minutes at 90–102% of it, minutes above 110% of it), from a
/// client's requests per minute (minutes without requests never count). The report computes it
/// for every client, so clients whose series the report omits are judged too.
#[must_use]
pub fn limit_minutes(per_minute: impl IntoIterator<Item = u64>) -> [(u64, u64); 3] {
    let mut out = [(0, 0); 3];
    for n in per_minute {
        let n = n as f64;
        for ((flat, above), (qps, _)) in out.iter_mut().zip(LIMITS) {
            let cap = qps * 60.0;
            *flat += u64::from(n >= 0.9 * cap && n <= 1.02 * cap);
            *above += u64::from(n > 1.1 * cap);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_flat_at_or_above_each_limit() {
        // 5 QPS is 300 a minute: flat from 270 to 306, above past 330.
        let got = limit_minutes([269, 271, 300, 305, 308, 329, 331, 1_200, 3_000]);
        // 1,200 is 20 QPS exactly (flat there, above 5 QPS); 3,000 is 50 QPS (above 20 too).
        assert_eq!(got, [(3, 3), (1, 1), (1, 0)]);
    }
}
