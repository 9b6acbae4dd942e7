//! `audit-scan queries list|show|run` — lists the bundled templates,
//! prints one rendered (ready to paste into the console), or runs one locally on files or on
//! CloudWatch Logs Insights.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Result, bail};

use crate::cli::queries::{Action, QueriesArgs, RunArgs};
use crate::error::{EXIT_OK, fail};
use crate::insights::output::{ResultSet, render};
use crate::insights::{local, template};

/// Runs `audit-scan queries …`.
///
/// # Errors
/// Unknown template or parameter, unreadable input, a failed query: exit code 2.
pub fn run(args: &QueriesArgs) -> Result<u8> {
    let mut out = Vec::new();
    match &args.action {
        Action::List => list(&mut out),
        Action::Show {
            name,
            params,
            use_field_indexes,
        } => {
            let t = template::find(name).map_err(fail)?;
            let params = template::parse_params(params).map_err(fail)?;
            let text = t.render_indexed(&params, *use_field_indexes);
            out.extend_from_slice(text.map_err(fail)?.as_bytes());
            out.push(b'\n');
        }
        Action::Run(r) => run_query(r, &mut out)?,
    }
    super::to_stdout(|w| w.write_all(&out))?;
    Ok(EXIT_OK)
}

fn list(out: &mut Vec<u8>) {
    let all = template::all();
    let w = all.iter().map(|t| t.name.len()).max().unwrap_or(4);
    let f = all.iter().map(|t| t.feeds.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(out, "{:<w$}  {:<f$}  DESCRIPTION", "NAME", "FEEDS");
    for t in &all {
        let _ = writeln!(out, "{:<w$}  {:<f$}  {}", t.name, t.feeds, t.description);
        for p in &t.params {
            let _ = writeln!(
                out,
                "{:<w$}  {:<f$}    --param {}={}  {}",
                "", "", p.name, p.default, p.description
            );
        }
    }
}

/// The window asked for, epoch ms `[since, until)`.
fn window(args: &RunArgs) -> Result<(Option<i64>, Option<i64>)> {
    let now = chrono::Utc::now().timestamp_micros();
    let parse = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| crate::timefmt::parse_time_arg(s, now).map(|us| us.div_euclid(1000)))
            .transpose()
            .map_err(|e| fail(format!("{flag}: {e}")))
    };
    let (since, until) = (
        parse("--since", &args.since)?,
        parse("--until", &args.until)?,
    );
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        bail!(fail("--since must be before --until"));
    }
    Ok((since, until))
}

fn run_query(args: &RunArgs, out: &mut Vec<u8>) -> Result<()> {
    let t = template::find(&args.name).map_err(fail)?;
    let params = template::parse_params(&args.params).map_err(fail)?;
    let text = t
        .render_indexed(&params, args.use_field_indexes)
        .map_err(fail)?;
    let (since, until) = window(args)?;
    let mut facts = serde_json::Map::new();
    facts.insert("template".into(), t.name.clone().into());
    let rs = if args.local.is_empty() {
        cloud(args, &t.name, &text, since, until, &mut facts)?
    } else {
        run_local(&args.local, &text, since, until, &mut facts)?
    };
    render(&rs, args.format, &facts, out)?;
    Ok(())
}

fn run_local(
    inputs: &[String],
    text: &str,
    since: Option<i64>,
    until: Option<i64>,
    facts: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<ResultSet> {
    let query = local::Query::new(text).map_err(|e| fail(format!("template query: {e}")))?;
    let mut found = crate::source::inputs::Expansion::default();
    let inputs =
        crate::source::expand_inputs(inputs, &mut found).map_err(|e| fail(e.to_string()))?;
    for w in &found.warnings {
        eprintln!("audit-scan: warning: {w}");
    }
    if let Some(note) = crate::source::sniff::note(&found.not_logs) {
        eprintln!("audit-scan: note: {note}");
    }
    let mut readers = Vec::new();
    for input in &inputs {
        let opened = crate::source::open_input(input, Arc::new(AtomicU64::new(0)))
            .map_err(|e| fail(format!("cannot read {}: {e}", input.name)))?;
        readers.push(BufReader::new(opened.reader));
    }
    let mut read_error = None;
    let lines = readers
        .into_iter()
        .flat_map(|r| r.split(b'\n'))
        .map_while(|l| match l {
            Ok(l) => Some(l),
            Err(e) => {
                read_error = Some(e);
                None
            }
        });
    let events = lines
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| local::event_of_line(&String::from_utf8_lossy(&l)))
        .filter(|e| {
            e.timestamp
                .is_none_or(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u))
        });
    let (rs, scanned, matched) = local::run(&query, events);
    if let Some(e) = read_error {
        bail!(fail(format!("cannot read the input: {e}")));
    }
    facts.insert("records_scanned".into(), scanned.into());
    facts.insert("records_matched".into(), matched.into());
    eprintln!(
        "audit-scan: {scanned} records scanned, {matched} matched, {} rows",
        rs.rows.len()
    );
    Ok(rs)
}

