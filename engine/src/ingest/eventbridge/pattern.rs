//! EventBridge event patterns: parse once (every error names the pattern path and the rule),
//! then match events.
//!
//! Semantics (EventBridge / Event Ruler): every field of the pattern must match (AND); a field's
//! array lists alternatives (OR); `$or` lists alternative sub-patterns at its level. An event
//! value that is an array matches when any element does; objects inside arrays are matched
//! element by element (all fields from the same element). Matchers apply to leaf values only: a
//! field whose event value is an object (or absent, or an empty array) matches only
//! `{"exists": false}`.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::ingest::error::join;
use crate::ingest::json::type_name;
use crate::ingest::{IngestError, Result};

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Node,
    source: Value,
}

/// One object level of a pattern.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    fields: Vec<(String, Field)>,
    /// `$or` at this level: at least two alternatives.
    any_of: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Nested(Node),
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Lit),
    Prefix { text: String, ignore_case: bool },
    Suffix { text: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(Range),
    Exists(bool),
    Cidr(Cidr),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Lit>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

/// A numeric range; an endpoint is (value, inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    lower: Option<(f64, bool)>,
    upper: Option<(f64, bool)>,
}

/// A wildcard pattern: literal characters and `*` (never two in a row).
#[derive(Debug, Clone, PartialEq)]
struct Wildcard(Vec<Tok>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Char(char),
    Star,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}

const OPERATORS: &str =
    "prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr";

fn bad(path: &str, rule: impl Into<String>) -> IngestError {
    IngestError::config(if path.is_empty() { "pattern" } else { path }, rule)
}

impl Pattern {
    /// Parses an event pattern (a JSON object); the error names the offending path in the pattern
    /// (`detail.state[0].anything-but`) and the rule.
    pub fn parse(pattern: &Value) -> Result<Pattern> {
        Ok(Pattern {
            root: node(pattern, "")?,
            source: pattern.clone(),
        })
    }

    /// The pattern as written.
    pub fn as_json(&self) -> &Value {
        &self.source
    }

    /// Whether `event` matches. Events that are not JSON objects never match.
    pub fn matches(&self, event: &Value) -> bool {
        match event {
            Value::Object(map) => match_node(&self.root, map),
            _ => false,
        }
    }
}

impl serde::Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.source.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Pattern::parse(&v).map_err(serde::de::Error::custom)
    }
}

// ---- parsing ----

fn node(v: &Value, path: &str) -> Result<Node> {
    let Value::Object(map) = v else {
        return Err(bad(
            path,
            format!("must be an object of fields (found {})", type_name(v)),
        ));
    };
    if map.is_empty() {
        return Err(bad(path, "must name at least one field"));
    }
    let mut fields = Vec::with_capacity(map.len());
    let mut any_of = None;
    for (k, v) in map {
        let p = join(path, k);
        if k == "$or" {
            let Value::Array(alts) = v else {
                return Err(bad(
                    &p,
                    format!("must be an array of patterns (found {})", type_name(v)),
                ));
            };
            if alts.len() < 2 {
                return Err(bad(&p, "must list at least two alternative patterns"));
            }
            let alts = alts
                .iter()
                .enumerate()
                .map(|(i, a)| node(a, &format!("{p}[{i}]")))
                .collect::<Result<Vec<_>>>()?;
            any_of = Some(alts);
            continue;
        }
        let field = match v {
            Value::Object(_) => Field::Nested(node(v, &p)?),
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(bad(&p, "must list at least one value or matcher"));
                }
                let ms = items
                    .iter()
                    .enumerate()
                    .map(|(i, m)| matcher(m, &format!("{p}[{i}]")))
                    .collect::<Result<Vec<_>>>()?;
                Field::Leaf(ms)
            }
            other => {
                return Err(bad(
                    &p,
                    format!(
                        "must be an array of values or matchers, or an object of fields (found {}; \
                         write [{other}])",
                        type_name(other)
                    ),
                ));
            }
        };
        fields.push((k.clone(), field));
    }
    Ok(Node { fields, any_of })
}

