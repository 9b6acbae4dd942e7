//! Properties: the decoder never panics on arbitrary bytes, and aggregating in one pass equals
//! splitting the events at any point and merging.

use audit_scan::aggregate::{Aggregates, Scope};
use audit_scan::decode::event::{LINE_PADDING, LineDecoder};
use audit_scan::decode::salvage::salvage;
use audit_scan::report::build::{Inputs, build};
use proptest::prelude::*;

fn aggregate(lines: &[Vec<u8>]) -> Aggregates {
    let mut agg = Aggregates::default();
    let mut dec = LineDecoder::default();
    let scope = Scope::default();
    for line in lines {
        let mut buf = line.clone();
        buf.resize(line.len() + LINE_PADDING, b' ');
        let _ = dec.decode(&mut buf, line.len(), |ev| agg.observe(&ev, &scope));
    }
    agg
}

fn report(agg: &Aggregates) -> serde_json::Value {
    serde_json::to_value(build(&Inputs {
        aggregates: agg,
        inputs: &[],
        window: Default::default(),
        filters: &Default::default(),
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
}
