//! Report: the JSON Schemas of `audit-scan/report/v1` and `audit-scan/diff/v1`, generated from
//! the Rust types that serialize them (so the schema cannot drift from the output) and checked in
//! under `docs/schema/`, where a test keeps them fresh. Objects are closed
//! (`additionalProperties: false`) except the free-form maps, so a field the types do not
//! declare fails validation.

use serde_json::Value;

/// The schema of `audit-scan/report/v1`.
#[must_use]
pub fn report() -> Value {
    closed(
        serde_json::to_value(schemars::schema_for!(crate::model::report::Report))
            .unwrap_or_default(),
    )
}

/// The schema of `audit-scan/diff/v1`.
#[must_use]
pub fn diff() -> Value {
    closed(serde_json::to_value(schemars::schema_for!(crate::diff::Diff)).unwrap_or_default())
}

/// Closes every object schema that lists its properties.
fn closed(mut v: Value) -> Value {
    close(&mut v);
    v
}

fn close(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            m.values_mut().for_each(close);
        }
        Value::Array(a) => a.iter_mut().for_each(close),
        _ => {}
    }
}
