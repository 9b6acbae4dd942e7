//! Insights: merging the results of one template run over several sub-windows. A long window is
//! cut into sub-windows so no query reaches the result-row cap; their rows merge here: counts
//! add, and percentiles come from log-spaced histogram bins counted server-side
//! (`list-latency-histogram`), whose counts also add — percentiles cannot be averaged.
//!
//! Bin `b` holds latencies `L` with `L + 0.001 ms` in `[1.1^b, 1.1^(b+1))`; a percentile is read
//! off the merged bins by nearest rank and reported as the bin's geometric middle, within 4.9% of
//! a value whose rank is the requested one (the bin's half-width, √1.1 − 1 ≈ 4.88%). Coarse bins
//! keep the rows of a long window few: a LIST's latencies from 1 ms to 60 s fill at most 116.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use super::local::nearest_rank;
use super::output::ResultSet;

/// Growth factor between two histogram bins.
pub const BIN_BASE: f64 = 1.1;

/// The rows a GetQueryResults page can hold; a result this long may be cut.
pub const ROW_CAP: usize = 10_000;

/// Cuts `[start, end)` into `parts` half-open sub-windows of (near) equal length.
#[must_use]
pub fn split(start_ms: i64, end_ms: i64, parts: usize) -> Vec<(i64, i64)> {
    let parts = i64::try_from(parts.max(1))
        .unwrap_or(1)
        .min((end_ms - start_ms).max(1));
    let span = end_ms - start_ms;
    (0..parts)
        .map(|i| {
            (
                start_ms + span * i / parts,
                start_ms + span * (i + 1) / parts,
            )
        })
        .collect()
}

/// Whether a result may be cut: it has as many rows as the query's limit (or the service cap),
/// so its sub-window must be split again.
#[must_use]
pub fn capped(rs: &ResultSet, limit: usize) -> bool {
    rs.rows.len() >= limit.min(ROW_CAP)
}

/// The service leaves a null field out of its row, so a column null in every row of a
/// sub-window is absent from the whole answer (API_GetQueryResults): an absent column is null.
fn column(rs: &ResultSet, name: &str) -> Option<usize> {
    rs.columns.iter().position(|c| c == name)
}

/// A column that is never null when the query ran as written: a `count(*)` (zero is a value).
/// Its absence means the rows are not the template's aggregates at all.
fn required(rs: &ResultSet, name: &str) -> Result<usize, String> {
    column(rs, name).ok_or_else(|| raw_records_detail(name, &rs.columns))
}

fn raw_records_detail(name: &str, columns: &[String]) -> String {
    format!(
        "the result has no column '{name}' (columns: {})",
        columns.join(", ")
    )
}

/// The one-line error for an answer of raw records where a template's aggregates were
/// expected (an emulator that ignores `stats`): shared by the engine and `queries run`.
#[must_use]
pub fn raw_records_error(what: &str, detail: &str) -> String {
    format!(
        "{what}: {detail}: the service returned raw records, not the template's aggregates (an emulator that ignores stats?); use --engine download"
    )
}

/// Whether `rs` holds raw records rather than the aggregates named `aggregates` (the output
/// names of the query's `stats`): rows, and not one of those columns. `None` when it is fine.
#[must_use]
pub fn raw_records(rs: &ResultSet, aggregates: &[String]) -> Option<String> {
    let fine = rs.rows.is_empty()
        || aggregates.is_empty()
        || aggregates.iter().any(|a| column(rs, a).is_some());
    (!fine).then(|| raw_records_detail(&aggregates[0], &rs.columns))
}

fn key(row: &[Option<String>], cols: &[Option<usize>]) -> Vec<String> {
    cols.iter()
        .map(|i| i.and_then(|i| row[i].clone()).unwrap_or_default())
        .collect()
}

