//! Properties: the decoder never panics on arbitrary bytes nor on real events with a field
//! mutated, retyped, removed or cut off (structure-aware inputs, which random bytes almost never
//! form), a bad line costs only itself, and aggregating in one pass equals splitting the events
//! at any point and merging, with filters too (the cluster and the selection scopes both merge).

use audit_scan::aggregate::filter::{Filters, Patterns, Window};
use audit_scan::aggregate::{Aggregates, Scope};
use audit_scan::build::native::{Inputs, build};
use audit_scan::decode::decode_in_place;
use audit_scan::decode::event::{LINE_PADDING, LineDecoder, decode_skim};
use audit_scan::decode::salvage::salvage;
use proptest::prelude::*;
use serde_json::{Value, json};

fn aggregate(lines: &[Vec<u8>]) -> Aggregates {
    aggregate_in(lines, &Scope::default())
}

fn aggregate_in(lines: &[Vec<u8>], scope: &Scope) -> Aggregates {
    let mut agg = Aggregates::default();
    let mut dec = LineDecoder::default();
    for line in lines {
        let mut buf = line.clone();
        buf.resize(line.len() + LINE_PADDING, b' ');
        let _ = dec.decode(&mut buf, line.len(), |ev| agg.observe(ev, scope));
    }
    agg
}

fn report(agg: &Aggregates) -> serde_json::Value {
    report_of(agg, &Filters::default())
}

fn report_of(agg: &Aggregates, filters: &Filters) -> serde_json::Value {
    serde_json::to_value(build(&Inputs {
        aggregates: agg,
        inputs: &[],
        window: Window::default(),
        filters,
        warnings: vec![],
        cloudwatch: None,
    }))
    .unwrap()
}

fn sample_lines() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let cfg = audit_scan::synth::SynthConfig {
        bytes: 150_000,
        seed: 3,
        rate: 5.0,
        ..Default::default()
    };
    audit_scan::synth::generate(&cfg, &mut out).unwrap();
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Members of an event a mutation may hit (JSON pointers): every one the decoder reads.
const FIELDS: &[&str] = &[
    "/kind",
    "/apiVersion",
    "/level",
    "/auditID",
    "/stage",
    "/requestURI",
    "/verb",
    "/user",
    "/user/username",
    "/user/groups",
    "/user/extra",
    "/impersonatedUser",
    "/userAgent",
    "/sourceIPs",
    "/objectRef",
    "/objectRef/resource",
    "/objectRef/namespace",
    "/objectRef/name",
    "/objectRef/subresource",
    "/objectRef/apiGroup",
    "/objectRef/apiVersion",
    "/objectRef/resourceVersion",
    "/responseStatus",
    "/responseStatus/code",
    "/responseStatus/reason",
    "/responseStatus/message",
    "/requestObject",
    "/responseObject",
    "/requestReceivedTimestamp",
    "/stageTimestamp",
    "/annotations",
];

/// A value of any JSON type, with the edge cases the decoder must survive.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(u64::MAX)),
        ".{0,24}".prop_map(Value::from),
        "\\PC{0,3000}".prop_map(Value::from),
        Just(json!("2024-02-31T10:00:00Z")),
        Just(json!("2024-05-01T10:00:00.123456789+14:00")),
        Just(json!("9999-12-31T23:59:59.999999Z")),
        Just(json!("0000-01-01T00:00:00Z")),
        Just(json!(
            "/api/v1/pods?limit=-1&resourceVersion=%ZZ&watch=maybe"
        )),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{"a": null}, 1, "x"])),
        Just(json!({"pod-name": 7, "authentication.kubernetes.io/pod-name": [1]})),
    ]
}

/// A real event with one member replaced (`Some`) or removed (`None`).
fn mutated(line: &[u8], field: &str, value: Option<Value>) -> Vec<u8> {
    let mut ev: Value = serde_json::from_slice(line).unwrap();
    let (parent, key) = field.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        Some(&mut ev)
    } else {
        ev.pointer_mut(parent)
    };
    if let Some(Value::Object(obj)) = target {
        match value {
            Some(v) => {
                obj.insert(key.to_owned(), v);
            }
            None => {
                obj.remove(key);
            }
        }
    }
    serde_json::to_vec(&ev).unwrap()
}

/// Generated lines whose writes carry whole bodies (`generate --bodies`), no-op bodies too.
fn body_lines() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let cfg = audit_scan::synth::SynthConfig {
        bytes: 300_000,
        seed: 4,
        rate: 5.0,
        bodies: true,
        plants: vec![audit_scan::synth::Plant::NoopUpdates],
        ..Default::default()
    };
    audit_scan::synth::generate(&cfg, &mut out).unwrap();
    out.split(|&b| b == b'\n')
        .filter(|l| {
            l.starts_with(
                br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse""#,
            )
        })
        .map(<[u8]>::to_vec)
        .collect()
}

