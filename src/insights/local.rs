//! Insights: the local evaluator — runs a parsed query over audit log lines, so templates are
//! tested and previewed without AWS. Records stream through the commands before the first
//! `stats` (memory stays flat); `stats` groups them; later commands work on the groups.
//!
//! `@timestamp` of a local line is the event's own time (requestReceivedTimestamp, else
//! stageTimestamp, else `timestamp`, else the record time an exported line starts with): a file
//! has no CloudWatch ingestion time. `pct` is exact
//! nearest rank (the ⌈p/100·n⌉-th smallest value); Logs Insights documents its `pct` as an
//! approximation, so the two may differ slightly on large groups.

use std::collections::HashSet;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::eval::{Event, Row, check, eval};
use super::lang::{Command, Expr, Named, Pattern};
use super::output::ResultSet;
use super::value::{Value, sort_order};

/// The aggregate functions `stats` knows.
pub const AGGREGATES: &[&str] = &[
    "avg",
    "count",
    "count_distinct",
    "max",
    "min",
    "pct",
    "percentile",
    "sum",
];

/// A prepared query.
#[derive(Debug)]
pub struct Query {
    commands: Vec<Command>,
}

impl Query {
    /// Parses and checks a query.
    ///
    /// # Errors
    /// Syntax errors, unknown functions, a `stats` item that is not an aggregate.
    pub fn new(text: &str) -> Result<Self, String> {
        let commands = super::lang::parse(text)?;
        for c in &commands {
            match c {
                Command::Fields(f) => f.iter().try_for_each(|n| check(&n.expr))?,
                Command::Filter(e) => check(e)?,
                Command::FilterIndex(f) => check(&f.test)?,
                Command::Sort(keys) => keys.iter().try_for_each(|(e, _)| check(e))?,
                Command::Stats(aggs, by) => {
                    by.iter().try_for_each(|n| check(&n.expr))?;
                    for a in aggs {
                        let Expr::Call(name, args) = &a.expr else {
                            return Err(format!(
                                "stats takes aggregate functions, not '{}'",
                                a.name
                            ));
                        };
                        if !AGGREGATES.contains(&name.as_str()) {
                            return Err(format!(
                                "unknown aggregate '{name}()'; the local evaluator knows {}",
                                AGGREGATES.join(", ")
                            ));
                        }
                        if matches!(name.as_str(), "pct" | "percentile")
                            && !matches!(args.get(1), Some(Expr::Num(p)) if (0.0..=100.0).contains(p))
                        {
                            return Err(format!("{}: pct(field, P) takes P from 0 to 100", a.name));
                        }
                        args.iter().try_for_each(check)?;
                    }
                }
                Command::Display(_) | Command::Parse(..) | Command::Limit(_) => {}
            }
        }
        Ok(Self { commands })
    }

    /// The columns the query answers with, in order (what it gives over no records).
    #[must_use]
    pub fn columns(&self) -> Vec<String> {
        run(self, std::iter::empty()).0.columns
    }

    /// The query's `filterIndex` commands.
    pub fn index_filters(&self) -> impl Iterator<Item = &super::lang::IndexFilter> {
        self.commands.iter().filter_map(|c| match c {
            Command::FilterIndex(f) => Some(f),
            _ => None,
        })
    }

    /// The output names of the first `stats` command's aggregates (none without `stats`).
    #[must_use]
    pub fn aggregates(&self) -> Vec<String> {
        self.commands
            .iter()
            .find_map(|c| match c {
                Command::Stats(aggs, _) => Some(aggs.iter().map(|a| a.name.clone()).collect()),
                _ => None,
            })
            .unwrap_or_default()
    }
}

/// One aggregate's running state.
#[derive(Debug, Clone)]
enum Acc {
    Count(u64),
    Distinct(HashSet<String>),
    Sum(Option<f64>),
    Avg(f64, u64),
    Min(Option<f64>),
    Max(Option<f64>),
    Pct(Vec<f64>, f64),
}

impl Acc {
    fn new(e: &Expr) -> Self {
        let Expr::Call(name, args) = e else {
            return Self::Count(0);
        };
        match name.as_str() {
            // Exact here. The service's "stats" page ("Aggregation functions in the stats
            // command") documents count_distinct as approximate at high cardinality and
            // promises no rounding for pct (docs/insights.md lists the columns they feed).
            "count_distinct" => Self::Distinct(HashSet::new()),
            "sum" => Self::Sum(None),
            "avg" => Self::Avg(0.0, 0),
            "min" => Self::Min(None),
            "max" => Self::Max(None),
            "pct" | "percentile" => Self::Pct(
                Vec::new(),
                match args.get(1) {
                    Some(Expr::Num(p)) => *p,
                    _ => 50.0,
                },
            ),
            _ => Self::Count(0),
        }
    }