fn lit(v: &Value) -> Option<Lit> {
    match v {
        Value::String(s) => Some(Lit::Str(s.clone())),
        Value::Number(n) => n.as_f64().map(Lit::Num),
        Value::Bool(b) => Some(Lit::Bool(*b)),
        Value::Null => Some(Lit::Null),
        _ => None,
    }
}

fn string<'v>(v: &'v Value, path: &str) -> Result<&'v str> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(bad(
            path,
            format!("must be a string (found {})", type_name(other)),
        )),
    }
}

/// `{"op": value}` with exactly one key.
fn single(map: &Map<String, Value>, path: &str) -> Result<(String, String, Value)> {
    let mut it = map.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => Ok((k.clone(), join(path, k), v.clone())),
        (None, _) => Err(bad(path, format!("must name one matcher ({OPERATORS})"))),
        (Some(_), Some(_)) => Err(bad(
            path,
            "must name exactly one matcher per object; list several objects to OR them",
        )),
    }
}

/// A string, or `{"equals-ignore-case": string}` (prefix and suffix).
fn text_or_ignore_case(v: &Value, path: &str) -> Result<(String, bool)> {
    match v {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(m) => {
            let (op, p, inner) = single(m, path)?;
            if op != "equals-ignore-case" {
                return Err(bad(
                    &p,
                    "must be \"equals-ignore-case\" (the only modifier here)",
                ));
            }
            Ok((string(&inner, &p)?.to_owned(), true))
        }
        other => Err(bad(
            path,
            format!(
                "must be a string or {{\"equals-ignore-case\": string}} (found {})",
                type_name(other)
            ),
        )),
    }
}

/// A string or a non-empty array of strings.
fn strings(v: &Value, path: &str) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, s)| string(s, &format!("{path}[{i}]")).map(str::to_owned))
            .collect(),
        _ => Err(bad(
            path,
            "must be a string or a non-empty array of strings",
        )),
    }
}

fn matcher(v: &Value, path: &str) -> Result<Matcher> {
    let map = match v {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(bad(
                path,
                "must be a value or a matcher object, not an array",
            ));
        }
        scalar => {
            return lit(scalar)
                .map(Matcher::Exact)
                .ok_or_else(|| bad(path, "must be a finite number"));
        }
    };
    let (op, p, arg) = single(map, path)?;
    Ok(match op.as_str() {
        "prefix" => {
            let (text, ignore_case) = text_or_ignore_case(&arg, &p)?;
            Matcher::Prefix { text, ignore_case }
        }
        "suffix" => {
            let (text, ignore_case) = text_or_ignore_case(&arg, &p)?;
            Matcher::Suffix { text, ignore_case }
        }
        "equals-ignore-case" => Matcher::EqualsIgnoreCase(string(&arg, &p)?.to_owned()),
        "wildcard" => Matcher::Wildcard(wildcard(string(&arg, &p)?, &p)?),
        "anything-but" => Matcher::AnythingBut(anything_but(&arg, &p)?),
        "numeric" => Matcher::Numeric(numeric(&arg, &p)?),
        "exists" => match arg {
            Value::Bool(b) => Matcher::Exists(b),
            other => {
                return Err(bad(
                    &p,
                    format!("must be true or false (found {})", type_name(&other)),
                ));
            }
        },
        "cidr" => Matcher::Cidr(cidr(string(&arg, &p)?, &p)?),
        other => {
            return Err(bad(
                &p,
                format!("unknown matcher {other:?}; expected one of {OPERATORS}"),
            ));
        }
    })
}

