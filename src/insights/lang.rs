//! Insights: a parser for the subset of the Logs Insights query language the templates use —
//! commands `fields`, `display`, `filter`, `filterIndex`, `parse`, `stats`, `sort`, `limit` joined by `|`, and
//! expressions with `and`/`or`/`not`, comparisons, `like`/`=~`, `in`, arithmetic and calls.

use regex::Regex;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
    /// `^`.
    Pow,
}

/// An expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A field, by its flattened name (`objectRef.resource`, `@message`).
    Field(String),
    /// A string literal.
    Str(String),
    /// A number literal.
    Num(f64),
    /// A duration literal such as `5m`, in ms (for `bin()`).
    Duration(i64),
    /// `/regex/`.
    Regex(Regex),
    /// `*` (only as `count(*)`).
    Star,
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `not e`.
    Not(Box<Expr>),
    /// `-e`.
    Neg(Box<Expr>),
    /// `a OP b`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `e like /re/`, `e like "text"`, `e =~ /re/`; `negated` for `not like`.
    Like(Box<Expr>, Box<Expr>, bool),
    /// `e in [..]`; `negated` for `not in`.
    In(Box<Expr>, Vec<Expr>, bool),
    /// `name(args)`.
    Call(String, Vec<Expr>),
}

/// What a `filterIndex` command asks the field index for.
#[derive(Debug, Clone)]
pub struct IndexFilter {
    /// The indexed field.
    pub field: String,
    /// The values it may hold (literals).
    pub values: Vec<Expr>,
    /// The same test as a filter, `field in [values]`: what an event must pass.
    pub test: Expr,
}

impl IndexFilter {
    /// The `filterIndex` command for `field` and `values`.
    fn command(field: String, values: Vec<Expr>) -> Command {
        let test = Expr::In(Box::new(Expr::Field(field.clone())), values.clone(), false);
        Command::FilterIndex(Self {
            field,
            values,
            test,
        })
    }
}

/// An expression with the name of the column it makes.
#[derive(Debug, Clone)]
pub struct Named {
    /// The expression.
    pub expr: Expr,
    /// Its alias, or its source text.
    pub name: String,
}

/// How `parse` matches.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// `"text * text *"` with `as a, b`: each `*` captures (shortest) text.
    Glob(Regex, Vec<String>),
    /// `/(?<name>…)/`: each named group is a field.
    Regex(Regex),
}

