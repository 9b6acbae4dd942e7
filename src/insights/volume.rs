//! Insights: the window's log volume per hour of CloudWatch time, from one `log-volume` query
//! with `bin(1h)` over the whole window. It sizes the window for `--dry-run` and `--engine auto`
//! (a burst anywhere in the window is counted, unlike samples), and it is the weight the
//! executor cuts sub-windows by: a template's rows per record, learnt from an answer, times the
//! records of a candidate sub-window estimates that sub-window's rows before it runs.

use std::collections::BTreeMap;

use super::merge::sum_by;
use super::output::ResultSet;

/// CloudWatch's per-event overhead in ingested bytes, on top of the message.
pub const EVENT_OVERHEAD: f64 = 26.0;
/// The profile's bin: `bin(1h)`.
pub const BIN_MS: i64 = 3_600_000;

/// Records and bytes of one hour of the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Start of the bin's part inside the window, epoch ms (inclusive).
    pub start_ms: i64,
    /// End, epoch ms (exclusive).
    pub end_ms: i64,
    /// Log events.
    pub records: f64,
    /// Ingested bytes: messages plus [`EVENT_OVERHEAD`] per event.
    pub bytes: f64,
}

/// The window's volume, hour by hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    /// Hours with records, in time order, clipped to the window.
    pub bins: Vec<Bin>,
}

/// Parses a `bin()` value: `YYYY-MM-DD HH:MM:SS.mmm` (the service and the local evaluator) or
/// epoch ms (emulators).
fn bin_start(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    crate::timefmt::parse_rfc3339(&format!("{}Z", text.replacen(' ', "T", 1)))
        .map(|us| us.div_euclid(1000))
}

impl Volume {
    /// The profile from `log-volume` rows (`time_bin`, `audit_stage`, `records`, `bytes`; every
    /// stage of a bin added) of `[start_ms, end_ms)`.
    ///
    /// # Errors
    /// Rows without the template's columns (an emulator that ignores `stats`), or a bin that is
    /// not a time.
    pub fn from_rows(sets: &[&ResultSet], start_ms: i64, end_ms: i64) -> Result<Self, String> {
        let sums = sum_by(sets, &["time_bin"], &["records", "bytes"])
            .map_err(|e| super::merge::raw_records_error("log-volume", &e))?;
        let mut hours: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        for (k, v) in &sums {
            let at = bin_start(&k[0])
                .ok_or_else(|| format!("log-volume: time_bin '{}' is not a time", k[0]))?;
            let e = hours.entry(at.div_euclid(BIN_MS) * BIN_MS).or_default();
            e.0 += v[0];
            e.1 += v[1];
        }
        let bins = hours
            .into_iter()
            .map(|(at, (records, bytes))| Bin {
                start_ms: at.max(start_ms),
                end_ms: (at + BIN_MS).min(end_ms).max(at.max(start_ms) + 1),
                records,
                bytes: bytes + records * EVENT_OVERHEAD,
            })
            .collect();
        Ok(Self { bins })
    }

    /// Events in the window.
    #[must_use]
    pub fn records(&self) -> f64 {
        self.bins.iter().map(|b| b.records).sum()
    }

    /// Ingested bytes in the window.
    #[must_use]
    pub fn bytes(&self) -> f64 {
        self.bins.iter().map(|b| b.bytes).sum()
    }

    /// The bytes of the busiest hour.
    #[must_use]
    pub fn busiest_hour_bytes(&self) -> f64 {
        self.bins.iter().map(|b| b.bytes).fold(0.0, f64::max)
    }

    /// Records and bytes in `[start_ms, end_ms)`, each hour's spread evenly over it.
    #[must_use]
    pub fn between(&self, start_ms: i64, end_ms: i64) -> (f64, f64) {
        let first = self.bins.partition_point(|b| b.end_ms <= start_ms);
        let mut out = (0.0, 0.0);
        for b in self.bins[first..]
            .iter()
            .take_while(|b| b.start_ms < end_ms)
        {
            let overlap = end_ms.min(b.end_ms) - start_ms.max(b.start_ms);
            if overlap > 0 {
                let share = overlap as f64 / (b.end_ms - b.start_ms) as f64;
                out.0 += b.records * share;
                out.1 += b.bytes * share;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(rows: &[(&str, &str, &str, &str)]) -> ResultSet {
        ResultSet {
            columns: ["time_bin", "audit_stage", "records", "bytes"]
                .map(String::from)
                .to_vec(),
            rows: rows
                .iter()
                .map(|(t, s, r, b)| [t, s, r, b].map(|v| Some((*v).to_owned())).to_vec())
                .collect(),
        }
    }

    #[test]
    fn hours_add_their_stages_and_clip_to_the_window() {
        let h10 = crate::timefmt::parse_rfc3339("2024-05-01T10:00:00Z").unwrap() / 1000;
        let rs = rows(&[
            ("2024-05-01 10:00:00.000", "ResponseComplete", "100", "1000"),
            ("2024-05-01 10:00:00.000", "RequestReceived", "50", "400"),
            ("2024-05-01 12:00:00.000", "ResponseComplete", "10", "100"),
        ]);
        // The window starts half way through 10:00.
        let start = h10 + BIN_MS / 2;
        let v = Volume::from_rows(&[&rs], start, h10 + 3 * BIN_MS).unwrap();
        assert_eq!(v.bins.len(), 2);
        assert_eq!(v.bins[0].start_ms, start);
        assert_eq!(v.records(), 160.0);
        assert_eq!(v.bytes(), 1500.0 + 160.0 * EVENT_OVERHEAD);
        // A quarter of the first (half-hour) bin, and all of the empty 11:00.
        let (r, _) = v.between(start, start + BIN_MS / 8);
        assert!((r - 37.5).abs() < 1e-9, "{r}");
        assert_eq!(v.between(h10 + BIN_MS, h10 + 2 * BIN_MS).0, 0.0);
        assert_eq!(v.between(start, h10 + 3 * BIN_MS).0, 160.0);
        assert_eq!(v.busiest_hour_bytes(), 1400.0 + 150.0 * EVENT_OVERHEAD);
    }

    #[test]
    fn epoch_bins_and_raw_records() {
        let rs = rows(&[("7200000", "", "3", "30")]);
        let v = Volume::from_rows(&[&rs], 0, 3 * BIN_MS).unwrap();
        assert_eq!(v.bins[0].start_ms, 2 * BIN_MS);
        let raw = ResultSet {
            columns: vec!["@message".into()],
            rows: vec![vec![Some("x".into())]],
        };
        assert!(Volume::from_rows(&[&raw], 0, 1).is_err());
    }
}
