//! Rules: one finding per client × rule × resource, with the objects as evidence. A loop over 40
//! objects is one problem of one client; 40 near-identical findings would push everything else
//! out of the report. The group says how many objects, the busiest ones, the pattern their names
//! share (`payments/app-state-*`), and keeps the complete list in JSON.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::finding::Finding;

/// Objects named in `details.top_objects`.
pub const TOP_OBJECTS: usize = 5;

/// One object of a group: its `namespace/name` and the writes it took.
#[derive(Debug, Clone)]
pub struct Member {
    /// `namespace/name`, or `name` for a cluster-scoped object.
    pub object: String,
    /// Writes (or whatever the rule counts) on it.
    pub count: u64,
}

/// The longest common prefix of `names`, cut back to a character boundary.
fn common_prefix<'a>(names: &[&'a str]) -> &'a str {
    let Some(first) = names.first() else {
        return "";
    };
    let mut n = first.len();
    for s in &names[1..] {
        n = n.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    &first[..n]
}

/// The pattern the objects' names share: `ns/prefix*` (or `ns/*`, `*/prefix*`, `*`); the one
/// name when there is one.
#[must_use]
pub fn pattern(objects: &[&str]) -> String {
    if let [one] = objects {
        return (*one).to_owned();
    }
    let split = |o: &str| match o.split_once('/') {
        Some((ns, name)) => (Some(ns.to_owned()), name.to_owned()),
        None => (None, o.to_owned()),
    };
    let parts: Vec<(Option<String>, String)> = objects.iter().map(|o| split(o)).collect();
    let names: Vec<&str> = parts.iter().map(|(_, n)| n.as_str()).collect();
    let prefix = common_prefix(&names);
    let ns = parts.first().and_then(|(ns, _)| ns.clone());
    let one_ns = parts.iter().all(|(n, _)| *n == ns);
    match (ns, one_ns) {
        (None, true) => format!("{prefix}*"),
        (Some(ns), true) => format!("{ns}/{prefix}*"),
        (_, false) => format!("*/{prefix}*"),
    }
}

/// Adds the group's evidence: `objects` (how many), `top_objects` (the busiest [`TOP_OBJECTS`]
/// with their counts), `object_pattern`, and `all_objects` (every one, busiest first).
/// `members` must be sorted busiest first.
pub fn evidence(details: &mut BTreeMap<String, serde_json::Value>, members: &[Member]) {
    let names: Vec<&str> = members.iter().map(|m| m.object.as_str()).collect();
    details.insert("objects".into(), members.len().into());
    details.insert("object_pattern".into(), pattern(&names).into());
    details.insert(
        "top_objects".into(),
        members
            .iter()
            .take(TOP_OBJECTS)
            .map(|m| json!({"object": m.object, "count": m.count}))
            .collect::<Vec<_>>()
            .into(),
    );
    details.insert("all_objects".into(), names.into());
}

/// `40 objects payments/app-state-* (busiest payments/app-state-7)`, or the one object.
#[must_use]
pub fn phrase(members: &[Member]) -> String {
    if let [one] = members {
        return one.object.clone();
    }
    let names: Vec<&str> = members.iter().map(|m| m.object.as_str()).collect();
    format!(
        "{} objects {} (busiest {})",
        members.len(),
        pattern(&names),
        names[0]
    )
}

/// Sorts members busiest first (ties by name, so the output does not depend on table order).
pub fn sort(members: &mut [Member]) {
    members.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.object.cmp(&b.object)));
}

/// The group's members (`(object, count)`), busiest first, with its [`evidence`] added to
/// `details` when there are several (one object is the finding's `object`).
pub fn members(
    objects: impl Iterator<Item = (String, u64)>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> Vec<Member> {
    let mut m: Vec<Member> = objects
        .map(|(object, count)| Member { object, count })
        .collect();
    sort(&mut m);
    if m.len() > 1 {
        evidence(details, &m);
    }
    m
}

/// The group's finding, named after its object when it has one.
#[must_use]
pub fn named(f: Finding, members: &[Member]) -> Finding {
    match members {
        [one] => f.object(one.object.clone()),
        _ => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_keep_what_the_names_share() {
        assert_eq!(pattern(&["a/app-1", "a/app-2", "a/app-30"]), "a/app-*");
        assert_eq!(pattern(&["a/x", "b/app"]), "*/*");
        assert_eq!(pattern(&["node-1", "node-2"]), "node-*");
        assert_eq!(pattern(&["ns/only"]), "ns/only");
        assert_eq!(pattern(&["ns/é1", "ns/é2", "ns/éa"]), "ns/é*");
    }

    #[test]
    fn evidence_keeps_every_object_and_the_busiest() {
        let mut m: Vec<Member> = (0..8)
            .map(|i| Member {
                object: format!("ns/obj-{i}"),
                count: i,
            })
            .collect();
        sort(&mut m);
        let mut d = BTreeMap::new();
        evidence(&mut d, &m);
        assert_eq!(d["objects"], 8);
        assert_eq!(d["all_objects"].as_array().map(Vec::len), Some(8));
        assert_eq!(d["top_objects"][0]["object"], "ns/obj-7");
        assert_eq!(d["top_objects"].as_array().map(Vec::len), Some(TOP_OBJECTS));
        assert_eq!(
            phrase(&m),
            "8 objects ns/obj-* (busiest ns/obj-7)".to_owned()
        );
    }
}
