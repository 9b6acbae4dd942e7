//! Insights: evaluating expressions on one record — field lookup with Logs Insights' JSON
//! flattening (`objectRef.resource`, `annotations.apiserver.latency.k8s.io/etcd`,
//! `sourceIPs.0`), operators and scalar functions.
//!
//! A comparison with a missing field is false, whatever the operator (`!=`, `not in` and
//! `not like` included), so templates say `not (f = "x")` when a missing `f` should pass.

use std::rc::Rc;

use serde_json::Value as Json;

use super::lang::{BinOp, Expr};
use super::value::{Value, compare, equals};

/// One log event as read: its JSON (null when the line is not JSON), text and time.
#[derive(Debug, Clone)]
pub struct Event {
    /// The parsed message.
    pub json: Json,
    /// `@message`.
    pub message: String,
    /// `@timestamp`, epoch ms.
    pub timestamp: Option<i64>,
    /// `@logStream` (none for a file).
    pub log_stream: Option<String>,
}

/// A record flowing through the pipeline: an event (until `stats`) plus computed fields.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The event, before `stats`.
    pub event: Option<Rc<Event>>,
    /// Fields set by `fields`, `parse` and `stats`, latest last.
    pub fields: Vec<(String, Value)>,
}

impl Row {
    /// Sets a field, replacing an earlier value of the same name.
    pub fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.fields.iter_mut().find(|(n, _)| n == name) {
            slot.1 = v;
        } else {
            self.fields.push((name.to_owned(), v));
        }
    }

    /// A field's value: computed fields first, then the event's.
    #[must_use]
    pub fn get(&self, name: &str) -> Value {
        if let Some((_, v)) = self.fields.iter().find(|(n, _)| n == name) {
            return v.clone();
        }
        let Some(ev) = &self.event else {
            return Value::Null;
        };
        match name {
            "@message" => Value::Str(ev.message.clone()),
            "@timestamp" => ev.timestamp.map_or(Value::Null, Value::Time),
            "@logStream" => ev.log_stream.clone().map_or(Value::Null, Value::Str),
            _ => resolve(&ev.json, name).map_or(Value::Null, from_json),
        }
    }
}

/// Finds a flattened name in JSON: keys may themselves hold dots (`apiserver.latency.k8s.io/etcd`),
/// so each prefix up to a dot is tried as a key.
fn resolve<'a>(v: &'a Json, path: &str) -> Option<&'a Json> {
    match v {
        Json::Object(m) => {
            if let Some(x) = m.get(path) {
                return Some(x);
            }
            path.match_indices('.')
                .find_map(|(i, _)| m.get(&path[..i]).and_then(|x| resolve(x, &path[i + 1..])))
        }
        Json::Array(a) => {
            let (idx, rest) = path.split_once('.').unwrap_or((path, ""));
            let x = a.get(idx.parse::<usize>().ok()?)?;
            if rest.is_empty() {
                Some(x)
            } else {
                resolve(x, rest)
            }
        }
        _ => None,
    }
}

fn from_json(v: &Json) -> Value {
    match v {
        Json::String(s) => Value::Str(s.clone()),
        Json::Number(n) => n.as_f64().map_or(Value::Null, Value::Num),
        Json::Bool(b) => Value::Bool(*b),
        // Logs Insights flattens objects and arrays into their leaves: the node itself is no field.
        Json::Null | Json::Object(_) | Json::Array(_) => Value::Null,
    }
}

/// The scalar functions this evaluator knows (aggregates live in `local`).
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "bin",
    "ceil",
    "coalesce",
    "concat",
    "floor",
    "frommillis",
    "greatest",
    "isblank",
    "isempty",
    "ispresent",
    "least",
    "log",
    "sqrt",
    "strlen",
    "substr",
    "tolower",
    "tomillis",
    "toupper",
    "trim",
];

fn num(v: &Value) -> Option<f64> {
    v.num()
}

fn text(v: &Value) -> Option<String> {
    v.text()
}

