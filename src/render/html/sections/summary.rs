//! HTML sections: the summary cards and the ranked findings.

use std::fmt::Write as _;

use crate::model::report::Report;
use crate::render::format::{fnum, num};
use crate::render::html::{esc, prose};

pub(in crate::render::html) fn cards(out: &mut String, r: &Report) {
    let h = &r.sizing;
    let below = r.health.below_threshold.len();
    let items = [
        (num(r.findings.len() as u64), "findings".to_owned()),
        (
            fnum(r.summary.span_seconds / 60.0),
            "minutes of log".to_owned(),
        ),
        (
            r.timeline
                .iter()
                .map(|m| m.requests)
                .max()
                .map_or("–".into(), num),
            "peak requests / minute".to_owned(),
        ),
        (fnum(h.peak_seats), "peak APF seats in use".to_owned()),
        (
            num(below as u64),
            format!(
                "minutes below {}% success",
                fnum(r.health.success_threshold * 100.0)
            ),
        ),
        (esc(&h.tier.recommended), "EKS tier that fits".to_owned()),
    ];
    out.push_str(r#"<div class="cards">"#);
    for (v, what) in items {
        let _ = write!(
            out,
            r#"<div class="card"><b>{v}</b><span>{what}</span></div>"#
        );
    }
    out.push_str("</div>");
}

pub(in crate::render::html) fn findings(out: &mut String, r: &Report) {
    out.push_str(
        r#"<h2 id="findings">Findings, ranked by severity, then cost to the control plane</h2>"#,
    );
    if r.findings.is_empty() {
        out.push_str(r#"<p class="note">No finding: no rule's threshold was crossed.</p>"#);
        return;
    }
    out.push_str(r#"<table id="findings-table"><thead><tr><th>#</th><th>Severity</th><th>Rule</th><th>Client</th><th>Where</th><th>What</th><th>Cost<br><small>seat-s/h</small></th></tr></thead><tbody>"#);
    for f in &r.findings {
        let sev = f.severity.name();
        let place = f
            .object
            .as_deref()
            .map(|o| format!("{} {o}", f.resource.as_deref().unwrap_or("")))
            .or_else(|| f.resource.clone())
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr class="finding"><td class="n">{}</td><td><span class="sev sev-{sev}">{sev}</span></td><td>{} <small>{}</small></td><td class="client">{}</td><td>{}</td><td>{}<details><summary>evidence and remedy</summary><dl class="kv"><dt>{}</dt><dd>{} (threshold {})</dd><dt>when</dt><dd>{} – {}</dd>"#,
            f.rank,
            esc(f.rule),
            esc(f.slug),
            esc(&f.client),
            esc(place.trim()),
            prose(&f.headline),
            esc(&f.evidence.metric),
            fnum(f.evidence.value),
            fnum(f.evidence.threshold),
            esc(f.evidence.first.as_deref().unwrap_or("?")),
            esc(f.evidence.last.as_deref().unwrap_or("?")),
        );
        for (k, v) in &f.evidence.details {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
        }
        if !f.evidence.sample_audit_ids.is_empty() {
            let _ = write!(
                out,
                "<dt>auditIDs</dt><dd>{}</dd>",
                esc(&f.evidence.sample_audit_ids.join(", "))
            );
        }
        let _ = write!(
            out,
            r#"<dt>remedy</dt><dd>{}</dd></dl></details></td><td class="n">{}</td></tr>"#,
            prose(&f.remediation),
            fnum(f.score)
        );
    }
    out.push_str("</tbody></table>");
    if !r.suppressed.is_empty() {
        let _ = write!(
            out,
            r#"<p class="note">{} finding(s) suppressed by the configuration (listed in the JSON report).</p>"#,
            r.suppressed.len()
        );
    }
}
