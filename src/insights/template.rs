//! Insights: the bundled Logs Insights query templates (`queries/*.insights`), embedded in the
//! binary, their `#` header (name, description, report section fed, parameters) and rendering
//! with `{{param}}` substitution.

use std::collections::BTreeMap;

/// Every file in `queries/`, embedded; a test checks none is missing.
pub const SOURCES: &[(&str, &str)] = &[
    (
        "client-qps.insights",
        include_str!("../../queries/client-qps.insights"),
    ),
    (
        "client-totals.insights",
        include_str!("../../queries/client-totals.insights"),
    ),
    (
        "controller-qps.insights",
        include_str!("../../queries/controller-qps.insights"),
    ),
    (
        "crd-calls.insights",
        include_str!("../../queries/crd-calls.insights"),
    ),
    (
        "errors-by-client.insights",
        include_str!("../../queries/errors-by-client.insights"),
    ),
    (
        "list-latency-histogram.insights",
        include_str!("../../queries/list-latency-histogram.insights"),
    ),
    (
        "list-latency.insights",
        include_str!("../../queries/list-latency.insights"),
    ),
    (
        "log-volume.insights",
        include_str!("../../queries/log-volume.insights"),
    ),
    (
        "minute-totals.insights",
        include_str!("../../queries/minute-totals.insights"),
    ),
    (
        "most-written-objects.insights",
        include_str!("../../queries/most-written-objects.insights"),
    ),
    (
        "slow-requests.insights",
        include_str!("../../queries/slow-requests.insights"),
    ),
    (
        "success-rate.insights",
        include_str!("../../queries/success-rate.insights"),
    ),
    (
        "write-load.insights",
        include_str!("../../queries/write-load.insights"),
    ),
];

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name, as in `{{name}}`.
    pub name: String,
    /// The value used when none is given.
    pub default: String,
    /// What it does.
    pub description: String,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// `# name:`.
    pub name: String,
    /// `# description:`.
    pub description: String,
    /// `# feeds:` the report section its rows correspond to.
    pub feeds: String,
    /// `# param:` lines.
    pub params: Vec<Param>,
    /// `# columns:` the output columns, if declared.
    pub columns: Vec<String>,
    /// `# index:` the `filterIndex` condition (`verb = "list"`) `--use-field-indexes` puts
    /// first: one of the template's own filters, so it only skips events the template drops.
    pub index: Option<String>,
    /// Free comment lines of the header (why the query is written as it is).
    pub notes: Vec<String>,
    /// The query text with placeholders.
    pub body: String,
}

impl Template {
    /// Parses a template file: leading `#` lines are the header, the rest is the body.
    ///
    /// # Errors
    /// A header without name, description or feeds, or a malformed `# param:` line.
    pub fn parse(file: &str, text: &str) -> Result<Self, String> {
        let mut t = Self {
            name: String::new(),
            description: String::new(),
            feeds: String::new(),
            params: Vec::new(),
            columns: Vec::new(),
            index: None,
            notes: Vec::new(),
            body: String::new(),
        };
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next_if(|l| l.starts_with('#')) {
            let line = line.trim_start_matches('#').trim();
            let (key, value) = line.split_once(':').unwrap_or(("", line));
            let value = value.trim();
            match key.trim() {
                "name" => value.clone_into(&mut t.name),
                "description" => value.clone_into(&mut t.description),
                "feeds" => value.clone_into(&mut t.feeds),
                "columns" => t.columns = value.split(',').map(|c| c.trim().to_owned()).collect(),
                "param" => t.params.push(parse_param(file, value)?),
                "index" => t.index = Some(value.to_owned()),
                _ => t.notes.push(line.to_owned()),
            }
        }
        t.body = lines.collect::<Vec<_>>().join("\n").trim().to_owned();
        if t.name.is_empty() || t.description.is_empty() || t.feeds.is_empty() {
            return Err(format!(
                "{file}: the header needs '# name:', '# description:' and '# feeds:' lines"
            ));
        }
        Ok(t)
    }

