//! Time helpers shared by decode, CLI and report: RFC 3339 parsing on the hot path (a fixed-format
//! fast path with a chrono fallback), relative durations for `--since 7d`, and RFC 3339 output.

use std::cell::Cell;

use chrono::{DateTime, SecondsFormat, Utc};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// Microseconds in one minute.
pub const MINUTE_US: Micros = 60_000_000;

/// Parses an RFC 3339 timestamp to microseconds. The apiserver always writes
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`; that shape is parsed by hand because chrono costs more per event
/// than the rest of the decode. Anything else (offsets, fewer digits) goes through chrono.
#[must_use]
pub fn parse_rfc3339(s: &str) -> Option<Micros> {
    fast_utc(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc).timestamp_micros())
    })
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Two ASCII digits as a number.
fn two(tens: u8, ones: u8) -> Option<i64> {
    let (t, o) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    (t < 10 && o < 10).then(|| i64::from(t * 10 + o))
}

fn fast_utc(b: &[u8]) -> Option<Micros> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let days = day_number(b[..10].try_into().ok()?)?;
    let (h, mi, s) = (two(b[11], b[12])?, two(b[14], b[15])?, two(b[17], b[18])?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let frac = &b[19..b.len() - 1];
    let micros = match frac {
        [] => 0,
        // The apiserver's own form: microseconds as they are, no scaling.
        [b'.', rest @ ..] if rest.len() == 6 => digits(rest)?,
        [b'.', rest @ ..] if !rest.is_empty() && rest.len() <= 9 => {
            let v = digits(rest)?;
            let scale = 10i64.pow(u32::try_from(rest.len()).ok()?);
            v * 1_000_000 / scale
        }
        _ => return None,
    };
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + micros)
}

thread_local! {
    /// The last date [`day_number`] read and its day: a log's timestamps share their date for
    /// hours, and the date's digits, checks and calendar arithmetic were a fifth of the decode's
    /// time spent on timestamps.
    static LAST_DATE: Cell<([u8; 10], i64)> = const { Cell::new(([0; 10], 0)) };
}

/// `YYYY-MM-DD` → days since 1970-01-01, or `None` for a date that does not exist.
fn day_number(date: [u8; 10]) -> Option<i64> {
    let (last, days) = LAST_DATE.get();
    if last == date {
        return Some(days);
    }
    let (y, mo, d) = (
        digits(&date[0..4])?,
        digits(&date[5..7])?,
        digits(&date[8..10])?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // Only a valid date is remembered (the zeros it starts with are not one).
    LAST_DATE.set((date, days));
    Some(days)
}

/// Days in month `m` (1-12) of year `y`, proleptic Gregorian: a day past the month's end is
/// an error, not a day of the next month.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-from-civil: days since 1970-01-01 in the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats microseconds as RFC 3339 UTC (`2023-06-12T13:20:01.123456Z`, trailing zeros trimmed
/// to whole seconds when there is no fraction).
#[must_use]
pub fn format_rfc3339(us: Micros) -> String {
    DateTime::<Utc>::from_timestamp_micros(us).map_or_else(
        || us.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

/// Formats an epoch minute as `2023-06-12T13:20Z`-style RFC 3339 (seconds included for parsers).
#[must_use]
pub fn format_minute(minute: i64) -> String {
    format_rfc3339(minute * MINUTE_US)
}

/// Parses a Go `time.Duration` string (`1.5s`, `523.4ms`, `12µs`, `1m2.5s`, `850ns`) to µs.
#[must_use]
pub fn parse_go_duration(s: &str) -> Option<Micros> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let (unit, len) = [
            ("ns", 1e-3),
            ("us", 1.0),
            ("µs", 1.0),
            ("ms", 1e3),
            ("s", 1e6),
            ("m", 6e7),
            ("h", 3.6e9),
        ]
        .iter()
        .filter(|(u, _)| rest.starts_with(u))
        .map(|(u, m)| (*m, u.len()))
        .max_by_key(|(_, l)| *l)?;
        total += n * unit;
        rest = &rest[len..];
    }
    Some(total.round() as Micros)
}

/// A duration that cannot be read, quoting it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// A letter that is no unit.
    #[error("unknown unit '{unit}' in '{value}'; use s, m, h, d or w, e.g. 7d")]
    UnknownUnit {
        /// The value as given.
        value: String,
        /// The letter.
        unit: char,
    },
    /// A unit with no number before it.
    #[error("'{value}' needs a number before '{unit}', e.g. 7d")]
    NoNumber {
        /// The value as given.
        value: String,
        /// The unit.
        unit: char,
    },
    /// A number with no unit after it, or nothing at all.
    #[error("'{value}' needs a unit (s, m, h, d, w), e.g. 90m")]
    NoUnit {
        /// The value as given.
        value: String,
    },
}

/// A `--since`/`--until` value that is neither a time nor a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time '{value}': {source}; or give an RFC 3339 time like 2024-05-01T12:00:00Z")]
pub struct TimeArgError {
    /// The value as given.
    pub value: String,
    /// Why it is not a duration.
    #[source]
    pub source: DurationError,
}

/// Parses a relative duration such as `7d`, `90m`, `36h`, `45s`, `2w`, or a combination like
/// `1h30m`. Returns microseconds.
///
/// # Errors
/// Why the value is not a duration, quoting it.
pub fn parse_duration(s: &str) -> Result<Micros, DurationError> {
    let mut total: Micros = 0;
    let mut num = String::new();
    let mut seen_unit = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit: Micros = match c {
            's' => 1_000_000,
            'm' => MINUTE_US,
            'h' => 60 * MINUTE_US,
            'd' => 24 * 60 * MINUTE_US,
            'w' => 7 * 24 * 60 * MINUTE_US,
            _ => {
                return Err(DurationError::UnknownUnit {
                    value: s.to_owned(),
                    unit: c,
                });
            }
        };
        let n: Micros = num.parse().map_err(|_| DurationError::NoNumber {
            value: s.to_owned(),
            unit: c,
        })?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
        seen_unit = true;
    }
    if !num.is_empty() || !seen_unit {
        return Err(DurationError::NoUnit {
            value: s.to_owned(),
        });
    }
    Ok(total)
}

/// Parses a `--since`/`--until` value: a relative duration counted back from `now`, or an
/// absolute RFC 3339 time (a bare date `2024-05-01` means its midnight UTC).
///
/// # Errors
/// The value, quoted, and both accepted forms.
pub fn parse_time_arg(s: &str, now: Micros) -> Result<Micros, TimeArgError> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if s.len() == 10
        && let Some(t) = parse_rfc3339(&format!("{s}T00:00:00Z"))
    {
        return Ok(t);
    }
    parse_duration(s)
        .map(|d| now - d)
        .map_err(|source| TimeArgError {
            value: s.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_matches_chrono() {
        for s in [
            "2023-06-12T13:20:01.123456Z",
            "2017-09-11T19:55:05Z",
            "2024-02-29T23:59:59.9Z",
            "1999-12-31T00:00:00.000000001Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
            assert_eq!(fast_utc(s.as_bytes()), Some(slow), "{s}");
        }
    }

    #[test]
    fn the_apiservers_form_agrees_with_chrono_across_every_field() {
        let mut rng = crate::synth::rng::Rng::new(7);
        let mut next = |n: u64| rng.below(n);
        for _ in 0..5000 {
            let (y, mo) = (1970 + next(130), 1 + next(12));
            let (d, h, mi, s) = (1 + next(28), next(24), next(60), next(60));
            let t = format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
                next(1_000_000)
            );
            let slow = DateTime::parse_from_rfc3339(&t).unwrap().timestamp_micros();
            assert_eq!(parse_rfc3339(&t), Some(slow), "{t}");
        }
        for bad in [
            "2024-01-01T1a:00:00.000000Z",
            "2024-01-01T00:0/:00.000000Z",
            "2024-01-01T00:00:00.00000aZ",
            "2024-01-01T00:00:6:.000000Z",
        ] {
            assert_eq!(fast_utc(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn a_remembered_date_gives_the_same_times_as_chrono() {
        // Runs of one date, then another, then back (hits and misses of the last-date cache),
        // and a bad date right after a good one.
        let times = [
            "2024-02-28T23:59:59.999999Z",
            "2024-02-28T00:00:00Z",
            "2024-02-29T10:00:00.5Z",
            "2024-02-29T10:00:01.5Z",
            "2024-02-28T12:00:00Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T10:00:02Z",
        ];
        for s in times {
            let slow = DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
            assert_eq!(parse_rfc3339(s), Some(slow), "{s}");
        }
        assert_eq!(parse_rfc3339("2023-02-28T00:00:00Z").map(|_| ()), Some(()));
        assert_eq!(fast_utc(b"2023-02-29T00:00:00Z"), None);
        assert_eq!(fast_utc(b"2023-02-28T24:00:00Z"), None);
    }

    #[test]
    fn days_past_the_month_end_are_errors() {
        for s in [
            "2024-02-31T00:00:00Z",
            "2024-02-30T00:00:00.5Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-04-31T12:00:00Z",
            "2024-06-31T12:00:00Z",
            "2024-09-31T12:00:00Z",
            "2024-11-31T12:00:00Z",
            "2024-01-00T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
        // The last day of each month still parses, and agrees with chrono.
        for s in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2023-02-28T00:00:00Z",
            "2024-04-30T12:00:00Z",
            "2024-12-31T23:59:59Z",
            "2024-01-31T00:00:00Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
            assert_eq!(fast_utc(s.as_bytes()), Some(slow), "{s}");
        }
    }

    #[test]
    fn offsets_use_the_fallback() {
        let a = parse_rfc3339("2023-06-12T15:20:01+02:00").unwrap();
        let b = parse_rfc3339("2023-06-12T13:20:01Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(parse_rfc3339("not a time"), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000));
        assert_eq!(parse_go_duration("523.4ms"), Some(523_400));
        assert_eq!(parse_go_duration("12µs"), Some(12));
        assert_eq!(parse_go_duration("1m2.5s"), Some(62_500_000));
        assert_eq!(parse_go_duration("850ns"), Some(1));
        assert_eq!(parse_go_duration("fast"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), 7 * 86_400_000_000);
        assert_eq!(parse_duration("90m").unwrap(), 90 * MINUTE_US);
        assert_eq!(parse_duration("1h30m").unwrap(), 90 * MINUTE_US);
        let no_unit = |v: &str| DurationError::NoUnit {
            value: v.to_owned(),
        };
        assert_eq!(parse_duration("7"), Err(no_unit("7")));
        assert_eq!(
            parse_duration("7x"),
            Err(DurationError::UnknownUnit {
                value: "7x".into(),
                unit: 'x'
            })
        );
        assert_eq!(
            parse_duration("h"),
            Err(DurationError::NoNumber {
                value: "h".into(),
                unit: 'h'
            })
        );
        assert_eq!(parse_duration(""), Err(no_unit("")));
    }

    #[test]
    fn time_args() {
        let now = parse_rfc3339("2024-05-08T00:00:00Z").unwrap();
        assert_eq!(
            parse_time_arg("7d", now).unwrap(),
            parse_rfc3339("2024-05-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time_arg("2024-05-01", now).unwrap(),
            parse_rfc3339("2024-05-01T00:00:00Z").unwrap()
        );
        let e = parse_time_arg("yesterday", now).unwrap_err();
        assert_eq!(e.value, "yesterday");
        assert_eq!(
            e.to_string(),
            "invalid time 'yesterday': unknown unit 'y' in 'yesterday'; use s, m, h, d or w, e.g. 7d; or give an RFC 3339 time like 2024-05-01T12:00:00Z"
        );
    }
}