/// Members inside the bodies the decoder reads or skips.
const BODY_FIELDS: &[&str] = &[
    "/requestObject/metadata",
    "/requestObject/metadata/resourceVersion",
    "/requestObject/metadata/managedFields",
    "/responseObject/metadata",
    "/responseObject/metadata/resourceVersion",
    "/responseObject/spec",
    "/responseObject/kind",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A real event with a member retyped or removed (still JSON): when the fast path reads
    /// it, it reads what simd-json reads — the same event, or the same error.
    #[test]
    fn the_fast_path_reads_mutated_events_as_simd_json_does(
        pick in any::<usize>(),
        field in proptest::sample::select([FIELDS, BODY_FIELDS].concat()),
        value in proptest::option::weighted(0.85, any_value()),
        bodies in any::<bool>(),
    ) {
        let lines = if bodies { body_lines() } else { sample_lines() };
        let line = mutated(&lines[pick % lines.len()], field, value);
        let mut a = line.clone();
        let mut fast = Vec::new();
        let got = decode_skim(&mut a, |e| fast.push(format!("{e:?}")));
        let mut b = line.clone();
        let mut slow = Vec::new();
        let want = decode_in_place(&mut b, &mut simd_json::Buffers::default(), |e| {
            slow.push(format!("{e:?}"));
        });
        if let Some(got) = got {
            prop_assert_eq!(format!("{:?}", got.map(|d| d.events)), format!("{:?}", want.map(|d| d.events)));
            prop_assert_eq!(fast, slow, "{}", field);
        }
    }

    /// Structure-aware: a real event with a member retyped or removed, whole or cut at any
    /// byte, through the decoder, the aggregation, the report and the rules. Whole, it is
    /// decoded or counted as bad, never dropped in silence; the good line after it still counts.
    #[test]
    fn mutated_events_are_decoded_or_counted(
        pick in any::<usize>(),
        field in proptest::sample::select(FIELDS),
        value in proptest::option::weighted(0.85, any_value()),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let lines = sample_lines();
        let good = &lines[pick % lines.len()];
        let mut line = mutated(good, field, value);
        if let Some(c) = cut {
            line.truncate(c % (line.len() + 1));
        }
        if cut.is_none() {
            let mut dec = LineDecoder::default();
            let mut buf = line.clone();
            buf.resize(line.len() + LINE_PADDING, b' ');
            if let Ok(d) = dec.decode(&mut buf, line.len(), |_| {}) {
                prop_assert!(d.events + d.bad_items.len() >= 1, "{field} vanished");
            }
        }
        let mut two = line.clone();
        two.push(b'\n');
        two.extend_from_slice(good);
        let events = audit_scan::fuzzing::decode_lines(&two);
        prop_assert!(events >= 1, "the good line after a bad one is lost ({field})");
    }

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut dec = LineDecoder::default();
        let mut buf = bytes.clone();
        buf.resize(bytes.len() + LINE_PADDING, 0);
        let _ = dec.decode(&mut buf, bytes.len(), |_| {});
        let mut scratch = Vec::new();
        let _ = salvage(&bytes, &mut scratch, &mut simd_json::Buffers::default(), |_| {});
    }

    #[test]
    fn decoder_never_panics_on_mangled_events(cut in 0usize..1200, flip in 0usize..1200, byte in any::<u8>()) {
        let lines = sample_lines();
        let mut line = lines[cut % lines.len()].clone();
        let at = flip % line.len();
        line[at] = byte;
        line.truncate(cut.max(1).min(line.len()));
        let mut dec = LineDecoder::default();
        let mut buf = line.clone();
        buf.resize(line.len() + LINE_PADDING, b'}');
        let _ = dec.decode(&mut buf, line.len(), |_| {});
    }

    #[test]
    fn split_and_merge_equals_one_pass(split in 0usize..10_000) {
        let lines = sample_lines();
        let k = split % (lines.len() + 1);
        let whole = report(&aggregate(&lines));
        let mut a = aggregate(&lines[..k]);
        let b = aggregate(&lines[k..]);
        a.merge(&b);
        prop_assert_eq!(report(&a), whole.clone());
        let mut b2 = aggregate(&lines[k..]);
        b2.merge(&aggregate(&lines[..k]));
        prop_assert_eq!(report(&b2), whole);
    }

    #[test]
    fn split_and_merge_equals_one_pass_filtered(split in 0usize..10_000) {
        let lines = sample_lines();
        let k = split % (lines.len() + 1);
        // One pattern that matches, one that never does: `unmatched` must survive the merge.
        let scope = Scope {
            filters: Filters {
                client: Patterns::new("--client", &["kube-controller-manager".into(), "kubelet".into()])
                    .unwrap(),
                verb: Patterns::new("--verb", &["update".into(), "no-such-verb".into()]).unwrap(),
                ..Filters::default()
            },
            ..Scope::default()
        };
        let whole = report_of(&aggregate_in(&lines, &scope), &scope.filters);
        prop_assert_eq!(
            &whole["summary"]["selection"]["unmatched"],
            &serde_json::json!(["--verb 'no-such-verb'"])
        );
        prop_assert!(whole["summary"]["requests"].as_u64().unwrap() > 0);
        let mut a = aggregate_in(&lines[..k], &scope);
        a.merge(&aggregate_in(&lines[k..], &scope));
        prop_assert_eq!(report_of(&a, &scope.filters), whole.clone());
        let mut b = aggregate_in(&lines[k..], &scope);
        b.merge(&aggregate_in(&lines[..k], &scope));
        prop_assert_eq!(report_of(&b, &scope.filters), whole);
    }
}