/// Sums `sum_cols` of every result per value of `key_cols`. A missing key value is `""` and a
/// missing summed value 0, whether the row or the whole answer lacks the column; the first of
/// `sum_cols` must be a `count(*)`, which the service never leaves out.
///
/// # Errors
/// A result without the first of `sum_cols` (raw records), or a summed value that is not a
/// number.
pub fn sum_by<S: Borrow<ResultSet>>(
    sets: &[S],
    key_cols: &[&str],
    sum_cols: &[&str],
) -> Result<BTreeMap<Vec<String>, Vec<f64>>, String> {
    let mut out: BTreeMap<Vec<String>, Vec<f64>> = BTreeMap::new();
    // An empty result has no columns at all (nothing matched in that sub-window).
    for rs in sets
        .iter()
        .map(Borrow::borrow)
        .filter(|rs| !rs.rows.is_empty())
    {
        if let Some(first) = sum_cols.first() {
            required(rs, first)?;
        }
        let keys: Vec<Option<usize>> = key_cols.iter().map(|c| column(rs, c)).collect();
        let sums: Vec<Option<usize>> = sum_cols.iter().map(|c| column(rs, c)).collect();
        for row in &rs.rows {
            let acc = out
                .entry(key(row, &keys))
                .or_insert_with(|| vec![0.0; sums.len()]);
            for (a, i) in acc.iter_mut().zip(&sums) {
                let Some(v) = i.and_then(|i| row[i].as_deref()) else {
                    continue;
                };
                *a += v.parse::<f64>().map_err(|_| {
                    format!(
                        "'{}' is not a number: '{v}'",
                        i.map_or("", |i| &rs.columns[i])
                    )
                })?;
            }
        }
    }
    Ok(out)
}

/// A merged latency histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Requests per bin.
    pub bins: BTreeMap<i64, u64>,
    /// Requests without a latency (no bin).
    pub unbinned: u64,
}

impl Histogram {
    /// Requests with a latency.
    #[must_use]
    pub fn samples(&self) -> u64 {
        self.bins.values().sum()
    }

    /// The `p` percentile (0–100) in ms by nearest rank over the bins: the bin's geometric
    /// middle.
    #[must_use]
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = usize::try_from(self.samples()).ok().filter(|&n| n > 0)?;
        let rank = nearest_rank(p, n) as u64;
        let mut seen = 0;
        for (&b, &c) in &self.bins {
            seen += c;
            if seen > rank {
                return Some((BIN_BASE.powf(b as f64 + 0.5) - 0.001).max(0.0));
            }
        }
        None
    }
}

