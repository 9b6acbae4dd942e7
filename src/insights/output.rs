//! Insights: query results in the shape GetQueryResults returns them (named columns, every
//! value text or absent), printed as an aligned table, JSON or CSV.

use std::io::{self, Write};

use serde::Serialize;

use super::value::{format_time, parse_time};

/// Result rows; a `None` value is a field the row does not have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResultSet {
    /// Column names in display order.
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<Option<String>>>,
}

/// How to print rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RowFormat {
    /// Aligned columns.
    Table,
    /// `{"columns": [...], "rows": [{"col": "value"}], ...}`.
    Json,
    /// RFC 4180 CSV with a header line.
    Csv,
}

impl ResultSet {
    /// The rows with the query's own columns, in its order: GetQueryResults carries no column
    /// list, and leaves out a field that is null (so a column null in every row, or every
    /// column of an empty answer, is absent). Declared columns absent here are null; columns
    /// the query did not declare stay, after them.
    #[must_use]
    pub fn conform(self, declared: &[String]) -> Self {
        let mut columns: Vec<String> = declared.to_vec();
        columns.extend(
            self.columns
                .iter()
                .filter(|c| !declared.contains(c))
                .cloned(),
        );
        let at: Vec<Option<usize>> = columns
            .iter()
            .map(|c| self.columns.iter().position(|x| x == c))
            .collect();
        let rows = self
            .rows
            .into_iter()
            .map(|r| at.iter().map(|i| i.and_then(|i| r[i].clone())).collect())
            .collect();
        Self { columns, rows }
    }

    /// Rows as objects keyed by column (values stay text, as AWS returns them).
    #[must_use]
    pub fn objects(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .filter_map(|(c, v)| Some((c.clone(), serde_json::Value::String(v.clone()?))))
                    .collect()
            })
            .collect()
    }
}

/// Converts GetQueryResults rows (lists of field/value pairs) to a [`ResultSet`]: columns in
/// first-seen order, `@ptr` dropped, `@timestamp` normalized to `YYYY-MM-DD HH:MM:SS.mmm`
/// whether it came as that (AWS) or as epoch ms (moto).
#[must_use]
pub fn result_set(rows: &[Vec<(String, String)>]) -> ResultSet {
    let mut columns: Vec<String> = Vec::new();
    for r in rows {
        for (f, _) in r {
            if f != "@ptr" && !columns.contains(f) {
                columns.push(f.clone());
            }
        }
    }
    let rows = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    r.iter().find(|(f, _)| f == c).map(|(_, v)| {
                        if c == "@timestamp" {
                            parse_time(v).map_or_else(|| v.clone(), format_time)
                        } else {
                            v.clone()
                        }
                    })
                })
                .collect()
        })
        .collect();
    ResultSet { columns, rows }
}

/// A quoted CSV cell, neutralized for spreadsheets ([`crate::render::sanitize::csv`]).
fn csv_cell(s: &str) -> String {
    let s = crate::render::sanitize::csv(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Prints `rs` with `extra` (run facts: template, window, statistics) in the JSON form.
///
/// # Errors
/// Write errors.
pub fn render(
    rs: &ResultSet,
    format: RowFormat,
    extra: &serde_json::Map<String, serde_json::Value>,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        RowFormat::Json => {
            let mut doc = extra.clone();
            doc.insert("columns".into(), serde_json::json!(rs.columns));
            doc.insert("rows".into(), serde_json::json!(rs.objects()));
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            writeln!(w)
        }
        RowFormat::Csv => {
            let head: Vec<String> = rs.columns.iter().map(|c| csv_cell(c)).collect();
            writeln!(w, "{}", head.join(","))?;
            for r in &rs.rows {
                let cells: Vec<String> = r
                    .iter()
                    .map(|v| csv_cell(v.as_deref().unwrap_or("")))
                    .collect();
                writeln!(w, "{}", cells.join(","))?;
            }
            Ok(())
        }
        RowFormat::Table => table(rs, w),
    }
}

/// Aligned columns; control characters (a userAgent is attacker-controlled) are escaped and
/// long cells cut at 80 characters.
fn table(rs: &ResultSet, w: &mut dyn Write) -> io::Result<()> {
    const MAX: usize = 80;
    let clean = |s: &str| -> String {
        let s = crate::render::table::sanitize(s);
        if s.chars().count() > MAX {
            let mut t: String = s.chars().take(MAX - 1).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let cells: Vec<Vec<String>> = rs
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| clean(v.as_deref().unwrap_or("-")))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = rs
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |w: &mut dyn Write, vals: &[String]| -> io::Result<()> {
        let mut s = String::new();
        for (i, (v, width)) in vals.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(v);
            if i + 1 < vals.len() {
                s.extend(std::iter::repeat_n(' ', width - v.chars().count()));
            }
        }
        writeln!(w, "{s}")
    };
    let head: Vec<String> = rs.columns.iter().map(|c| clean(c)).collect();
    line(w, &head)?;
    for r in &cells {
        line(w, r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_takes_the_query_columns_in_their_order() {
        let s = |v: &str| Some(v.to_owned());
        let declared: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
        // The service saw `c` before `a` and `b` never; `x` the query did not declare.
        let rs = ResultSet {
            columns: vec!["c".into(), "x".into(), "a".into()],
            rows: vec![vec![s("3"), s("9"), None], vec![None, None, s("1")]],
        }
        .conform(&declared);
        assert_eq!(rs.columns, ["a", "b", "c", "x"]);
        assert_eq!(
            rs.rows,
            [
                vec![None, None, s("3"), s("9")],
                vec![s("1"), None, None, None]
            ]
        );
        let empty = ResultSet::default().conform(&declared);
        assert_eq!((empty.columns, empty.rows.len()), (declared, 0));
    }

    #[test]
    fn csv_quotes_and_table_aligns() {
        let rs = ResultSet {
            columns: vec!["a".into(), "count".into()],
            rows: vec![
                vec![Some("x,\"y\"".into()), Some("10".into())],
                vec![None, Some("2".into())],
            ],
        };
        let mut out = Vec::new();
        render(&rs, RowFormat::Csv, &serde_json::Map::new(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,count\n\"x,\"\"y\"\"\",10\n,2\n"
        );
        let mut out = Vec::new();
        render(&rs, RowFormat::Table, &serde_json::Map::new(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a      count\nx,\"y\"  10\n-      2\n"
        );
    }
}