/// Every bundled Logs Insights template, rendered with its defaults.
fn templates() -> Vec<String> {
    audit_scan::insights::template::all()
        .iter()
        .map(|t| t.render(&std::collections::BTreeMap::new()).unwrap())
        .collect()
}

/// Pieces of the query language (and a few hostile characters) to splice into a template.
const QUERY_TOKENS: &[&str] = &[
    "|",
    "(",
    ")",
    "/",
    "\"",
    "'",
    "`",
    "[",
    "]",
    ",",
    "=",
    "!=",
    "<=",
    "*",
    "-",
    "\\",
    "@message",
    "stats",
    "by",
    "as",
    "filter",
    "fields",
    "sort",
    "desc",
    "limit",
    "parse",
    "display",
    "like",
    "in",
    "not",
    "and",
    "or",
    "count(*)",
    "bin(5m)",
    "pct(x, 99)",
    "99999999999999999999",
    "1e400",
    "é",
    "\u{202e}",
    "\0",
    "/(?<n>",
    "{{x}}",
    // Non-ASCII inside literals, as people write them (`filter user.username = "José"`).
    "\"José\"",
    "/naïve/",
    "\"日本\"",
    "\"😀\"",
];

/// One structural change to a query: cut at a byte, delete or repeat a span, splice a token.
#[derive(Debug, Clone)]
enum Edit {
    Cut(usize),
    Delete(usize, usize),
    Repeat(usize, usize),
    Insert(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Cut),
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Repeat(a, n)),
        (any::<usize>(), 0..QUERY_TOKENS.len()).prop_map(|(a, t)| Edit::Insert(a, t)),
    ]
}

/// Applies `edits` on bytes (so a cut may fall inside a UTF-8 character, as fuzzed input does).
fn edited(query: &str, edits: &[Edit]) -> Vec<u8> {
    let mut q = query.as_bytes().to_vec();
    for e in edits {
        let at = |a: usize| a % (q.len() + 1);
        match *e {
            Edit::Cut(a) => q.truncate(at(a)),
            Edit::Delete(a, n) => {
                let a = at(a);
                q.drain(a..(a + n).min(q.len()));
            }
            Edit::Repeat(a, n) => {
                let a = at(a);
                let span = q[a..(a + n).min(q.len())].to_vec();
                q.splice(a..a, span);
            }
            Edit::Insert(a, t) => {
                let a = at(a);
                q.splice(a..a, QUERY_TOKENS[t].bytes());
            }
        }
    }
    q
}

/// The Insights query parser (and the evaluator behind it) on templates with structural edits:
/// never a panic; and the run is not vacuous — many edited queries are still accepted and run,
/// many are rejected, so both the evaluator and every error path are reached.
#[test]
fn insights_queries_edited_from_the_templates_are_run_or_refused_never_panic() {
    use proptest::test_runner::{Config, TestRunner};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let templates = templates();
    let (accepted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..templates.len(), proptest::collection::vec(edit(), 1..4));
    runner
        .run(&strategy, |(t, edits)| {
            let q = edited(&templates[t], &edits);
            let counter = if audit_scan::fuzzing::insights_query(&q) {
                &accepted
            } else {
                &refused
            };
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
    let (a, r) = (accepted.into_inner(), refused.into_inner());
    assert!(a >= 100 && r >= 100, "{a} accepted, {r} refused");
}

/// What the fuzzing entry point accepts is a real query: every template, and every template cut
/// before any of its commands (a prefix of a query is a query), is accepted and run; a cut
/// inside a regex or string literal is refused.
#[test]
fn the_insights_entry_point_runs_templates_and_their_command_prefixes() {
    let mut prefixes = 0;
    for q in templates() {
        assert!(audit_scan::fuzzing::insights_query(q.as_bytes()), "{q}");
        for (i, _) in q.match_indices("\n|") {
            assert!(
                audit_scan::fuzzing::insights_query(&q.as_bytes()[..i]),
                "{}",
                &q[..i]
            );
            prefixes += 1;
        }
        if let Some(i) = q.find("like /") {
            assert!(!audit_scan::fuzzing::insights_query(&q.as_bytes()[..i + 7]));
        }
    }
    assert!(prefixes >= 40, "{prefixes} command prefixes");
}
