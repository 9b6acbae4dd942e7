//! Aggregate: which admission webhook a request's webhook time and failure belong to.
//!
//! The apiserver logs one `mutating-webhook` and one `validating-webhook` latency per request
//! (the sum over the webhooks of that kind), names each mutating webhook it called
//! (`mutation.webhook…`), names a webhook that failed open by kind (`failed-open.mutating…`,
//! `failed-open.validating…`) and one that refused the request in the status message
//! (`failed calling webhook "X"`). Each kind's time goes to the webhook of that kind the request
//! names — the refusing one first, else the only one, else the named ones together
//! (`a + b`: which of them was slow the log does not say) — and never to a webhook of the other
//! kind. A refusing webhook not named under the other kind takes a kind's time nobody else is
//! named for; `(unnamed)` is what is left when nothing names it.

use std::borrow::Cow;

use crate::decode::AuditEvent;
use crate::decode::latency::{MUTATING_WEBHOOK, Names, VALIDATING_WEBHOOK};
use crate::timefmt::Micros;

/// The row a webhook time is charged to when nothing names its webhook.
pub const UNNAMED: &str = "(unnamed)";

/// One webhook's part in one request. The name borrows from the event: only a joined `a + b`
/// is built, so a request that meets a webhook allocates no string on the scan's hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// The webhook (or `a + b`, or [`UNNAMED`]).
    pub webhook: Cow<'a, str>,
    /// Its time on this request, when the latency annotation was logged.
    pub latency_us: Option<Micros>,
    /// It failed open.
    pub failed_open: bool,
    /// It refused the request.
    pub failed_closed: bool,
}

/// Who owns one kind's time.
fn owner<'a>(kind: &Names<'a>, other: &Names<'a>, refused_by: Option<&'a str>) -> Cow<'a, str> {
    match (refused_by, kind.as_slice()) {
        (Some(x), names) if names.contains(&x) => Cow::Borrowed(x),
        (_, [one]) => Cow::Borrowed(*one),
        (Some(x), []) if !other.contains(x) => Cow::Borrowed(x),
        (_, []) => Cow::Borrowed(UNNAMED),
        (_, many) => {
            let mut v = many.to_vec();
            v.sort_unstable();
            Cow::Owned(v.join(" + "))
        }
    }
}

/// The webhooks of one request with what each is charged; empty when it met none.
#[must_use]
pub fn calls<'a>(ev: &AuditEvent<'a>, failed: bool) -> Vec<Call<'a>> {
    let refused_by = ev.webhook_failed_closed.filter(|_| failed);
    let (m, v) = (&ev.mutating_webhooks, &ev.validating_webhooks);
    let mut out: Vec<Call<'a>> = Vec::new();
    let mut entry = |name: Cow<'a, str>| -> usize {
        out.iter()
            .position(|c| c.webhook == name)
            .unwrap_or_else(|| {
                out.push(Call {
                    failed_open: ev.webhook_failed_open.contains(&name),
                    failed_closed: refused_by == Some(&*name),
                    webhook: name,
                    latency_us: None,
                });
                out.len() - 1
            })
    };
    for name in m
        .as_slice()
        .iter()
        .chain(v.as_slice())
        .chain(ev.webhook_failed_open.as_slice())
        .chain(refused_by.as_slice())
    {
        entry(Cow::Borrowed(*name));
    }
    let parts = [
        (ev.latency_parts[MUTATING_WEBHOOK], m, v),
        (ev.latency_parts[VALIDATING_WEBHOOK], v, m),
    ];
    let mut charged: Vec<(usize, Micros)> = Vec::new();
    for (latency, kind, other) in parts {
        if let Some(l) = latency {
            charged.push((entry(owner(kind, other, refused_by)), l));
        }
    }
    for (i, l) in charged {
        let c = &mut out[i];
        c.latency_us = Some(c.latency_us.unwrap_or(0) + l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(mutating: &[&'a str], validating: &[&'a str]) -> AuditEvent<'a> {
        let mut e = AuditEvent::default();
        for m in mutating {
            e.mutating_webhooks.push(m);
        }
        for v in validating {
            e.validating_webhooks.push(v);
            e.webhook_failed_open.push(v);
        }
        e
    }

    fn charged<'c>(calls: &'c [Call]) -> Vec<(&'c str, Option<Micros>)> {
        calls.iter().map(|c| (&*c.webhook, c.latency_us)).collect()
    }

    #[test]
    fn validating_time_is_never_charged_to_a_mutating_webhook() {
        let mut e = ev(&["defaults.example.io"], &[]);
        e.latency_parts[VALIDATING_WEBHOOK] = Some(2_000_000);
        e.webhook_failed_closed = Some("policy.example.io");
        let c = calls(&e, true);
        assert_eq!(
            charged(&c),
            [
                ("defaults.example.io", None),
                ("policy.example.io", Some(2_000_000))
            ]
        );
        assert!(c[1].failed_closed && !c[0].failed_closed);
        // Not refused: nothing names a validating webhook, so its time is unnamed.
        let c = calls(&e, false);
        assert_eq!(charged(&c)[1], (UNNAMED, Some(2_000_000)));
    }

    #[test]
    fn each_kind_goes_to_its_own_webhook() {
        let mut e = ev(&["m.example.io"], &["v.example.io"]);
        e.latency_parts[MUTATING_WEBHOOK] = Some(100);
        e.latency_parts[VALIDATING_WEBHOOK] = Some(900);
        let c = calls(&e, false);
        assert_eq!(
            charged(&c),
            [("m.example.io", Some(100)), ("v.example.io", Some(900))]
        );
        assert!(c[1].failed_open && !c[0].failed_open);
    }

    #[test]
    fn several_named_share_their_kind_and_the_refusing_one_takes_it() {
        let mut e = ev(&["b.example.io", "a.example.io"], &[]);
        e.latency_parts[MUTATING_WEBHOOK] = Some(700);
        assert_eq!(
            charged(&calls(&e, false))[2],
            ("a.example.io + b.example.io", Some(700))
        );
        e.webhook_failed_closed = Some("b.example.io");
        assert_eq!(
            charged(&calls(&e, true)),
            [("b.example.io", Some(700)), ("a.example.io", None)]
        );
    }

    #[test]
    fn nothing_named_is_unnamed_and_no_webhook_is_no_call() {
        let mut e = AuditEvent::default();
        assert!(calls(&e, false).is_empty());
        e.latency_parts[MUTATING_WEBHOOK] = Some(5);
        assert_eq!(charged(&calls(&e, false)), [(UNNAMED, Some(5))]);
    }
}