/// Evaluates an expression on a row.
#[must_use]
pub fn eval(e: &Expr, row: &Row) -> Value {
    match e {
        Expr::Field(f) => row.get(f),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Num(n) => Value::Num(*n),
        Expr::Duration(ms) => Value::Num(*ms as f64),
        Expr::Regex(r) => Value::Str(r.as_str().to_owned()),
        Expr::Star | Expr::List(_) => Value::Null,
        Expr::Not(x) => Value::Bool(!eval(x, row).truthy()),
        Expr::Neg(x) => num(&eval(x, row)).map_or(Value::Null, |n| Value::Num(-n)),
        Expr::Bin(op, a, b) => binary(*op, a, b, row),
        Expr::Like(a, pat, negated) => {
            let Some(s) = text(&eval(a, row)) else {
                return Value::Bool(false);
            };
            let hit = match &**pat {
                Expr::Regex(re) => re.is_match(&s),
                p => text(&eval(p, row)).is_some_and(|t| s.contains(&t)),
            };
            Value::Bool(hit != *negated)
        }
        Expr::In(a, items, negated) => {
            let v = eval(a, row);
            if !v.is_present() {
                return Value::Bool(false);
            }
            let hit = items
                .iter()
                .any(|i| equals(&v, &eval(i, row)) == Some(true));
            Value::Bool(hit != *negated)
        }
        Expr::Call(name, args) => call(name, args, row),
    }
}

fn binary(op: BinOp, a: &Expr, b: &Expr, row: &Row) -> Value {
    match op {
        BinOp::And => return Value::Bool(eval(a, row).truthy() && eval(b, row).truthy()),
        BinOp::Or => return Value::Bool(eval(a, row).truthy() || eval(b, row).truthy()),
        _ => {}
    }
    let (x, y) = (eval(a, row), eval(b, row));
    let cmp = |f: fn(std::cmp::Ordering) -> bool| Value::Bool(compare(&x, &y).is_some_and(f));
    match op {
        BinOp::Eq => Value::Bool(equals(&x, &y) == Some(true)),
        BinOp::Ne => Value::Bool(equals(&x, &y) == Some(false)),
        BinOp::Lt => cmp(std::cmp::Ordering::is_lt),
        BinOp::Le => cmp(std::cmp::Ordering::is_le),
        BinOp::Gt => cmp(std::cmp::Ordering::is_gt),
        BinOp::Ge => cmp(std::cmp::Ordering::is_ge),
        _ => {
            let (Some(p), Some(q)) = (num(&x), num(&y)) else {
                return Value::Null;
            };
            let r = match op {
                BinOp::Add => p + q,
                BinOp::Sub => p - q,
                BinOp::Mul => p * q,
                BinOp::Div if q != 0.0 => p / q,
                BinOp::Rem if q != 0.0 => p % q,
                BinOp::Pow => p.powf(q),
                _ => return Value::Null,
            };
            if r.is_finite() {
                Value::Num(r)
            } else {
                Value::Null
            }
        }
    }
}

fn call(name: &str, args: &[Expr], row: &Row) -> Value {
    let vals: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
    let first = vals.first().cloned().unwrap_or(Value::Null);
    let n1 = |f: fn(f64) -> f64| {
        num(&first)
            .map(f)
            .filter(|r| r.is_finite())
            .map_or(Value::Null, Value::Num)
    };
    let s1 = |f: fn(&str) -> String| text(&first).map_or(Value::Null, |s| Value::Str(f(&s)));
    match name {
        "ispresent" => Value::Bool(first.is_present()),
        "isempty" => Value::Bool(text(&first).is_none_or(|s| s.is_empty())),
        "isblank" => Value::Bool(text(&first).is_none_or(|s| s.trim().is_empty())),
        "coalesce" => vals
            .into_iter()
            .find(Value::is_present)
            .unwrap_or(Value::Null),
        "concat" => Value::Str(vals.iter().filter_map(text).collect()),
        "strlen" => text(&first).map_or(Value::Null, |s| Value::Num(s.chars().count() as f64)),
        "tolower" => s1(str::to_lowercase),
        "toupper" => s1(str::to_uppercase),
        "trim" => s1(|s| s.trim().to_owned()),
        "substr" => {
            let Some(s) = text(&first) else {
                return Value::Null;
            };
            let start = vals.get(1).and_then(num).unwrap_or(0.0).max(0.0) as usize;
            let len = vals
                .get(2)
                .and_then(num)
                .map_or(usize::MAX, |l| l.max(0.0) as usize);
            Value::Str(s.chars().skip(start).take(len).collect())
        }
        "abs" => n1(f64::abs),
        "floor" => n1(f64::floor),
        "ceil" => n1(f64::ceil),
        "log" => n1(f64::ln),
        "sqrt" => n1(f64::sqrt),
        "greatest" | "least" => {
            let nums: Vec<f64> = vals.iter().filter_map(num).collect();
            let pick = if name == "greatest" {
                nums.into_iter().reduce(f64::max)
            } else {
                nums.into_iter().reduce(f64::min)
            };
            pick.map_or(Value::Null, Value::Num)
        }
        "bin" => {
            let period = num(&first)
                .filter(|p| *p >= 1.0)
                .map_or(60_000, |p| p as i64);
            match row.get("@timestamp").num() {
                Some(t) => Value::Time((t as i64).div_euclid(period) * period),
                None => Value::Null,
            }
        }
        "frommillis" => num(&first).map_or(Value::Null, |n| Value::Time(n as i64)),
        "tomillis" => match &first {
            Value::Str(s) => {
                super::value::parse_time(s).map_or(Value::Null, |t| Value::Num(t as f64))
            }
            v => num(v).map_or(Value::Null, Value::Num),
        },
        _ => Value::Null,
    }
}

