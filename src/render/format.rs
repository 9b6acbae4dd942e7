//! Render: number formatting shared by the renderers.

/// `1234567` → `1,234,567`.
pub(crate) fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A figure with the digits its size deserves: whole above 100, one decimal above 1, else three.
pub(crate) fn fnum(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// Whether every time a human format prints carries its date ([`Summary::spans_days`]).
///
/// [`Summary::spans_days`]: crate::model::report::Summary::spans_days
pub(crate) fn multi_day(r: &crate::model::report::Report) -> bool {
    r.summary.spans_days()
}

/// An RFC 3339 time as `HH:MM`, or `YYYY-MM-DD HH:MM` when `dated`.
pub(crate) fn when(t: &str, dated: bool) -> String {
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) if dated => format!("{d} {hm}"),
        (_, Some(hm)) => hm.to_owned(),
        _ => t.to_owned(),
    }
}

/// A span of two RFC 3339 times: `10:00–10:19`, `2024-05-02 10:00–10:19` when `dated`, and
/// both dates when it crosses midnight.
pub(crate) fn span(from: &str, to: &str, dated: bool) -> String {
    if dated && from.get(..10) != to.get(..10) {
        format!("{} → {}", when(from, true), when(to, true))
    } else {
        format!("{}–{}", when(from, dated), when(to, false))
    }
}

/// Minutes as a duration: `45 min`, `2 h`, `7 h 30 min`.
pub(crate) fn minutes(m: u64) -> String {
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The health line's dips: `(first 2024-05-01T10:00:00Z, last …; 1 separate dip(s))` (RFC
/// 3339, as the line always gave its first minute, so dated on any window); `esc` escapes.
pub(crate) fn below_span(h: &crate::model::health::Health, esc: &dyn Fn(&str) -> String) -> String {
    match (h.below_threshold.first(), h.below_threshold.last()) {
        (Some(f), Some(l)) => format!(
            " (first {}, last {}; {} separate dip(s))",
            esc(f),
            esc(l),
            h.dips
        ),
        _ => String::new(),
    }
}

/// The sizing verdict's caveat for minutes with APF rejections.
pub(crate) fn rejection_note(z: &crate::model::health::Sizing, dated: bool) -> String {
    match (
        z.apf_rejected_minutes.first(),
        z.apf_rejected_minutes.last(),
    ) {
        (Some(f), Some(l)) if z.apf_rejected_minute_count > 0 => format!(
            " — not judged to fit the {} minute(s) with APF rejections ({} request(s) rejected, {}): demand there was above capacity",
            z.apf_rejected_minute_count,
            num(z.apf_rejected_requests),
            span(&f.minute, &l.minute, dated)
        ),
        _ => String::new(),
    }
}

/// The time axis of the clients' sparklines, one line per distinct (start, length) among
/// `series` (at most 3): `2024-05-01 00:00 → 2024-05-02 23:59, one cell = 2 h`.
pub(crate) fn sparkline_axes<'a>(
    series: impl Iterator<Item = &'a crate::model::report::Series>,
    cells: usize,
    dated: bool,
) -> Vec<String> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for s in series {
        if let Some(start) = &s.start
            && !s.omitted
            && !s.counts.is_empty()
            && !seen.iter().any(|(x, n)| x == start && *n == s.counts.len())
        {
            seen.push((start.clone(), s.counts.len()));
        }
    }
    seen.iter()
        .take(3)
        .map(|(start, n)| {
            let per = n.div_ceil(cells.max(1)) as u64;
            let end = crate::timefmt::parse_rfc3339(start).map_or_else(
                || start.clone(),
                |t| {
                    crate::timefmt::format_minute(
                        t.div_euclid(crate::timefmt::MINUTE_US) + *n as i64 - 1,
                    )
                },
            );
            format!(
                "{}, one cell = {} (its busiest minute)",
                span(start, &end, dated),
                minutes(per)
            )
        })
        .collect()
}
