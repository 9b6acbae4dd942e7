#![no_main]
//! Fuzz target: see `audit_scan::fuzzing::insights_query`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit_scan::fuzzing::insights_query(data);
});
