//! Properties: the decoder never panics on arbitrary bytes, and aggregating in one pass equals
//! splitting the events at any point and merging, with filters too (the cluster and the
//! selection scopes both merge).

use audit_scan::aggregate::filter::{Filters, Patterns};
use audit_scan::aggregate::{Aggregates, Scope};
use audit_scan::decode::event::{LINE_PADDING, LineDecoder};
use audit_scan::decode::salvage::salvage;
use audit_scan::report::build::{Inputs, build};
use proptest::prelude::*;

fn aggregate(lines: &[Vec<u8>]) -> Aggregates {
    aggregate_in(lines, &Scope::default())
}

fn aggregate_in(lines: &[Vec<u8>], scope: &Scope) -> Aggregates {
    let mut agg = Aggregates::default();
    let mut dec = LineDecoder::default();
    for line in lines {
        let mut buf = line.clone();
        buf.resize(line.len() + LINE_PADDING, b' ');
        let _ = dec.decode(&mut buf, line.len(), |ev| agg.observe(&ev, scope));
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
        window: Default::default(),
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

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
