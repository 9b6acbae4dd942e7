//! Replays the kept fuzz corpus (`fuzz/corpus/<target>/`, grown by `cargo fuzz run`) through the
//! same entry points as the fuzz targets, on stable Rust: every input that once found a new
//! path, or a crash since fixed, stays a regression test.

use std::path::Path;

fn replay(target: &str, f: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
        assert!(run.is_ok(), "{} panics", path.display());
        n += 1;
    }
    n
}

#[test]
fn decoder_corpus() {
    let events = std::cell::Cell::new(0);
    let n = replay("decode_lines", |d| {
        events.set(events.get() + audit_scan::fuzzing::decode_lines(d));
    });
    assert!(n >= 50, "{n} inputs");
    // The corpus holds real events: some decode (a decoder that rejected all would pass the
    // no-panic check alone).
    assert!(events.get() >= 50, "{} events decoded", events.get());
}

#[test]
fn document_corpus() {
    let n = replay("decode_document", |d| {
        let _ = audit_scan::fuzzing::decode_whole(d);
    });
    assert!(n >= 5, "{n} inputs");
}

#[test]
fn uri_corpus() {
    assert!(replay("uri_query", audit_scan::fuzzing::uri) >= 50);
}

#[test]
fn client_corpus() {
    assert!(replay("client_name", audit_scan::fuzzing::client) >= 10);
}