fn anything_but(v: &Value, path: &str) -> Result<AnythingBut> {
    match v {
        Value::String(_) | Value::Number(_) => lit(v)
            .map(|l| AnythingBut::Values(vec![l]))
            .ok_or_else(|| bad(path, "must be a finite number")),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(bad(path, "must list at least one value"));
            }
            let all_str = items.iter().all(Value::is_string);
            let all_num = items.iter().all(Value::is_number);
            if !all_str && !all_num {
                return Err(bad(path, "must list only strings or only numbers"));
            }
            Ok(AnythingBut::Values(items.iter().filter_map(lit).collect()))
        }
        Value::Object(m) => {
            let (op, p, arg) = single(m, path)?;
            match op.as_str() {
                "prefix" => Ok(AnythingBut::Prefix(string(&arg, &p)?.to_owned())),
                "suffix" => Ok(AnythingBut::Suffix(string(&arg, &p)?.to_owned())),
                "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(strings(&arg, &p)?)),
                "wildcard" => {
                    let ws = strings(&arg, &p)?;
                    let ws = ws
                        .iter()
                        .map(|w| wildcard(w, &p))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(AnythingBut::Wildcard(ws))
                }
                other => Err(bad(
                    &p,
                    format!(
                        "unknown anything-but modifier {other:?}; expected prefix, suffix, \
                         equals-ignore-case or wildcard"
                    ),
                )),
            }
        }
        other => Err(bad(
            path,
            format!(
                "must be a string, a number, a list of either, or an object (found {})",
                type_name(other)
            ),
        )),
    }
}

fn numeric(v: &Value, path: &str) -> Result<Range> {
    let Value::Array(items) = v else {
        return Err(bad(path, "must be an array like [\">\", 0, \"<=\", 5]"));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(bad(
            path,
            "must be one or two (operator, number) pairs like [\">\", 0, \"<=\", 5]",
        ));
    }
    let mut range = Range {
        lower: None,
        upper: None,
    };
    for (i, pair) in items.chunks(2).enumerate() {
        let op_path = format!("{path}[{}]", 2 * i);
        let num_path = format!("{path}[{}]", 2 * i + 1);
        let op = string(&pair[0], &op_path)?;
        let Some(n) = pair[1].as_f64() else {
            return Err(bad(
                &num_path,
                format!("must be a number (found {})", type_name(&pair[1])),
            ));
        };
        let (slot, end) = match op {
            "=" => {
                if items.len() != 2 {
                    return Err(bad(&op_path, "\"=\" must be the only operator"));
                }
                range.lower = Some((n, true));
                range.upper = Some((n, true));
                continue;
            }
            ">" => (&mut range.lower, (n, false)),
            ">=" => (&mut range.lower, (n, true)),
            "<" => (&mut range.upper, (n, false)),
            "<=" => (&mut range.upper, (n, true)),
            other => {
                return Err(bad(
                    &op_path,
                    format!("unknown operator {other:?}; expected <, <=, =, >, >="),
                ));
            }
        };
        if slot.is_some() {
            return Err(bad(&op_path, "must not bound the same side twice"));
        }
        *slot = Some(end);
    }
    if let (Some((lo, _)), Some((hi, _))) = (range.lower, range.upper)
        && lo > hi
    {
        return Err(bad(
            path,
            format!("is empty: the lower bound {lo} is above the upper {hi}"),
        ));
    }
    Ok(range)
}

fn wildcard(s: &str, path: &str) -> Result<Wildcard> {
    let mut toks = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if toks.last() == Some(&Tok::Star) {
                    return Err(bad(path, "must not contain consecutive * wildcards"));
                }
                toks.push(Tok::Star);
            }
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => toks.push(Tok::Char(e)),
                _ => {
                    return Err(bad(
                        path,
                        "may escape only * and \\ with a backslash (write \\* or \\\\)",
                    ));
                }
            },
            c => toks.push(Tok::Char(c)),
        }
    }
    Ok(Wildcard(toks))
}

fn cidr(s: &str, path: &str) -> Result<Cidr> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let rule = "must be an IPv4 or IPv6 CIDR block like 10.0.0.0/24";
    let net: IpAddr = addr.parse().map_err(|_| bad(path, rule))?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => b
            .parse::<u8>()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| bad(path, rule))?,
    };
    Ok(Cidr { net, bits })
}

// ---- matching ----

fn match_node(node: &Node, obj: &Map<String, Value>) -> bool {
    node.fields.iter().all(|(k, f)| match_field(f, obj.get(k)))
        && node
            .any_of
            .as_ref()
            .is_none_or(|alts| alts.iter().any(|n| match_node(n, obj)))
}