/// Merges `bucket`/`count_col` rows of every result into one histogram per `key_cols`.
///
/// A missing bucket (in the row or the whole answer) counts as unbinned.
///
/// # Errors
/// A result without `count_col` (raw records), or a non-numeric bucket or count.
pub fn histograms<S: Borrow<ResultSet>>(
    sets: &[S],
    key_cols: &[&str],
    bucket_col: &str,
    count_col: &str,
) -> Result<BTreeMap<Vec<String>, Histogram>, String> {
    let mut out: BTreeMap<Vec<String>, Histogram> = BTreeMap::new();
    for rs in sets
        .iter()
        .map(Borrow::borrow)
        .filter(|rs| !rs.rows.is_empty())
    {
        let keys: Vec<Option<usize>> = key_cols.iter().map(|c| column(rs, c)).collect();
        let (b, c) = (column(rs, bucket_col), required(rs, count_col)?);
        for row in &rs.rows {
            let count_text = row[c].as_deref().unwrap_or("0");
            let count = count_text
                .parse::<u64>()
                .map_err(|_| format!("'{count_col}' is not a count: '{count_text}'"))?;
            let h = out.entry(key(row, &keys)).or_default();
            // The template writes "" for a request without a latency.
            match b.and_then(|b| row[b].as_deref()).filter(|t| !t.is_empty()) {
                None => h.unbinned += count,
                Some(t) => {
                    let bin = t
                        .parse::<f64>()
                        .map_err(|_| format!("'{bucket_col}' is not a bin: '{t}'"))?;
                    *h.bins.entry(bin as i64).or_default() += count;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::output::result_set;

    /// Rows as GetQueryResults returns them: lists of field/value pairs, `@ptr` included.
    fn page(rows: &[&[(&str, &str)]]) -> ResultSet {
        let rows: Vec<Vec<(String, String)>> = rows
            .iter()
            .map(|r| {
                let mut v = vec![("@ptr".to_owned(), "CmAKJgoi".to_owned())];
                v.extend(r.iter().map(|(f, x)| ((*f).to_owned(), (*x).to_owned())));
                v
            })
            .collect();
        result_set(&rows)
    }

    #[test]
    fn sub_windows_are_half_open_and_cover_the_window() {
        let w = split(1_000, 11_001, 4);
        assert_eq!(w.first().unwrap().0, 1_000);
        assert_eq!(w.last().unwrap().1, 11_001);
        assert!(w.windows(2).all(|p| p[0].1 == p[1].0));
        assert_eq!(split(0, 2, 10).len(), 2);
    }

    #[test]
    fn counts_add_and_bins_merge() {
        let a = page(&[
            &[("userAgent", "ua1"), ("bucket", "100"), ("lists", "3")],
            &[("userAgent", "ua1"), ("lists", "2")],
            &[("userAgent", "ua2"), ("bucket", "120"), ("lists", "1")],
        ]);
        let b = page(&[
            &[("userAgent", "ua1"), ("bucket", "100"), ("lists", "4")],
            &[("userAgent", "ua1"), ("bucket", "300"), ("lists", "1")],
        ]);
        let sums = sum_by(&[&a, &b], &["userAgent"], &["lists"]).unwrap();
        assert_eq!(sums[&vec!["ua1".to_owned()]], vec![10.0]);
        let h = &histograms(&[&a, &b], &["userAgent"], "bucket", "lists").unwrap()
            [&vec!["ua1".to_owned()]];
        assert_eq!(h.samples(), 8);
        assert_eq!(h.unbinned, 2);
        // 7 of 8 in bin 100: p50 and p87.5 there, p99 in bin 300.
        let mid = |b: f64| BIN_BASE.powf(b + 0.5) - 0.001;
        assert!((h.percentile(50.0).unwrap() - mid(100.0)).abs() < 1e-9);
        assert!((h.percentile(87.5).unwrap() - mid(100.0)).abs() < 1e-9);
        assert!((h.percentile(99.0).unwrap() - mid(300.0)).abs() < 1e-9);
        assert!(sum_by(&[&page(&[&[("x", "1")]])], &["userAgent"], &["lists"]).is_err());
        // A sub-window where nothing matched comes back without rows or columns.
        let empty = ResultSet::default();
        assert!(
            sum_by(&[&empty], &["userAgent"], &["lists"])
                .unwrap()
                .is_empty()
        );
        assert!(
            histograms(&[&empty], &["userAgent"], "bucket", "lists")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn absent_fields_and_whole_columns_are_null() {
        // A sub-window whose LISTs were all of core resources: no `api_group` in any row.
        let core = page(&[&[("userAgent", "ua1"), ("lists", "2")]]);
        let crd = page(&[
            &[("userAgent", "ua1"), ("api_group", "x.io"), ("lists", "1")],
            &[("userAgent", "ua1"), ("lists", "3"), ("samples", "3")],
        ]);
        let sums = sum_by(
            &[&core, &crd],
            &["userAgent", "api_group"],
            &["lists", "samples"],
        )
        .unwrap();
        let k = |g: &str| vec!["ua1".to_owned(), g.to_owned()];
        assert_eq!(sums[&k("")], vec![5.0, 3.0]);
        assert_eq!(sums[&k("x.io")], vec![1.0, 0.0]);
        let h = histograms(&[&core], &["userAgent"], "bucket", "lists").unwrap();
        assert_eq!(h[&vec!["ua1".to_owned()]].unbinned, 2);
        // Without the count column the rows are records, not aggregates.
        let raw = page(&[&[("@timestamp", "1714557600123"), ("@message", "{}")]]);
        let e = sum_by(&[&raw], &["userAgent"], &["lists"]).unwrap_err();
        assert!(e.contains("no column 'lists'"), "{e}");
        let aggs = vec!["requests".to_owned()];
        assert!(raw_records(&raw, &aggs).is_some());
        assert!(raw_records(&ResultSet::default(), &aggs).is_none());
        assert!(raw_records(&raw, &[]).is_none());
        assert!(raw_records(&page(&[&[("requests", "1")]]), &aggs).is_none());
        assert!(raw_records_error("client-qps", &e).contains("use --engine download"));
    }

    #[test]
    fn a_full_page_is_capped() {
        let rs = ResultSet {
            columns: vec!["a".into()],
            rows: vec![vec![None]; 10],
        };
        assert!(capped(&rs, 10));
        assert!(!capped(&rs, 11));
    }
}
