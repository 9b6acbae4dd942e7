//! Report: the one place where text from the log is made safe to show, one function per kind of
//! output — [`terminal`], [`markdown`], [`html`], [`xml`] and [`csv`] (plus [`plain`] for
//! human-read strings inside JSON documents such as SARIF).
//!
//! Every string in an audit log that comes from a client (userAgent, usernames, object names,
//! status messages) is attacker-controlled, and the report is read by the people with the most
//! access. So, in every human format:
//! - control characters, bidirectional controls ("Trojan Source") and invisible format
//!   characters are shown as visible escapes such as `\u{202e}`, so no text can move the cursor,
//!   reverse itself or make two different clients look alike;
//! - one string shows at most [`Cap::Field`] (or, for sentences that embed log text, [`Cap::Prose`])
//!   characters, then `…` and its full length, so one 100 KB userAgent cannot bury the report;
//! - a string whose display was changed either way starts with [`MARKER`], and the report says
//!   how many were ([`altered_note`]).
//!
//! Only the display changes: the report keeps the raw text, identities are compared on it, and
//! the JSON report, Parquet and NDJSON exports carry it whole.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::report::Report;

/// Starts every displayed string that is not the log's text as it was (escaped or cut).
pub const MARKER: char = '⚠';

/// How many characters of one string are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// A name or value from the log: client, userAgent, object, reason (256).
    Field,
    /// A sentence of ours that embeds log text: a finding's headline or remedy, a message (1024).
    Prose,
}

impl Cap {
    /// The number of characters shown before the cut.
    #[must_use]
    pub const fn chars(self) -> usize {
        match self {
            Self::Field => 256,
            Self::Prose => 1024,
        }
    }
}

/// Characters that must never reach a reader raw: they are invisible, change the direction of
/// the text around them, or look like a plain space while being a different character.
#[must_use]
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional marks, embeddings, overrides and isolates.
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            // Zero-width and other invisible format characters.
            | '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
            // Line and paragraph separators, and spaces that are not U+0020.
            | '\u{2028}' | '\u{2029}' | '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}'
            | '\u{202F}' | '\u{205F}' | '\u{3000}'
        )
}

/// `s` as a reader may see it: hidden characters as `\u{…}` escapes, cut after `cap`
/// characters with `…` and the full length. The flag says whether anything changed.
#[must_use]
pub fn visible(s: &str, cap: Cap) -> (String, bool) {
    let limit = cap.chars();
    let mut out = String::with_capacity(s.len().min(limit + 16));
    let mut shown = 0;
    let mut altered = false;
    for c in s.chars() {
        let escape = escaped(c);
        let width = escape.as_ref().map_or(1, String::len);
        if shown + width > limit {
            let _ = write!(out, "… ({} chars)", s.chars().count());
            return (out, true);
        }
        shown += width;
        if let Some(e) = escape {
            altered = true;
            out.push_str(&e);
        } else {
            out.push(c);
        }
    }
    (out, altered)
}

/// `\u{202e}` for a hidden character.
fn escaped(c: char) -> Option<String> {
    is_hidden(c).then(|| format!("\\u{{{:x}}}", u32::from(c)))
}

/// [`visible`] with [`MARKER`] in front when the display changed.
fn shown(s: &str, cap: Cap) -> String {
    match visible(s, cap) {
        (v, true) => format!("{MARKER}{v}"),
        (v, false) => v,
    }
}

/// For the terminal (text tables, messages on stderr).
#[must_use]
pub fn terminal(s: &str, cap: Cap) -> String {
    shown(s, cap)
}

/// For a human-read string carried in JSON (SARIF messages): the JSON encoder escapes, this
/// makes it readable and bounded.
#[must_use]
pub fn plain(s: &str, cap: Cap) -> String {
    shown(s, cap)
}

/// For a Markdown table cell or paragraph (GitHub, GitLab, most ticket trackers): inert, yet
/// readable where Markdown is shown raw. Backslash escapes stop emphasis, code, links, tables
/// and strikethrough; `<`, `>` and `&` become entities (no HTML, no `<url>` autolink); the
/// autolinks of GitHub's dialect are broken with `\:` in `://` and `\.` in `www.` — every other
/// `:` stays as it is, so timestamps read as timestamps.
#[must_use]
pub fn markdown(s: &str, cap: Cap) -> String {
    let v = shown(s, cap);
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // A heading only at the start of a line; our strings start mid-line or in a cell,
            // but a cell's text may also be pasted alone.
            '#' if i == 0 => out.push_str("\\#"),
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => {
                out.push_str("\\:");
            }
            '.' if i >= 3 && chars[i - 3..i].iter().all(|w| w.eq_ignore_ascii_case(&'w')) => {
                out.push_str("\\.");
            }
            c => out.push(c),
        }
    }
    out
}

/// For HTML element content and quoted attribute values.
#[must_use]
pub fn html(s: &str, cap: Cap) -> String {
    markup(&shown(s, cap))
}

/// For XML text and attribute values (JUnit). XML 1.0 cannot carry most control characters
/// even as references; [`visible`] has already turned them into escapes.
#[must_use]
pub fn xml(s: &str, cap: Cap) -> String {
    markup(&shown(s, cap))
}