fn match_field(field: &Field, value: Option<&Value>) -> bool {
    match field {
        Field::Nested(node) => {
            let mut objects = Vec::new();
            if let Some(v) = value {
                collect_objects(v, &mut objects);
            }
            if objects.is_empty() {
                // Nothing below: only `exists: false` leaves can match.
                match_node(node, &Map::new())
            } else {
                objects.iter().any(|o| match_node(node, o))
            }
        }
        Field::Leaf(matchers) => {
            let mut leaves = Vec::new();
            if let Some(v) = value {
                collect_leaves(v, &mut leaves);
            }
            if leaves.is_empty() {
                matchers.contains(&Matcher::Exists(false))
            } else {
                matchers
                    .iter()
                    .any(|m| leaves.iter().any(|v| match_leaf(m, v)))
            }
        }
    }
}

fn collect_objects<'v>(v: &'v Value, out: &mut Vec<&'v Map<String, Value>>) {
    match v {
        Value::Object(m) => out.push(m),
        Value::Array(items) => items.iter().for_each(|i| collect_objects(i, out)),
        _ => {}
    }
}

fn collect_leaves<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(_) => {}
        Value::Array(items) => items.iter().for_each(|i| collect_leaves(i, out)),
        leaf => out.push(leaf),
    }
}

fn lit_eq(l: &Lit, v: &Value) -> bool {
    match (l, v) {
        (Lit::Str(a), Value::String(b)) => a == b,
        (Lit::Num(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (Lit::Bool(a), Value::Bool(b)) => a == b,
        (Lit::Null, Value::Null) => true,
        _ => false,
    }
}

fn match_leaf(m: &Matcher, v: &Value) -> bool {
    let s = v.as_str();
    match m {
        Matcher::Exact(l) => lit_eq(l, v),
        Matcher::Exists(want) => *want,
        Matcher::Prefix { text, ignore_case } => s.is_some_and(|s| {
            if *ignore_case {
                s.to_lowercase().starts_with(&text.to_lowercase())
            } else {
                s.starts_with(text.as_str())
            }
        }),
        Matcher::Suffix { text, ignore_case } => s.is_some_and(|s| {
            if *ignore_case {
                s.to_lowercase().ends_with(&text.to_lowercase())
            } else {
                s.ends_with(text.as_str())
            }
        }),
        Matcher::EqualsIgnoreCase(t) => s.is_some_and(|s| s.to_lowercase() == t.to_lowercase()),
        Matcher::Wildcard(w) => s.is_some_and(|s| w.matches(s)),
        Matcher::Numeric(r) => v.as_f64().is_some_and(|n| r.contains(n)),
        Matcher::Cidr(c) => s
            .and_then(|s| s.parse::<IpAddr>().ok())
            .is_some_and(|ip| c.contains(ip)),
        Matcher::AnythingBut(a) => match a {
            AnythingBut::Values(ls) => !ls.iter().any(|l| lit_eq(l, v)),
            AnythingBut::Prefix(p) => !s.is_some_and(|s| s.starts_with(p.as_str())),
            AnythingBut::Suffix(p) => !s.is_some_and(|s| s.ends_with(p.as_str())),
            AnythingBut::IgnoreCase(ts) => !s.is_some_and(|s| {
                let s = s.to_lowercase();
                ts.iter().any(|t| t.to_lowercase() == s)
            }),
            AnythingBut::Wildcard(ws) => !s.is_some_and(|s| ws.iter().any(|w| w.matches(s))),
        },
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        let lo = self
            .lower
            .is_none_or(|(b, incl)| if incl { n >= b } else { n > b });
        let hi = self
            .upper
            .is_none_or(|(b, incl)| if incl { n <= b } else { n < b });
        lo && hi
    }
}

impl Wildcard {
    /// Glob match with one backtrack point (the last `*`): O(len(pattern) × len(text)).
    fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let p = &self.0;
        let (mut ti, mut pi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(Tok::Char(c)) if *c == t[ti] => {
                    ti += 1;
                    pi += 1;
                }
                Some(Tok::Star) => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|t| *t == Tok::Star)
    }
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix_eq(u32::from(n).into(), u32::from(a).into(), self.bits, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                prefix_eq(u128::from(n), u128::from(a), self.bits, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(net: u128, addr: u128, bits: u8, width: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (net >> shift) == (addr >> shift)
}