    /// As [`Template::render`]; with `field_indexes`, a template that declares `# index:` reads
    /// through `filterIndex` first (only events a field index knows to match are scanned).
    ///
    /// # Errors
    /// As [`Template::render`].
    pub fn render_indexed(
        &self,
        given: &BTreeMap<String, String>,
        field_indexes: bool,
    ) -> Result<String, String> {
        let body = self.render(given)?;
        Ok(match (&self.index, field_indexes) {
            (Some(index), true) => format!("filterIndex {index}\n| {body}"),
            _ => body,
        })
    }

    /// The query with every `{{param}}` replaced by the given value or its default.
    ///
    /// # Errors
    /// An unknown parameter (naming the known ones) or a value that could change the query's
    /// structure.
    pub fn render(&self, given: &BTreeMap<String, String>) -> Result<String, String> {
        for (k, v) in given {
            if !self.params.iter().any(|p| &p.name == k) {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "template '{}' has no parameter '{k}'; its parameters are: {}",
                    self.name,
                    known.join(", ")
                ));
            }
            check_value(k, v)?;
        }
        let mut out = self.body.clone();
        for p in &self.params {
            let v = given.get(&p.name).unwrap_or(&p.default);
            out = out.replace(&format!("{{{{{}}}}}", p.name), v);
        }
        Ok(out)
    }
}

/// `NAME=DEFAULT  description`.
fn parse_param(file: &str, text: &str) -> Result<Param, String> {
    let (name, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("{file}: '# param: {text}' is not NAME=DEFAULT  description"))?;
    let rest = rest.trim_start();
    let (default, description) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Ok(Param {
        name: name.trim().to_owned(),
        default: default.to_owned(),
        description: description.trim().to_owned(),
    })
}

/// A parameter value is a word, number or duration: anything else (quotes, `|`, `/`, spaces)
/// could end a string or regex and change what the query does.
fn check_value(name: &str, v: &str) -> Result<(), String> {
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@' | '*'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--param {name}='{v}': values may hold only letters, digits and . _ - : @ *"
        ))
    }
}

/// Every bundled template, parsed.
///
/// # Panics
/// Never for the embedded files: a test parses all of them.
#[must_use]
pub fn all() -> Vec<Template> {
    SOURCES
        .iter()
        .map(|(file, text)| Template::parse(file, text).expect("bundled template parses"))
        .collect()
}

/// The bundled template called `name`.
///
/// # Errors
/// No such template: the message lists them.
pub fn find(name: &str) -> Result<Template, String> {
    let all = all();
    let names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
    all.into_iter()
        .find(|t| t.name == name || t.name == name.trim_end_matches(".insights"))
        .ok_or_else(|| {
            format!(
                "no query template '{name}'; the templates are: {} (see `audit-scan queries list`)",
                names.join(", ")
            )
        })
}