/// Checks every call in an expression names a known scalar function.
///
/// # Errors
/// The unknown name, with the known ones.
pub fn check(e: &Expr) -> Result<(), String> {
    match e {
        Expr::Call(name, args) => {
            if !FUNCTIONS.contains(&name.as_str()) {
                return Err(format!(
                    "unknown function '{name}()'; the local evaluator knows {}",
                    FUNCTIONS.join(", ")
                ));
            }
            args.iter().try_for_each(check)
        }
        Expr::Not(x) | Expr::Neg(x) => check(x),
        Expr::Bin(_, a, b) | Expr::Like(a, b, _) => check(a).and_then(|()| check(b)),
        Expr::In(a, items, _) => check(a).and_then(|()| items.iter().try_for_each(check)),
        Expr::List(items) => items.iter().try_for_each(check),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> Row {
        Row {
            event: Some(Rc::new(Event {
                json: serde_json::from_str(json).unwrap(),
                message: json.to_owned(),
                timestamp: Some(90_000),
                log_stream: None,
            })),
            fields: Vec::new(),
        }
    }

    fn ev(q: &str, r: &Row) -> Value {
        let cmds = super::super::lang::parse(&format!("fields {q} as x")).unwrap();
        let super::super::lang::Command::Fields(f) = &cmds[0] else {
            panic!()
        };
        eval(&f[0].expr, r)
    }

    #[test]
    fn flattened_names() {
        let r = row(
            r#"{"objectRef":{"resource":"pods"},"annotations":{"apiserver.latency.k8s.io/etcd":"1.2ms"},"sourceIPs":["10.0.0.1"],"responseStatus":{"code":409}}"#,
        );
        assert_eq!(ev("objectRef.resource", &r), Value::Str("pods".into()));
        assert_eq!(
            ev("`annotations.apiserver.latency.k8s.io/etcd`", &r),
            Value::Str("1.2ms".into())
        );
        assert_eq!(ev("sourceIPs.0", &r), Value::Str("10.0.0.1".into()));
        assert_eq!(ev("objectRef", &r), Value::Null);
        assert_eq!(
            ev("responseStatus.code in [404, 409]", &r),
            Value::Bool(true)
        );
        assert_eq!(
            ev("1 - least(1, abs(responseStatus.code - 429))", &r),
            Value::Num(0.0)
        );
        assert_eq!(ev("floor(responseStatus.code / 400)", &r), Value::Num(1.0));
    }

    #[test]
    fn missing_fields_compare_false() {
        let r = row(r#"{"verb":"get"}"#);
        assert_eq!(ev("nope != \"x\"", &r), Value::Bool(false));
        assert_eq!(ev("not (nope = \"x\")", &r), Value::Bool(true));
        assert_eq!(ev("nope not in [\"x\"]", &r), Value::Bool(false));
        assert_eq!(ev("nope + 1", &r), Value::Null);
        assert_eq!(ev("coalesce(nope, verb)", &r), Value::Str("get".into()));
        assert_eq!(
            ev("verb like /^g/ and verb like \"et\"", &r),
            Value::Bool(true)
        );
        assert_eq!(ev("bin(1m)", &r), Value::Time(60_000));
        assert_eq!(ev("\"12\" * 2", &r), Value::Num(24.0));
    }
}
