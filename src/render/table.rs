//! Report: width-aware plain-text tables for the terminal. Numbers align right; when a table is
//! wider than the terminal, its widest text column is cut with `…`. Every cell goes through
//! [`super::sanitize::terminal`], so a hostile userAgent cannot move the cursor, recolor the
//! terminal, reverse itself or fill the screen.

use unicode_width::UnicodeWidthStr;

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table under construction.
pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

/// One name or value from the log, for the terminal ([`super::sanitize::terminal`]).
#[must_use]
pub fn sanitize(s: &str) -> String {
    super::sanitize::terminal(s, super::sanitize::Cap::Field)
}

fn cut(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

impl Table {
    /// A table with these headers.
    #[must_use]
    pub fn new(headers: &[(&'static str, Align)]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as headers).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| sanitize(&c)).collect());
    }

    /// Renders to at most `max_width` columns.
    #[must_use]
    pub fn render(&self, max_width: usize, bold: bool) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| h.width()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.width());
            }
        }
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
        // Cut the widest text column, but never below the next widest: the cut is shared, so
        // one wide column (the client name) is not squeezed to nothing to spare the others.
        while total(&widths) > max_width {
            let left = |i: usize| self.headers[i].1 == Align::Left;
            let Some((i, w)) = widths
                .iter()
                .copied()
                .enumerate()
                .filter(|&(i, w)| left(i) && w > 12)
                .max_by_key(|&(i, w)| (w, std::cmp::Reverse(i)))
            else {
                break;
            };
            let next = widths
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i && left(j))
                .map(|(_, &w)| w)
                .max()
                .unwrap_or(12);
            let over = total(&widths) - max_width;
            widths[i] = w.saturating_sub(over).max(next.min(w - 1)).max(12);
        }
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut parts = Vec::with_capacity(n);
            for (i, c) in cells.into_iter().enumerate() {
                let c = cut(c, widths[i]);
                let pad = widths[i].saturating_sub(c.width());
                parts.push(match self.headers[i].1 {
                    Align::Left => format!("{c}{}", " ".repeat(pad)),
                    Align::Right => format!("{}{c}", " ".repeat(pad)),
                });
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        let head: Vec<&str> = self.headers.iter().map(|(h, _)| *h).collect();
        if bold {
            out.push_str("\x1b[1m");
        }
        line(head, &mut out);
        if bold {
            out.insert_str(out.len() - 1, "\x1b[0m");
        }
        for r in &self.rows {
            line(r.iter().map(String::as_str).collect(), &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_text_columns_share_the_cut() {
        let mut t = Table::new(&[
            ("CLIENT", Align::Left),
            ("N", Align::Right),
            ("POD", Align::Left),
        ]);
        t.row(vec!["c".repeat(60), "1".into(), "p".repeat(40)]);
        let s = t.render(60, false);
        let row = s.lines().nth(1).unwrap();
        let (client, pod) = (row.matches('c').count(), row.matches('p').count());
        assert!(row.width() <= 60, "{s}");
        // Neither is squeezed to the floor while the other keeps its width.
        assert!(
            client >= 20 && pod >= 20 && client.abs_diff(pod) <= 2,
            "{client} / {pod}: {s}"
        );
    }

    #[test]
    fn fits_width_and_neutralizes_escapes() {
        let mut t = Table::new(&[("NAME", Align::Left), ("N", Align::Right)]);
        t.row(vec!["\x1b[31mred".into(), "1".into()]);
        t.row(vec!["x".repeat(200), "22".into()]);
        let s = t.render(40, false);
        assert!(s.lines().all(|l| l.width() <= 40), "{s}");
        assert!(!s.contains('\x1b'));
        assert!(s.contains('…'));
        // Fixed columns wider than the terminal: no underflow, no panic.
        let mut t = Table::new(&[
            ("NAME", Align::Left),
            ("A", Align::Right),
            ("B", Align::Right),
        ]);
        t.row(vec![
            "kube-controller-manager/replicaset-controller".into(),
            "1".repeat(60),
            "2".repeat(60),
        ]);
        assert!(!t.render(80, false).is_empty());
    }
}