/// Parses `k=v` pairs from `--param`.
///
/// # Errors
/// A pair without `=`.
pub fn parse_params(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| format!("--param '{p}' is not NAME=VALUE"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::lang::Expr;
    use std::collections::BTreeSet;

    #[test]
    fn every_file_in_queries_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/queries");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".insights"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = SOURCES.iter().map(|(f, _)| (*f).to_owned()).collect();
        assert_eq!(on_disk, embedded, "add new files in queries/ to SOURCES");
        for (file, text) in SOURCES {
            let disk = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            assert_eq!(&disk, text, "{file}");
        }
    }

    #[test]
    fn every_placeholder_is_declared_and_every_param_used() {
        for t in all() {
            assert_eq!(
                format!("{}.insights", t.name),
                SOURCES
                    .iter()
                    .find(|(_, s)| s.contains(&format!("# name: {}\n", t.name)))
                    .unwrap()
                    .0
            );
            let rendered = t.render(&BTreeMap::new()).unwrap();
            assert!(
                !rendered.contains("{{"),
                "{}: undeclared placeholder",
                t.name
            );
            for p in &t.params {
                assert!(
                    t.body.contains(&format!("{{{{{}}}}}", p.name)),
                    "{}: param {} unused",
                    t.name,
                    p.name
                );
                assert!(
                    !p.description.is_empty(),
                    "{}: {} undocumented",
                    t.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn a_field_index_only_skips_what_the_template_filters_out() {
        let mut indexed = Vec::new();
        for t in all() {
            let plain = t.render(&BTreeMap::new()).unwrap();
            let with = t.render_indexed(&BTreeMap::new(), true).unwrap();
            assert_eq!(t.render_indexed(&BTreeMap::new(), false).unwrap(), plain);
            // Every template whose filter on verb is an equality or a list declares the index.
            let verb_filter = plain.lines().find_map(|l| {
                let f = l.trim_start_matches("| ").strip_prefix("filter verb ")?;
                let cond = if f.starts_with("= ") {
                    f.split(" and ").next()?
                } else {
                    f.strip_prefix("in ")?;
                    &f[..=f.find(']')?]
                };
                Some(format!("verb {cond}"))
            });
            assert_eq!(t.index, verb_filter, "{}", t.name);
            match &t.index {
                Some(index) => {
                    assert_eq!(with, format!("filterIndex {index}\n| {plain}"));
                    indexed.push(t.name.clone());
                }
                None => assert_eq!(with, plain),
            }
        }
        indexed.sort();
        assert_eq!(
            indexed,
            [
                "list-latency",
                "list-latency-histogram",
                "most-written-objects",
                "write-load"
            ]
        );
    }

    #[test]
    fn render_substitutes_and_rejects_injection() {
        let t = find("slow-requests").unwrap();
        let mut p = BTreeMap::new();
        p.insert("min_latency_ms".to_owned(), "2500".to_owned());
        let q = t.render(&p).unwrap();
        assert!(q.contains("latency_ms >= 2500"));
        assert!(q.contains("| limit 100"));
        p.insert("limit".to_owned(), "5 | fields @message".to_owned());
        assert!(t.render(&p).unwrap_err().contains("--param limit"));
        let mut bad = BTreeMap::new();
        bad.insert("nope".to_owned(), "1".to_owned());
        assert!(
            t.render(&bad)
                .unwrap_err()
                .contains("min_latency_ms, limit")
        );
        assert!(find("nope").unwrap_err().contains("list-latency"));
    }

    /// What the AWS documentation promises, by page of the CloudWatch Logs user guide:
    /// commands — "CloudWatch Logs Insights language query syntax" (CWL_QuerySyntax: fields,
    /// filter, parse, stats, sort, limit, display); scalar functions — "Boolean, comparison,
    /// numeric, datetime, and other functions" (CWL_QuerySyntax-operations-functions: numeric
    /// operators abs ceil floor greatest least log sqrt; datetime bin toMillis fromMillis;
    /// general ispresent isempty isblank coalesce; string strlen tolower toupper trim substr
    /// concat); aggregates — "stats" (CWL_QuerySyntax-Stats: count count_distinct sum avg min
    /// max pct). `%` is left out: the page shows it on integers only and states no precedence.
    const DOCUMENTED: &[&str] = &[
        "command:fields",
        "command:filter",
        // CWL_QuerySyntax-FilterIndex: `filterIndex FIELD = value | FIELD in [...]`.
        "command:filterIndex",
        "command:parse-regex",
        "command:stats",
        "command:sort",
        "command:limit",
        "command:display",
        "function:abs",
        "function:ceil",
        "function:floor",
        "function:greatest",
        "function:least",
        "function:log",
        "function:sqrt",
        "function:bin",
        "function:tomillis",
        "function:frommillis",
        "function:ispresent",
        "function:isempty",
        "function:isblank",
        "function:coalesce",
        "function:strlen",
        "function:tolower",
        "function:toupper",
        "function:trim",
        "function:substr",
        "function:concat",
        "aggregate:count",
        "aggregate:count_distinct",
        "aggregate:sum",
        "aggregate:avg",
        "aggregate:min",
        "aggregate:max",
        "aggregate:pct",
        "operator:and",
        "operator:or",
        "operator:not",
        "operator:=",
        "operator:!=",
        "operator:<",
        "operator:<=",
        "operator:>",
        "operator:>=",
        "operator:+",
        "operator:-",
        "operator:*",
        "operator:/",
        "operator:^",
        "operator:like",
        "operator:in",
    ];

    /// Audit event fields every event has (audit.k8s.io Event: required), safe as bare keys.
    const ALWAYS_PRESENT: &[&str] = &["verb"];

    fn walk(e: &Expr, used: &mut BTreeSet<String>, bad: &mut Vec<String>, in_time_fn: bool) {
        use super::super::lang::BinOp as B;
        match e {
            Expr::Field(f) if f == "@timestamp" && !in_time_fn => {
                bad.push("@timestamp outside toMillis()/bin()".into());
            }
            Expr::Call(name, args) => {
                let name = name.to_lowercase();
                let kind = if crate::insights::local::AGGREGATES.contains(&name.as_str()) {
                    "aggregate"
                } else {
                    "function"
                };
                used.insert(format!("{kind}:{name}"));
                let time = matches!(name.as_str(), "tomillis" | "bin");
                args.iter().for_each(|a| walk(a, used, bad, time));
            }
            Expr::Not(x) => {
                used.insert("operator:not".into());
                walk(x, used, bad, false);
            }
            Expr::Neg(x) => {
                used.insert("operator:unary-minus".into());
                walk(x, used, bad, false);
            }
            Expr::Bin(op, a, b) => {
                let o = match op {
                    B::Or => "or",
                    B::And => "and",
                    B::Eq => "=",
                    B::Ne => "!=",
                    B::Lt => "<",
                    B::Le => "<=",
                    B::Gt => ">",
                    B::Ge => ">=",
                    B::Add => "+",
                    B::Sub => "-",
                    B::Mul => "*",
                    B::Div => "/",
                    B::Rem => "%",
                    B::Pow => "^",
                };
                used.insert(format!("operator:{o}"));
                walk(a, used, bad, false);
                walk(b, used, bad, false);
            }
            Expr::Like(a, b, _) => {
                used.insert("operator:like".into());
                walk(a, used, bad, false);
                walk(b, used, bad, false);
            }
            Expr::In(a, items, _) => {
                used.insert("operator:in".into());
                walk(a, used, bad, false);
                items.iter().for_each(|i| walk(i, used, bad, false));
            }
            Expr::List(items) => items.iter().for_each(|i| walk(i, used, bad, false)),
            _ => {}
        }
    }

    #[test]
    fn templates_use_only_documented_syntax() {
        use super::super::lang::{Command, Pattern, parse};
        let reserved: Vec<String> = DOCUMENTED
            .iter()
            .filter_map(|c| c.split_once(':').map(|(_, n)| n.to_owned()))
            .collect();
        let mut all_used = BTreeSet::new();
        let mut queries: Vec<(String, String)> = all()
            .into_iter()
            .map(|t| {
                let q = t.render_indexed(&BTreeMap::new(), true).unwrap();
                (t.name, q)
            })
            .collect();
        // client-qps as the engine runs it, after client-totals.
        let qps = find("client-qps")
            .unwrap()
            .render(&BTreeMap::new())
            .unwrap();
        let agents = [
            "kubelet/v1.30.0 (linux/amd64) kubernetes/abc1234".into(),
            String::new(),
        ];
        queries.push((
            "client-qps follow-up".into(),
            crate::build::insights::follow::follow_up(&qps, &agents),
        ));
        for (name, query) in &queries {
            let commands = parse(query).unwrap();
            let (mut used, mut bad) = (BTreeSet::new(), Vec::new());
            // Names a `fields` item set to coalesce(…, literal) or bin(): never null, fit as a key.
            let mut never_null: Vec<String> =
                ALWAYS_PRESENT.iter().map(|s| (*s).to_owned()).collect();
            let check_alias = |name: &str, bad: &mut Vec<String>| {
                if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                    bad.push(format!("alias '{name}' is named like a function"));
                }
            };
            for c in &commands {
                match c {
                    Command::Fields(items) => {
                        used.insert("command:fields".into());
                        for n in items {
                            check_alias(&n.name, &mut bad);
                            // bin() of @timestamp, which every record has, is never null.
                            if let Expr::Call(f, args) = &n.expr
                                && (f.eq_ignore_ascii_case("bin")
                                    || (f.eq_ignore_ascii_case("coalesce")
                                        && matches!(
                                            args.last(),
                                            Some(Expr::Str(_) | Expr::Num(_))
                                        )))
                            {
                                never_null.push(n.name.clone());
                            }
                            // A bare @timestamp is shown, not compared.
                            let shown = matches!(&n.expr, Expr::Field(f) if f == "@timestamp");
                            walk(&n.expr, &mut used, &mut bad, shown);
                        }
                    }
                    Command::Filter(e) => {
                        used.insert("command:filter".into());
                        walk(e, &mut used, &mut bad, false);
                    }
                    Command::FilterIndex(f) => {
                        used.insert("command:filterIndex".into());
                        walk(&f.test, &mut used, &mut bad, false);
                    }
                    Command::Parse(field, pattern) => {
                        walk(field, &mut used, &mut bad, false);
                        match pattern {
                            Pattern::Regex(re) => {
                                used.insert("command:parse-regex".into());
                                // `"key": "value"` as well as compact JSON.
                                if re.as_str().contains("\":") {
                                    bad.push(format!(
                                        "regex /{}/ needs \\s* around ':'",
                                        re.as_str()
                                    ));
                                }
                            }
                            Pattern::Glob(..) => {
                                used.insert("command:parse-glob".into());
                            }
                        }
                    }
                    Command::Stats(aggs, by) => {
                        used.insert("command:stats".into());
                        for a in aggs {
                            check_alias(&a.name, &mut bad);
                            walk(&a.expr, &mut used, &mut bad, false);
                        }
                        for b in by {
                            match &b.expr {
                                Expr::Field(f) if f == &b.name && never_null.contains(f) => {}
                                _ => bad.push(format!(
                                    "group key '{}' may be null: coalesce it in a fields command first",
                                    b.name
                                )),
                            }
                        }
                    }
                    Command::Sort(keys) => {
                        used.insert("command:sort".into());
                        keys.iter()
                            .for_each(|(e, _)| walk(e, &mut used, &mut bad, false));
                    }
                    Command::Limit(_) => {
                        used.insert("command:limit".into());
                    }
                    Command::Display(_) => {
                        used.insert("command:display".into());
                    }
                }
            }
            bad.extend(
                used.iter()
                    .filter(|u| !DOCUMENTED.contains(&u.as_str()))
                    .map(|u| format!("{u} is not documented")),
            );
            assert!(bad.is_empty(), "{name}: {bad:#?}");
            all_used.extend(used);
        }
        // The constructs the templates use, all documented (printed with --nocapture).
        eprintln!("constructs used by the templates: {all_used:?}");
        assert!(all_used.contains("function:coalesce") && all_used.contains("command:stats"));
        assert!(
            queries
                .last()
                .unwrap()
                .1
                .starts_with("filter coalesce(userAgent, \"\") in [\"kubelet/")
        );
    }
}
