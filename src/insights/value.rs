//! Insights: the values a query computes with — how JSON fields, parsed strings and numbers
//! compare, convert and print, following the Logs Insights documentation (natural sort order;
//! numeric strings take part in arithmetic; `@timestamp` printed `YYYY-MM-DD HH:MM:SS.mmm`).

use std::cmp::Ordering;

/// A field's value. A missing field is [`Value::Null`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Missing, or JSON null, or the result of an operation on a missing value.
    Null,
    /// A number.
    Num(f64),
    /// A string (JSON string, parsed text).
    Str(String),
    /// A boolean (comparisons, JSON booleans).
    Bool(bool),
    /// A point in time, epoch ms (`@timestamp`, `bin()`).
    Time(i64),
}

impl Value {
    /// As a number: numbers, numeric strings, times (epoch ms).
    #[must_use]
    pub fn num(&self) -> Option<f64> {
        match self {
            Self::Num(n) => Some(*n),
            Self::Time(t) => Some(*t as f64),
            Self::Str(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Self::Bool(_) | Self::Null => None,
        }
    }

    /// Whether the value is present (not null).
    #[must_use]
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Null)
    }

    /// Truth for filters: only `true` passes.
    #[must_use]
    pub fn truthy(&self) -> bool {
        matches!(self, Self::Bool(true))
    }

    /// The text form, as GetQueryResults returns it; `None` for null.
    #[must_use]
    pub fn text(&self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::Num(n) => Some(format_number(*n)),
            Self::Str(s) => Some(s.clone()),
            Self::Bool(b) => Some(b.to_string()),
            Self::Time(t) => Some(format_time(*t)),
        }
    }
}

/// Integers print without a fraction; others with at most 6 decimals, trailing zeros cut.
#[must_use]
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{n:.0}");
    }
    let s = format!("{n:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Epoch ms → `2024-05-01 10:00:00.000` (UTC), the form AWS returns for `@timestamp`.
#[must_use]
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    )
}

/// Reads a `@timestamp` as AWS returns it (`2024-05-01 10:00:00.000`) or as moto does (epoch ms).
#[must_use]
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
        .or_else(|| crate::timefmt::parse_rfc3339(s).map(|us| us.div_euclid(1000)))
}

/// Equality: numerically when both sides are numbers (or one is a number and the other a
/// numeric string), else as text. Null equals nothing.
#[must_use]
pub fn equals(a: &Value, b: &Value) -> Option<bool> {
    if !a.is_present() || !b.is_present() {
        return None;
    }
    let numeric =
        matches!(a, Value::Num(_) | Value::Time(_)) || matches!(b, Value::Num(_) | Value::Time(_));
    if numeric && let (Some(x), Some(y)) = (a.num(), b.num()) {
        return Some(x == y);
    }
    Some(a.text() == b.text())
}

/// Ordering for `<`, `>`: numeric when both convert, else text; null compares with nothing.
#[must_use]
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if !a.is_present() || !b.is_present() {
        return None;
    }
    match (a.num(), b.num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(a.text().cmp(&b.text())),
    }
}

/// The `sort` order (ascending): nulls, then non-numbers in natural order (digit runs compared
/// by length, then value), then numbers by value — the documented Logs Insights order.
#[must_use]
pub fn sort_order(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Num(_) | Value::Time(_) => 2,
            Value::Str(s) if s.trim().parse::<f64>().is_ok() => 2,
            _ => 1,
        }
    }
    match rank(a).cmp(&rank(b)) {
        Ordering::Equal => {}
        o => return o,
    }
    match (a.num(), b.num()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => natural(&a.text().unwrap_or_default(), &b.text().unwrap_or_default()),
    }
}

/// Natural order: runs of digits compare by length then value, other characters by code point.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                match n.cmp(&m).then_with(|| x[..n].cmp(&y[..m])) {
                    Ordering::Equal => (x, y) = (&x[n..], &y[m..]),
                    o => return o,
                }
            }
            (Some(c), Some(d)) => match c.cmp(d) {
                Ordering::Equal => (x, y) = (&x[1..], &y[1..]),
                o => return o,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_sort_order() {
        // The example of the Logs Insights `sort` documentation, ascending.
        let want = [
            "!:",
            "#",
            "*%04",
            "0#",
            "5A",
            "111A",
            "2345_",
            "@",
            "@_",
            "A",
            "A9876fghj",
            "a12345hfh",
            "0",
            "01",
            "1",
            "2",
            "3",
        ];
        let mut got: Vec<Value> = want.iter().rev().map(|s| Value::Str((*s).into())).collect();
        got.sort_by(sort_order);
        let got: Vec<String> = got.iter().map(|v| v.text().unwrap()).collect();
        // "01" and "1" are equal numbers; a stable sort keeps their (reversed) input order.
        assert_eq!(&got[..13], &want[..13]);
        assert_eq!(&got[15..], &want[15..]);
    }

    #[test]
    fn times_both_forms() {
        assert_eq!(parse_time("1714557600123"), Some(1_714_557_600_123));
        assert_eq!(
            parse_time("2024-05-01 10:00:00.123"),
            Some(1_714_557_600_123)
        );
        assert_eq!(format_time(1_714_557_600_123), "2024-05-01 10:00:00.123");
    }

    #[test]
    fn numbers_print_plainly() {
        assert_eq!(format_number(42.0), "42");
        assert_eq!(format_number(1.081_000_000_1), "1.081");
        assert_eq!(
            equals(&Value::Num(200.0), &Value::Str("200".into())),
            Some(true)
        );
        assert_eq!(equals(&Value::Null, &Value::Null), None);
    }
}