/// `&`, `<`, `>`, `"` and `'` as references: enough for HTML and XML text and attributes.
fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a spreadsheet would take a cell starting with `c` as a formula (OWASP's list, with
/// the full-width forms some spreadsheets also accept).
fn starts_formula(c: char) -> bool {
    matches!(
        c,
        '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'
    )
}

/// For a text cell of a CSV export (the writer quotes): hidden characters as escapes, and a
/// cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab or CR first) gets a leading `'`,
/// as OWASP recommends. A plain number (`-5`) stays a number. Nothing is cut: an export is
/// data. `--export-raw` skips this.
#[must_use]
pub fn csv(s: &str) -> String {
    let formula = s.chars().next().is_some_and(starts_formula) && s.parse::<f64>().is_err();
    let mut out = String::with_capacity(s.len() + 1);
    if formula {
        out.push('\'');
    }
    for c in s.chars() {
        match escaped(c) {
            Some(e) => out.push_str(&e),
            None => out.push(c),
        }
    }
    out
}

/// The strings of the report that name a client, an agent, a user, a resource or an object:
/// what a reader compares by eye.
fn identities(r: &Report) -> impl Iterator<Item = &str> {
    let clients = r.clients.iter().flat_map(|c| [&c.client, &c.user]);
    let lists = r.lists.iter().flat_map(|l| [&l.user_agent, &l.resource]);
    let writes = r.writes.iter().flat_map(|w| [&w.client, &w.resource]);
    let objects = r.objects.iter().flat_map(|o| {
        [&o.namespace, &o.name]
            .into_iter()
            .chain(o.writers.iter().map(|w| &w.name))
    });
    let errors = r.errors.iter().flat_map(|e| [&e.client, &e.reason]);
    let watches = r.watches.iter().map(|w| &w.client);
    let crds = r.crds.iter().map(|c| &c.client);
    let findings = r.findings.iter().flat_map(|f| {
        std::iter::once(&f.client)
            .chain(f.object.as_ref())
            .chain(f.resource.as_ref())
    });
    clients
        .chain(lists)
        .chain(writes)
        .chain(objects)
        .chain(errors)
        .chain(watches)
        .chain(crds)
        .chain(findings)
        .map(String::as_str)
}

/// A coverage note for the human formats when some name in the report is shown altered.
#[must_use]
pub fn altered_note(r: &Report) -> Option<String> {
    let altered: BTreeSet<&str> = identities(r).filter(|s| visible(s, Cap::Field).1).collect();
    (!altered.is_empty()).then(|| {
        format!(
            "{} name(s) from the log are shown altered (marked {MARKER}): invisible, control or \
             bidirectional characters as \\u{{…}} escapes, text past {} characters cut; the JSON \
             report and the exports keep them whole",
            altered.len(),
            Cap::Field.chars()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_become_visible_escapes() {
        assert_eq!(terminal("plain", Cap::Field), "plain");
        assert_eq!(terminal("a\u{202e}b", Cap::Field), "⚠a\\u{202e}b");
        assert_eq!(terminal("\u{1b}[31mx", Cap::Field), "⚠\\u{1b}[31mx");
        assert_eq!(terminal("a\u{200b}", Cap::Field), "⚠a\\u{200b}");
        // Two clients that look the same raw look different shown.
        assert_ne!(
            terminal("op\u{200d}", Cap::Field),
            terminal("op", Cap::Field)
        );
        for c in [
            '\u{2066}',
            '\u{2069}',
            '\u{feff}',
            '\u{2060}',
            '\u{e0041}',
            '\u{85}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in ['a', 'é', '中', '…', '▁', ' '] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn long_strings_are_cut_with_their_length() {
        let s = "x".repeat(100_000);
        let (v, altered) = visible(&s, Cap::Field);
        assert!(altered);
        assert_eq!(v, format!("{}… (100000 chars)", "x".repeat(256)));
        assert_eq!(
            visible(&"y".repeat(256), Cap::Field),
            ("y".repeat(256), false)
        );
        // An escape is never split by the cut, and counts what it shows.
        let s = format!("{}\u{202e}tail", "a".repeat(250));
        let (v, _) = visible(&s, Cap::Field);
        assert_eq!(v, format!("{}… (255 chars)", "a".repeat(250)));
        assert_eq!(
            visible("é".repeat(300).as_str(), Cap::Prose)
                .0
                .chars()
                .count(),
            300
        );
    }

    #[test]
    fn markdown_escapes_only_what_markdown_needs() {
        let e = markdown(
            "<script>alert(1)</script> [x](http://evil) | **b** www.evil.io\n# h",
            Cap::Field,
        );
        assert!(!e.contains('<') && !e.contains('\n'), "{e}");
        assert!(e.contains("\\[x\\](http\\://evil)"), "{e}");
        assert!(e.contains("\\|") && e.contains("\\*\\*b\\*\\*"), "{e}");
        assert!(e.contains("www\\.evil.io"), "{e}");
        // Timestamps and namespaced names read as they are.
        assert_eq!(
            markdown("2024-05-01T10:00:00Z system:serviceaccount:a:b", Cap::Field),
            "2024-05-01T10:00:00Z system:serviceaccount:a:b"
        );
        assert_eq!(markdown("# x", Cap::Field), "\\# x");
    }

    #[test]
    fn markup_and_csv() {
        assert_eq!(
            html(r#"<a href="x">'&'</a>"#, Cap::Field),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(xml("a\u{1}b", Cap::Field), "⚠a\\u{1}b");
        assert_eq!(csv("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(csv("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv("\tx"), "'\\u{9}x");
        assert_eq!(csv("-5"), "-5");
        assert_eq!(csv("-1+cmd|calc"), "'-1+cmd|calc");
        assert_eq!(csv("kube-proxy"), "kube-proxy");
        assert_eq!(csv("a\u{202e}b"), "a\\u{202e}b");
    }
}