    fn add(&mut self, e: &Expr, row: &Row) {
        let Expr::Call(_, args) = e else { return };
        let v = match args.first() {
            Some(Expr::Star) | None => Value::Bool(true),
            Some(a) => eval(a, row),
        };
        if !v.is_present() {
            return;
        }
        match self {
            Self::Count(n) => *n += 1,
            Self::Distinct(set) => {
                if let Some(t) = v.text() {
                    set.insert(t);
                }
            }
            _ => {
                let Some(x) = v.num() else { return };
                match self {
                    Self::Sum(s) => *s = Some(s.unwrap_or(0.0) + x),
                    Self::Avg(s, n) => (*s, *n) = (*s + x, *n + 1),
                    Self::Min(m) => *m = Some(m.map_or(x, |m| m.min(x))),
                    Self::Max(m) => *m = Some(m.map_or(x, |m| m.max(x))),
                    Self::Pct(v, _) => v.push(x),
                    Self::Count(_) | Self::Distinct(_) => {}
                }
            }
        }
    }

    fn finish(self) -> Value {
        let num = |o: Option<f64>| o.map_or(Value::Null, Value::Num);
        match self {
            Self::Count(n) => Value::Num(n as f64),
            Self::Distinct(s) => Value::Num(s.len() as f64),
            Self::Sum(s) | Self::Min(s) | Self::Max(s) => num(s),
            Self::Avg(s, n) => num((n > 0).then(|| s / n as f64)),
            Self::Pct(mut v, p) => {
                if v.is_empty() {
                    return Value::Null;
                }
                v.sort_by(f64::total_cmp);
                num(Some(v[nearest_rank(p, v.len())]))
            }
        }
    }
}

/// Index of the nearest-rank `p` percentile among `n` sorted values: the ⌈p/100·n⌉-th smallest.
#[must_use]
pub fn nearest_rank(p: f64, n: usize) -> usize {
    ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1
}

/// Groups of one `stats`.
struct Grouping<'q> {
    aggs: &'q [Named],
    by: &'q [Named],
    index: FxHashMap<Vec<Option<String>>, usize>,
    groups: Vec<(Vec<Value>, Vec<Acc>)>,
}

impl<'q> Grouping<'q> {
    fn new(aggs: &'q [Named], by: &'q [Named]) -> Self {
        Self {
            aggs,
            by,
            index: FxHashMap::default(),
            groups: Vec::new(),
        }
    }

    fn add(&mut self, row: &Row) {
        let keys: Vec<Value> = self.by.iter().map(|b| eval(&b.expr, row)).collect();
        let id: Vec<Option<String>> = keys.iter().map(Value::text).collect();
        let i = *self.index.entry(id).or_insert_with(|| {
            self.groups
                .push((keys, self.aggs.iter().map(|a| Acc::new(&a.expr)).collect()));
            self.groups.len() - 1
        });
        for (acc, a) in self.groups[i].1.iter_mut().zip(self.aggs) {
            acc.add(&a.expr, row);
        }
    }

    fn rows(self) -> Vec<Row> {
        let (aggs, by) = (self.aggs, self.by);
        self.groups
            .into_iter()
            .map(|(keys, accs)| {
                let mut row = Row::default();
                for (b, k) in by.iter().zip(keys) {
                    row.set(&b.name, k);
                }
                for (a, acc) in aggs.iter().zip(accs) {
                    row.set(&a.name, acc.finish());
                }
                row
            })
            .collect()
    }
}

/// The state of a run: the columns to show, and counters.
struct Run {
    columns: Vec<String>,
    scanned: u64,
    matched: u64,
}

impl Run {
    fn show(&mut self, name: &str) {
        if !self.columns.iter().any(|c| c == name) {
            self.columns.push(name.to_owned());
        }
    }