/// One command of the pipeline.
#[derive(Debug, Clone)]
pub enum Command {
    /// `fields e [as n], …`.
    Fields(Vec<Named>),
    /// `display f, …`.
    Display(Vec<String>),
    /// `filter e`.
    Filter(Expr),
    /// `filterIndex FIELD = value` or `filterIndex FIELD in [values]`: only events a field index
    /// knows to hold one of the values (CWL_QuerySyntax-FilterIndex).
    FilterIndex(IndexFilter),
    /// `parse FIELD PATTERN`.
    Parse(Expr, Pattern),
    /// `stats agg(…) [as n], … [by e [as n], …]`.
    Stats(Vec<Named>, Vec<Named>),
    /// `sort e [asc|desc], …`; true = descending.
    Sort(Vec<(Expr, bool)>),
    /// `limit n`.
    Limit(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Duration(i64),
    Regex(String),
    Op(&'static str),
}

const OPS: [&str; 20] = [
    "!=", "<=", ">=", "=~", "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", "[", "]", ",",
    "|", "!",
];

fn is_operand(t: Option<&Tok>) -> bool {
    match t {
        Some(Tok::Ident(w)) => !matches!(
            w.to_ascii_lowercase().as_str(),
            "like" | "and" | "or" | "not" | "in" | "by" | "as"
        ),
        Some(Tok::Num(_) | Tok::Duration(_) | Tok::Str(_) | Tok::Regex(_)) => true,
        Some(Tok::Op(o)) => matches!(*o, ")" | "]"),
        None => false,
    }
}

/// Splits a query into tokens with their byte offsets.
fn lex(src: &str) -> Result<Vec<(Tok, usize, usize)>, String> {
    let b = src.as_bytes();
    let mut out: Vec<(Tok, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let tok = if c == b'"' || c == b'\'' || c == b'`' {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(format!("unterminated {} at byte {start}", c as char)),
                    Some(&q) if q == c => break,
                    Some(b'\\') if c != b'`' && i + 1 < b.len() => {
                        s.push(b[i + 1] as char);
                        i += 2;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or(' ');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            i += 1;
            if c == b'`' {
                Tok::Ident(s)
            } else {
                Tok::Str(s)
            }
        } else if c == b'/' && !after_operand(&out) {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(format!("unterminated /regex/ at byte {start}")),
                    Some(b'/') => break,
                    Some(b'\\') if b.get(i + 1) == Some(&b'/') => {
                        s.push('/');
                        i += 2;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or(' ');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            i += 1;
            Tok::Regex(s)
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let n: f64 = src[start..i]
                .parse()
                .map_err(|_| format!("bad number '{}'", &src[start..i]))?;
            let unit_end = i + b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            if unit_end > i {
                let ms = match &src[i..unit_end] {
                    "ms" => 1.0,
                    "s" => 1e3,
                    "m" => 60e3,
                    "h" => 3_600e3,
                    "d" => 86_400e3,
                    "w" => 604_800e3,
                    u => {
                        return Err(format!(
                            "unknown time unit '{u}' in '{}'",
                            &src[start..unit_end]
                        ));
                    }
                };
                i = unit_end;
                Tok::Duration((n * ms) as i64)
            } else {
                Tok::Num(n)
            }
        } else if c.is_ascii_alphabetic() || c == b'@' || c == b'_' {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'@' | b'$'))
            {
                i += 1;
            }
            Tok::Ident(src[start..i].to_owned())
        } else if let Some(op) = OPS.iter().find(|o| src[i..].starts_with(**o)) {
            i += op.len();
            Tok::Op(op)
        } else {
            return Err(format!(
                "unexpected '{}' at byte {start}",
                src[i..].chars().next().unwrap_or('?')
            ));
        };
        out.push((tok, start, i));
    }
    Ok(out)
}

/// A `/` after an operand divides — except the pattern right after `parse FIELD`.
fn after_operand(toks: &[(Tok, usize, usize)]) -> bool {
    let n = toks.len();
    if n >= 2
        && matches!(&toks[n - 2].0, Tok::Ident(w) if w.eq_ignore_ascii_case("parse"))
        && (n == 2 || toks[n - 3].0 == Tok::Op("|"))
    {
        return false;
    }
    is_operand(toks.last().map(|t| &t.0))
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, usize, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }
    fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x.eq_ignore_ascii_case(w))
    }
    fn at_op(&self, o: &str) -> bool {
        self.peek()
            == Some(&Tok::Op(match OPS.iter().find(|x| **x == o) {
                Some(x) => x,
                None => return false,
            }))
    }
    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.at_word(w);
        self.pos += usize::from(yes);
        yes
    }
    fn eat_op(&mut self, o: &str) -> bool {
        let yes = self.at_op(o);
        self.pos += usize::from(yes);
        yes
    }
    fn expect_op(&mut self, o: &str) -> Result<(), String> {
        if self.eat_op(o) {
            Ok(())
        } else {
            Err(format!("expected '{o}' {}", self.here()))
        }
    }
    fn here(&self) -> String {
        match self.toks.get(self.pos) {
            Some((_, s, _)) => format!(
                "at '{}'",
                self.src[*s..].chars().take(30).collect::<String>()
            ),
            None => "at the end of the query".to_owned(),
        }
    }
    fn text_since(&self, from: usize) -> String {
        let (s, e) = (self.toks[from].1, self.toks[self.pos - 1].2);
        self.src[s..e]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn ident(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Ident(w)) => Ok(w),
            _ => {
                self.pos -= 1;
                Err(format!("expected a field name {}", self.here()))
            }
        }
    }

    fn named(&mut self) -> Result<Named, String> {
        let from = self.pos;
        let expr = self.expr()?;
        let text = self.text_since(from);
        let name = if self.eat_word("as") {
            self.ident()?
        } else if let Expr::Field(f) = &expr {
            f.clone()
        } else {
            text
        };
        Ok(Named { expr, name })
    }

    fn named_list(&mut self) -> Result<Vec<Named>, String> {
        let mut v = vec![self.named()?];
        while self.eat_op(",") {
            v.push(self.named()?);
        }
        Ok(v)
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.eat_word("or") {
            l = Expr::Bin(BinOp::Or, Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.not()?;
        while self.eat_word("and") {
            l = Expr::Bin(BinOp::And, Box::new(l), Box::new(self.not()?));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_word("not") || self.eat_op("!") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }
    fn comparison(&mut self) -> Result<Expr, String> {
        let l = self.additive()?;
        let negated = self.at_word("not");
        if negated {
            self.pos += 1;
        }
        if self.eat_word("like") || (!negated && self.eat_op("=~")) {
            let r = self.additive()?;
            return Ok(Expr::Like(Box::new(l), Box::new(r), negated));
        }
        if self.eat_word("in") {
            self.expect_op("[")?;
            let mut items = Vec::new();
            if !self.eat_op("]") {
                loop {
                    items.push(self.additive()?);
                    if self.eat_op("]") {
                        break;
                    }
                    self.expect_op(",")?;
                }
            }
            return Ok(Expr::In(Box::new(l), items, negated));
        }
        if negated {
            return Err(format!(
                "expected 'like' or 'in' after 'not' {}",
                self.here()
            ));
        }
        let op = match self.peek() {
            Some(Tok::Op("=")) => BinOp::Eq,
            Some(Tok::Op("!=")) => BinOp::Ne,
            Some(Tok::Op("<")) => BinOp::Lt,
            Some(Tok::Op("<=")) => BinOp::Le,
            Some(Tok::Op(">")) => BinOp::Gt,
            Some(Tok::Op(">=")) => BinOp::Ge,
            _ => return Ok(l),
        };
        self.pos += 1;
        Ok(Expr::Bin(op, Box::new(l), Box::new(self.additive()?)))
    }
    fn additive(&mut self) -> Result<Expr, String> {
        let mut l = self.term()?;
        loop {
            let op = if self.eat_op("+") {
                BinOp::Add
            } else if self.eat_op("-") {
                BinOp::Sub
            } else {
                return Ok(l);
            };
            l = Expr::Bin(op, Box::new(l), Box::new(self.term()?));
        }
    }
    fn term(&mut self) -> Result<Expr, String> {
        let mut l = self.power()?;
        loop {
            let op = if self.eat_op("*") {
                BinOp::Mul
            } else if self.eat_op("/") {
                BinOp::Div
            } else if self.eat_op("%") {
                BinOp::Rem
            } else {
                return Ok(l);
            };
            l = Expr::Bin(op, Box::new(l), Box::new(self.power()?));
        }
    }
    fn power(&mut self) -> Result<Expr, String> {
        let base = self.unary()?;
        if self.eat_op("^") {
            return Ok(Expr::Bin(
                BinOp::Pow,
                Box::new(base),
                Box::new(self.power()?),
            ));
        }
        Ok(base)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Duration(d)) => Ok(Expr::Duration(d)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Regex(r)) => Regex::new(&r)
                .map(Expr::Regex)
                .map_err(|e| format!("bad regex /{r}/: {e}")),
            Some(Tok::Op("*")) => Ok(Expr::Star),
            Some(Tok::Op("(")) => {
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Some(Tok::Ident(name)) if self.at_op("(") => {
                self.pos += 1;
                let mut args = Vec::new();
                if !self.eat_op(")") {
                    loop {
                        args.push(self.expr()?);
                        if self.eat_op(")") {
                            break;
                        }
                        self.expect_op(",")?;
                    }
                }
                Ok(Expr::Call(name.to_ascii_lowercase(), args))
            }
            Some(Tok::Ident(name)) => Ok(Expr::Field(name)),
            _ => {
                self.pos -= 1;
                Err(format!("expected a value {}", self.here()))
            }
        }
    }

    fn command(&mut self) -> Result<Command, String> {
        let word = self.ident()?.to_ascii_lowercase();
        Ok(match word.as_str() {
            "fields" => Command::Fields(self.named_list()?),
            "display" => {
                let mut v = vec![self.ident()?];
                while self.eat_op(",") {
                    v.push(self.ident()?);
                }
                Command::Display(v)
            }
            "filter" => Command::Filter(self.expr()?),
            "filterindex" => self.filter_index()?,
            "parse" => self.parse_command()?,
            "stats" => {
                let aggs = self.named_list()?;
                let by = if self.eat_word("by") {
                    self.named_list()?
                } else {
                    Vec::new()
                };
                Command::Stats(aggs, by)
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let e = self.additive()?;
                    // Descending unless asked otherwise, as Logs Insights does.
                    let desc = !self.eat_word("asc");
                    self.eat_word("desc");
                    keys.push((e, desc));
                    if !self.eat_op(",") {
                        break;
                    }
                }
                Command::Sort(keys)
            }
            "limit" => match self.next() {
                Some(Tok::Num(n)) if n >= 1.0 && n.fract() == 0.0 => Command::Limit(n as usize),
                _ => return Err("limit takes a whole number of rows".into()),
            },
            w => {
                return Err(format!(
                    "unsupported command '{w}': the local evaluator knows fields, display, filter, filterIndex, parse, stats, sort and limit"
                ));
            }
        })
    }

    /// The two documented forms only: `FIELD = literal`, `FIELD in [literal, …]`.
    fn filter_index(&mut self) -> Result<Command, String> {
        let literal = |e: &Expr| matches!(e, Expr::Str(_) | Expr::Num(_));
        match self.expr()? {
            Expr::Bin(BinOp::Eq, f, v) if literal(&v) => match *f {
                Expr::Field(name) => Ok(IndexFilter::command(name, vec![*v])),
                _ => Err(format!(
                    "filterIndex takes a field on the left {}",
                    self.here()
                )),
            },
            Expr::In(f, values, false) if values.iter().all(literal) => match *f {
                Expr::Field(name) => Ok(IndexFilter::command(name, values)),
                _ => Err(format!(
                    "filterIndex takes a field on the left {}",
                    self.here()
                )),
            },
            _ => Err(format!(
                "filterIndex takes FIELD = \"value\" or FIELD in [\"value\", …] {}",
                self.here()
            )),
        }
    }

    fn parse_command(&mut self) -> Result<Command, String> {
        let field = Expr::Field(self.ident()?);
        match self.next() {
            Some(Tok::Regex(r)) => {
                let re = Regex::new(&r).map_err(|e| format!("bad regex /{r}/: {e}"))?;
                if re.capture_names().flatten().next().is_none() {
                    return Err(format!("parse /{r}/ names no field: use (?<name>...)"));
                }
                Ok(Command::Parse(field, Pattern::Regex(re)))
            }
            Some(Tok::Str(glob)) => {
                if !self.eat_word("as") {
                    return Err(format!("parse \"{glob}\" needs 'as field, ...'"));
                }
                let mut names = vec![self.ident()?];
                while self.eat_op(",") {
                    names.push(self.ident()?);
                }
                let parts: Vec<String> = glob.split('*').map(regex::escape).collect();
                if parts.len() - 1 != names.len() {
                    return Err(format!(
                        "parse \"{glob}\" has {} '*' but {} names",
                        parts.len() - 1,
                        names.len()
                    ));
                }
                let re = Regex::new(&format!("(?s){}", parts.join("(.*?)")))
                    .map_err(|e| e.to_string())?;
                Ok(Command::Parse(field, Pattern::Glob(re, names)))
            }
            _ => Err(format!(
                "parse takes a \"glob * pattern\" or a /regex/ {}",
                self.here()
            )),
        }
    }
}