#[cfg(feature = "cloudwatch")]
fn cloud(
    args: &RunArgs,
    name: &str,
    text: &str,
    since: Option<i64>,
    until: Option<i64>,
    facts: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<ResultSet> {
    let target = super::plan::cloudwatch_target(&args.target)?;
    let now = chrono::Utc::now().timestamp_millis();
    let start = since.unwrap_or_else(|| {
        eprintln!("audit-scan: no --since given: querying the last hour");
        now - 3_600_000
    });
    let end = until.unwrap_or(now);
    let timeout = crate::timefmt::parse_duration(&args.timeout)
        .map_err(|e| fail(format!("--timeout: {e}")))?;
    let spec = crate::insights::cloud::Spec {
        log_group: target.log_group,
        region: target.region,
        profile: target.profile,
        endpoint_url: args.target.endpoint_url.clone(),
        max_attempts: args.max_attempts.max(1),
        timeout: std::time::Duration::from_micros(u64::try_from(timeout).unwrap_or(0)),
    };
    crate::insights::cloud::check_field_indexes(&spec, [text], start).map_err(fail)?;
    let o = crate::insights::cloud::run(&spec, text, start, end).map_err(fail)?;
    // Checked before printing: blank rows from a service that ignored `stats` would pass for
    // an answer (the engine fails the same way, in build::insights).
    let query = local::Query::new(text).ok();
    let aggregates = query
        .as_ref()
        .map(local::Query::aggregates)
        .unwrap_or_default();
    if let Some(detail) = crate::insights::merge::raw_records(&o.result, &aggregates) {
        bail!(fail(crate::insights::merge::raw_records_error(
            name, &detail
        )));
    }
    // The template's columns, in its order, whatever the service left out.
    let declared = query
        .as_ref()
        .map(local::Query::columns)
        .unwrap_or_default();
    facts.insert("log_group".into(), spec.log_group.clone().into());
    facts.insert("region".into(), o.region.clone().into());
    facts.insert("query_id".into(), o.query_id.clone().into());
    facts.insert(
        "since".into(),
        crate::timefmt::format_rfc3339(start * 1000).into(),
    );
    facts.insert(
        "until".into(),
        crate::timefmt::format_rfc3339(end * 1000).into(),
    );
    facts.insert("status".into(), o.status.clone().into());
    facts.insert("statistics".into(), serde_json::to_value(&o.statistics)?);
    match o.statistics.bytes_scanned {
        Some(b) => eprintln!(
            "audit-scan: query {} scanned {:.1} MB ({} records, {} matched): Logs Insights bills by bytes scanned",
            o.query_id,
            b / 1e6,
            o.statistics.records_scanned.unwrap_or(0.0),
            o.statistics.records_matched.unwrap_or(0.0),
        ),
        None => eprintln!(
            "audit-scan: query {} returned no statistics (an emulator?): bytes scanned unknown",
            o.query_id
        ),
    }
    if o.result.rows.len() >= 10_000 {
        eprintln!(
            "audit-scan: warning: {} rows is the Logs Insights result cap: results are cut; narrow --since/--until",
            o.result.rows.len()
        );
    }
    Ok(o.result.conform(&declared))
}

#[cfg(not(feature = "cloudwatch"))]
fn cloud(
    _args: &RunArgs,
    _name: &str,
    _text: &str,
    _since: Option<i64>,
    _until: Option<i64>,
    _facts: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<ResultSet> {
    bail!(fail(
        "this build has no CloudWatch support: run the template with --local FILE"
    ))
}