    /// Applies a per-record command; `None` drops the record.
    fn step(&mut self, c: &Command, mut row: Row) -> Option<Row> {
        match c {
            Command::Filter(e) => eval(e, &row).truthy().then_some(row),
            // A file has no field index: every event is looked at, and those whose field holds
            // one of the values pass, which is what the service returns from an index that
            // covers the events (CWL_QuerySyntax-FilterIndex).
            Command::FilterIndex(f) => eval(&f.test, &row).truthy().then_some(row),
            Command::Fields(fields) => {
                for f in fields {
                    let v = eval(&f.expr, &row);
                    row.set(&f.name, v);
                }
                Some(row)
            }
            Command::Parse(field, pattern) => {
                let Some(text) = eval(field, &row).text() else {
                    return Some(row);
                };
                match pattern {
                    Pattern::Regex(re) => {
                        if let Some(caps) = re.captures(&text) {
                            for name in re.capture_names().flatten() {
                                if let Some(m) = caps.name(name) {
                                    row.set(name, Value::Str(m.as_str().to_owned()));
                                }
                            }
                        }
                    }
                    Pattern::Glob(re, names) => {
                        if let Some(caps) = re.captures(&text) {
                            for (i, name) in names.iter().enumerate() {
                                if let Some(m) = caps.get(i + 1) {
                                    row.set(name, Value::Str(m.as_str().to_owned()));
                                }
                            }
                        }
                    }
                }
                Some(row)
            }
            _ => Some(row),
        }
    }

    fn note_columns(&mut self, c: &Command) {
        match c {
            Command::Fields(f) => f.iter().for_each(|n| self.show(&n.name)),
            Command::Display(d) => self.columns.clone_from(d),
            Command::Stats(aggs, by) => {
                self.columns = by.iter().chain(aggs).map(|n| n.name.clone()).collect();
            }
            _ => {}
        }
    }
}

/// Runs `query` over events. Commands up to the first `stats`, `sort` or `limit` stream.
#[must_use]
pub fn run(query: &Query, events: impl Iterator<Item = Event>) -> (ResultSet, u64, u64) {
    let cmds = &query.commands;
    let cut = cmds
        .iter()
        .position(|c| matches!(c, Command::Stats(..) | Command::Sort(_) | Command::Limit(_)))
        .unwrap_or(cmds.len());
    let mut run = Run {
        columns: Vec::new(),
        scanned: 0,
        matched: 0,
    };
    cmds[..cut].iter().for_each(|c| run.note_columns(c));
    let mut grouping = match cmds.get(cut) {
        Some(Command::Stats(aggs, by)) => Some(Grouping::new(aggs, by)),
        _ => None,
    };
    let mut rows = Vec::new();
    for ev in events {
        run.scanned += 1;
        let mut row = Some(Row {
            event: Some(Rc::new(ev)),
            fields: Vec::new(),
        });
        for c in &cmds[..cut] {
            row = row.and_then(|r| run.step(c, r));
        }
        let Some(row) = row else { continue };
        run.matched += 1;
        match &mut grouping {
            Some(g) => g.add(&row),
            None => rows.push(row),
        }
    }
    let mut rest = &cmds[cut..];
    if let Some(g) = grouping {
        run.note_columns(&rest[0]);
        rows = g.rows();
        rest = &rest[1..];
    }
    for c in rest {
        run.note_columns(c);
        rows = match c {
            Command::Stats(aggs, by) => {
                let mut g = Grouping::new(aggs, by);
                rows.iter().for_each(|r| g.add(r));
                g.rows()
            }
            Command::Sort(keys) => sort(rows, keys),
            Command::Limit(n) => {
                rows.truncate(*n);
                rows
            }
            c => rows.into_iter().filter_map(|r| run.step(c, r)).collect(),
        };
    }
    if run.columns.is_empty() {
        run.columns = vec!["@timestamp".into(), "@message".into()];
    }
    let result = ResultSet {
        rows: rows
            .iter()
            .map(|r| run.columns.iter().map(|c| r.get(c).text()).collect())
            .collect(),
        columns: run.columns,
    };
    (result, run.scanned, run.matched)
}