/// Parses a whole query into its commands.
///
/// # Errors
/// What is wrong and where, quoting the text.
pub fn parse(query: &str) -> Result<Vec<Command>, String> {
    let toks = lex(query)?;
    let mut p = Parser {
        src: query,
        toks,
        pos: 0,
    };
    let mut commands = Vec::new();
    while p.peek().is_some() {
        commands.push(p.command()?);
        if p.peek().is_some() && !p.eat_op("|") {
            return Err(format!("expected '|' between commands {}", p.here()));
        }
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_template() {
        for t in super::super::template::all() {
            let q = t.render(&std::collections::BTreeMap::new()).unwrap();
            parse(&q).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
    }

    #[test]
    fn filter_index_takes_the_documented_forms_only() {
        let c = parse(r#"filterIndex verb in ["create", "patch"] | filterIndex stage = "Panic""#)
            .unwrap();
        let Command::FilterIndex(f) = &c[0] else {
            panic!("{c:?}")
        };
        assert_eq!((f.field.as_str(), f.values.len()), ("verb", 2));
        assert!(matches!(&c[1], Command::FilterIndex(f) if f.field == "stage"));
        for bad in [
            r#"filterIndex verb like /list/"#,
            r#"filterIndex verb != "list""#,
            r#"filterIndex verb not in ["list"]"#,
            r#"filterIndex "list" = verb"#,
            r#"filterIndex verb = userAgent"#,
        ] {
            assert!(parse(bad).unwrap_err().contains("filterIndex"), "{bad}");
        }
    }

    #[test]
    fn regex_versus_division() {
        let c = parse("fields a / 2 as half | filter b like /x\\/y/ | parse @message /(?<n>\\d+)/")
            .unwrap();
        assert!(
            matches!(&c[0], Command::Fields(f) if matches!(f[0].expr, Expr::Bin(BinOp::Div, ..)))
        );
        assert!(
            matches!(&c[1], Command::Filter(Expr::Like(_, r, false)) if matches!(**r, Expr::Regex(ref re) if re.as_str() == "x/y"))
        );
        assert!(matches!(&c[2], Command::Parse(_, Pattern::Regex(_))));
    }

    #[test]
    fn names_and_errors() {
        let c = parse("stats count(*), pct(lat, 99) as p99 by bin(5m), `annotations.a/b`").unwrap();
        let Command::Stats(aggs, by) = &c[0] else {
            panic!()
        };
        assert_eq!(aggs[0].name, "count(*)");
        assert_eq!(aggs[1].name, "p99");
        assert_eq!(by[0].name, "bin(5m)");
        assert!(
            matches!(by[0].expr, Expr::Call(_, ref a) if matches!(a[0], Expr::Duration(300_000)))
        );
        assert_eq!(by[1].name, "annotations.a/b");
        assert!(
            parse("filter a = ")
                .unwrap_err()
                .contains("expected a value")
        );
        assert!(
            parse("dedup x")
                .unwrap_err()
                .contains("unsupported command 'dedup'")
        );
        assert!(
            parse("parse @message \"a * b *\" as x")
                .unwrap_err()
                .contains("2 '*' but 1")
        );
        assert!(
            parse("filter a = 1 filter")
                .unwrap_err()
                .contains("expected '|'")
        );
    }
}
