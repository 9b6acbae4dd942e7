#![no_main]
//! Fuzz target: see `audit_scan::fuzzing::uri`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit_scan::fuzzing::uri(data);
});
