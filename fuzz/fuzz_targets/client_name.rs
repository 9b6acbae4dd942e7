#![no_main]
//! Fuzz target: see `audit_scan::fuzzing::client`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit_scan::fuzzing::client(data);
});
