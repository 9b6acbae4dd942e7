#![no_main]
//! Fuzz target: see `audit_scan::fuzzing::decode_lines`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = audit_scan::fuzzing::decode_lines(data);
});
