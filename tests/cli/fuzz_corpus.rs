//! Replays the kept fuzz corpus (`fuzz/corpus/<target>/`, grown by `cargo fuzz run`) through the
//! same entry points as the fuzz targets, on stable Rust: every input that once found a new
//! path, or a crash since fixed, stays a regression test.

use std::path::Path;

/// Replays every file of a target's corpus; asserts each was replayed and returns how many.
fn replay(target: &str, f: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    let mut n = 0;
    for path in &entries {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
        assert!(run.is_ok(), "{} panics", path.display());
        n += 1;
    }
    assert_eq!(
        n,
        entries.len(),
        "every corpus file of {target} is replayed"
    );
    n
}

/// The corpus as kept in git (`cargo fuzz cmin` output): a replay that finds far fewer files
/// than this has lost its corpus, not shrunk it.
const KEPT: [(&str, usize); 5] = [
    ("decode_lines", 1000),
    ("decode_document", 550),
    ("uri_query", 600),
    ("client_name", 180),
    ("insights_query", 650),
];

fn kept(target: &str) -> usize {
    KEPT.iter().find(|(t, _)| *t == target).unwrap().1
}

#[test]
fn decoder_corpus() {
    let events = std::cell::Cell::new(0);
    let n = replay("decode_lines", |d| {
        events.set(events.get() + audit_scan::fuzzing::decode_lines(d));
    });
    assert!(n >= kept("decode_lines"), "{n} inputs");
    // The corpus holds real events: some decode (a decoder that rejected all would pass the
    // no-panic check alone).
    assert!(events.get() >= 50, "{} events decoded", events.get());
}

#[test]
fn document_corpus() {
    let events = std::cell::Cell::new(0);
    let n = replay("decode_document", |d| {
        events.set(events.get() + audit_scan::fuzzing::decode_whole(d));
    });
    assert!(n >= kept("decode_document"), "{n} inputs");
    assert!(events.get() >= 50, "{} events decoded", events.get());
}

#[test]
fn uri_corpus() {
    assert!(replay("uri_query", audit_scan::fuzzing::uri) >= kept("uri_query"));
}

#[test]
fn client_corpus() {
    assert!(replay("client_name", audit_scan::fuzzing::client) >= kept("client_name"));
}

#[test]
fn insights_query_corpus() {
    let accepted = std::cell::Cell::new(0);
    let n = replay("insights_query", |d| {
        accepted.set(accepted.get() + usize::from(audit_scan::fuzzing::insights_query(d)));
    });
    assert!(n >= kept("insights_query"), "{n} inputs");
    // The corpus holds the templates and their command prefixes: many parse and run (a parser
    // that refused everything would pass the no-panic check alone), and many do not.
    assert!(
        (100..n - 100).contains(&accepted.get()),
        "{} of {n} accepted",
        accepted.get()
    );
}