fn sort(mut rows: Vec<Row>, keys: &[(Expr, bool)]) -> Vec<Row> {
    let mut keyed: Vec<(Vec<Value>, Row)> = rows
        .drain(..)
        .map(|r| (keys.iter().map(|(e, _)| eval(e, &r)).collect(), r))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, desc)) in a.iter().zip(b).zip(keys) {
            let o = sort_order(x, y);
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// Reads an audit log line into an event, framed the way the scan frames it
/// ([`frame`](crate::decode::frame::frame): whitespace, a byte-order mark, the record time of an
/// exported `TIME MESSAGE` line): the message's JSON, text and event time (the record time when
/// the event has none).
#[must_use]
pub fn event_of_line(line: &str) -> Event {
    let framed = crate::decode::frame::frame(line.as_bytes());
    let message = &line[framed.start..framed.end];
    let json: serde_json::Value = serde_json::from_str(message).unwrap_or(serde_json::Value::Null);
    let timestamp = ["requestReceivedTimestamp", "stageTimestamp", "timestamp"]
        .iter()
        .find_map(|k| {
            json.get(k)?
                .as_str()
                .and_then(crate::timefmt::parse_rfc3339)
        })
        .or(framed.record_time)
        .map(|us| us.div_euclid(1000));
    Event {
        json,
        message: message.to_owned(),
        timestamp,
        log_stream: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(query: &str, lines: &[&str]) -> ResultSet {
        let query = Query::new(query).unwrap();
        run(&query, lines.iter().map(|l| event_of_line(l))).0
    }

    const LINES: &[&str] = &[
        r#"{"verb":"list","userAgent":"a","lat":1,"requestReceivedTimestamp":"2024-05-01T23:59:59.900Z","stageTimestamp":"2024-05-02T00:00:00.100Z"}"#,
        r#"{"verb":"list","userAgent":"a","lat":2,"requestReceivedTimestamp":"2024-05-01T23:59:10Z"}"#,
        r#"{"verb":"get","userAgent":"b","lat":3}"#,
        r#"{"verb":"list","lat":4}"#,
        "not json at all",
    ];

    #[test]
    fn an_exported_line_is_framed_like_the_scan_frames_it() {
        let e = event_of_line("\u{feff}1700000000123 {\"verb\":\"get\"}\r");
        assert_eq!(e.json["verb"], "get");
        assert_eq!(e.message, r#"{"verb":"get"}"#);
        // No time in the event: the record's.
        assert_eq!(e.timestamp, Some(1_700_000_000_123));
        let e = event_of_line(
            r#"2024-05-01T00:00:00Z {"verb":"get","stageTimestamp":"2024-05-01T00:00:01Z"}"#,
        );
        assert_eq!(e.timestamp, Some(1_714_521_601_000));
    }

    #[test]
    fn stats_group_sort_limit() {
        let r = q(
            "filter verb = \"list\" | stats count(*) as n, sum(lat), pct(lat, 50) as p by userAgent | sort n desc | limit 5",
            LINES,
        );
        assert_eq!(r.columns, ["userAgent", "n", "sum(lat)", "p"]);
        assert_eq!(
            r.rows,
            vec![
                vec![
                    Some("a".into()),
                    Some("2".into()),
                    Some("3".into()),
                    Some("1".into())
                ],
                vec![None, Some("1".into()), Some("4".into()), Some("4".into())],
            ]
        );
    }

    #[test]
    fn midnight_safe_latency_and_bins() {
        let r = q(
            r#"parse @message /"requestReceivedTimestamp":"[0-9-]+T(?<rh>\d\d):(?<rm>\d\d):(?<rs>[0-9.]+)/
            | parse @message /"stageTimestamp":"[0-9-]+T(?<sh>\d\d):(?<sm>\d\d):(?<ss>[0-9.]+)/
            | fields ((sh - rh) * 3600 + (sm - rm) * 60 + (ss - rs) + 86400) % 86400 * 1000 as ms
            | filter ispresent(ms) | fields bin(1m) as minute, @message as m | display ms, minute"#,
            LINES,
        );
        assert_eq!(r.columns, ["ms", "minute"]);
        assert_eq!(
            r.rows,
            vec![vec![
                Some("200".into()),
                Some("2024-05-01 23:59:00.000".into())
            ]]
        );
    }

    #[test]
    fn nearest_rank_is_the_ceiling_rank() {
        assert_eq!(nearest_rank(50.0, 4), 1);
        assert_eq!(nearest_rank(99.0, 100), 98);
        assert_eq!(nearest_rank(100.0, 3), 2);
        assert_eq!(nearest_rank(0.0, 3), 0);
        let r = q(
            "parse @message '\"verb\":\"*\"' as v | stats count(*) as c by v | sort c desc, v asc",
            LINES,
        );
        assert_eq!(r.rows[0], vec![Some("list".into()), Some("3".into())]);
        assert!(Query::new("stats verb").unwrap_err().contains("aggregate"));
        assert!(Query::new("stats pct(x)").unwrap_err().contains("0 to 100"));
        assert!(
            Query::new("fields nope(x)")
                .unwrap_err()
                .contains("unknown function")
        );
    }
}
