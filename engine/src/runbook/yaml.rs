//! Source text (YAML or JSON) → a located value tree, with budgets: size, depth, nodes (aliases
//! are expanded against the node budget, so alias bombs stop early). Never panics.

use super::diag::{Diagnostic, code};
use super::source::{SourceText, Span};
use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle};
use std::collections::HashMap;

/// Resource budgets for one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum document size in bytes.
    pub max_bytes: usize,
    /// Maximum nesting of sequences and mappings.
    pub max_depth: usize,
    /// Maximum number of nodes, counting every node an alias expands to.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A located value. Mapping keys are scalars (kept as nodes for their spans).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Span,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar key (`true`, `1` and `x` all become strings).
    pub fn key_text(&self) -> String {
        match &self.kind {
            Kind::Str(s) => s.clone(),
            Kind::Null => "null".into(),
            Kind::Bool(b) => b.to_string(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => f.to_string(),
            Kind::Seq(_) | Kind::Map(_) => String::new(),
        }
    }

    /// Look up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(f.to_string())),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    fn count(&self) -> usize {
        match &self.kind {
            Kind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Kind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
            _ => 1,
        }
    }

    fn depth(&self) -> usize {
        match &self.kind {
            Kind::Seq(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Kind::Map(entries) => 1 + entries.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// Which syntax to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Yaml,
    Json,
}

/// Parse one document into a located tree, or return the one diagnostic that stopped it.
pub(crate) fn parse(src: &SourceText, syntax: Syntax, limits: &Limits) -> Result<Node, Diagnostic> {
    if src.text.len() > limits.max_bytes {
        return Err(Diagnostic::error(
            code::TOO_LARGE,
            format!(
                "document is {} bytes; the limit is {} bytes",
                src.text.len(),
                limits.max_bytes
            ),
        )
        .at(Span::new(0, 0))
        .hint("split the runbook, or move large data out of it (pass it as a parameter)"));
    }
    if syntax == Syntax::Json {
        check_json(src)?;
    }
    let node = parse_yaml(src, limits)?;
    if node.depth() > limits.max_depth {
        return Err(depth_error(node.span, limits));
    }
    Ok(node)
}

fn depth_error(span: Span, limits: &Limits) -> Diagnostic {
    Diagnostic::error(
        code::LIMIT,
        format!("nesting is deeper than {} levels", limits.max_depth),
    )
    .at(span)
    .hint("runbooks are shallow documents; flatten the structure")
}

fn check_json(src: &SourceText) -> Result<(), Diagnostic> {
    match serde_json::from_str::<serde::de::IgnoredAny>(&src.text) {
        Ok(_) => Ok(()),
        Err(e) => {
            let offset = src.offset_of(e.line(), e.column().saturating_sub(1));
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            Err(
                Diagnostic::error(code::JSON, format!("invalid JSON: {msg}"))
                    .at(Span::new(offset, src.clamp(offset + 1))),
            )
        }
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'a> {
    src: &'a SourceText,
    limits: &'a Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize, usize)>, // node, node count, depth
    nodes: usize,
    root: Option<Node>,
    documents: usize,
}

fn parse_yaml(src: &SourceText, limits: &Limits) -> Result<Node, Diagnostic> {
    let mut options = Options::default();
    options.emit_comments = false;
    options.flow_nesting_limit = limits.max_depth;
    options.block_nesting_limit = limits.max_depth;
    let mut parser = Parser::new_from_str_with_options(&src.text, options);
    let mut b = Builder {
        src,
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(ev) => ev,
            Err(e) => {
                let m = e.marker();
                let off = m
                    .byte_offset()
                    .unwrap_or_else(|| src.offset_of(m.line(), m.col()));
                let off = src.clamp(off);
                let info = e.info();
                let info = if info.is_empty() {
                    "syntax error".to_string()
                } else {
                    info
                };
                let span = Span::new(off, src.clamp(off + 1));
                if info.contains("recursion limit") || info.contains("nesting limit") {
                    return Err(depth_error(span, limits));
                }
                return Err(
                    Diagnostic::error(code::YAML, format!("invalid YAML: {info}")).at(span),
                );
            }
        };
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        let span = src.clamp_span(Span::new(start, end));
        b.event(event, span)?;
    }
    b.root.ok_or_else(|| {
        Diagnostic::error(code::SCHEMA, "the document is empty")
            .at(Span::new(0, 0))
            .hint("a runbook needs at least `schemaVersion: '0.3'` and `mainSteps`")
    })
}

impl Builder<'_> {
    fn bump(&mut self, n: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(Diagnostic::error(
                code::LIMIT,
                format!(
                    "the document expands to more than {} nodes",
                    self.limits.max_nodes
                ),
            )
            .at(span)
            .label("budget exceeded here")
            .hint("this looks like an alias bomb (anchors expanded exponentially); remove the aliases"));
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::error(
                        code::YAML,
                        "more than one YAML document in the file",
                    )
                    .at(span)
                    .hint("put each runbook in its own file"));
                }
                Ok(())
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.bump(1, span)?;
                let tag = tag.map(|t| (t.is_yaml_core_schema(), t.suffix().to_string()));
                let kind = match tag {
                    None if style == ScalarStyle::Plain => resolve_plain(&value),
                    None => Kind::Str(value.into_owned()),
                    Some((true, suffix)) if suffix == "str" => Kind::Str(value.into_owned()),
                    Some((true, suffix))
                        if matches!(suffix.as_str(), "int" | "float" | "bool" | "null") =>
                    {
                        resolve_plain(&value)
                    }
                    Some((_, suffix)) => {
                        return Err(Diagnostic::error(
                            code::YAML,
                            format!("unsupported YAML tag `!{suffix}`"),
                        )
                        .at(span)
                        .hint("runbooks use plain YAML values; remove the tag"));
                    }
                };
                self.push(Node { kind, span }, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.open(span)?;
                self.stack.push(Frame::Seq {
                    start: span.start,
                    anchor,
                    items: Vec::new(),
                });
                Ok(())
            }
            Event::MappingStart(_, anchor, _) => {
                self.open(span)?;
                self.stack.push(Frame::Map {
                    start: span.start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                    } => (
                        Node {
                            kind: Kind::Seq(items),
                            span: Span::new(start, span.end),
                        },
                        anchor,
                    ),
                    Frame::Map {
                        start,
                        anchor,
                        entries,
                        ..
                    } => (
                        Node {
                            kind: Kind::Map(entries),
                            span: Span::new(start, span.end),
                        },
                        anchor,
                    ),
                };
                self.push(node, anchor)
            }
            Event::Alias(id) => {
                let Some((node, count, depth)) = self.anchors.get(&id).cloned() else {
                    return Err(
                        Diagnostic::error(code::YAML, "alias to an unknown anchor").at(span)
                    );
                };
                self.bump(count, span)?;
                if self.stack.len() + depth > self.limits.max_depth {
                    return Err(depth_error(span, self.limits));
                }
                let mut node = node;
                node.span = span;
                self.push(node, 0)
            }
            _ => Ok(()),
        }
    }

    fn open(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.bump(1, span)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(depth_error(span, self.limits));
        }
        Ok(())
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        if anchor != 0 {
            let count = node.count();
            let depth = node.depth();
            self.anchors.insert(anchor, (node.clone(), count, depth));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_some() {
                    return Err(Diagnostic::error(
                        code::YAML,
                        "more than one YAML document in the file",
                    )
                    .at(node.span));
                }
                self.root = Some(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    if matches!(node.kind, Kind::Seq(_) | Kind::Map(_)) {
                        return Err(Diagnostic::error(
                            code::YAML,
                            "a mapping key must be a plain value, not a list or mapping",
                        )
                        .at(node.span));
                    }
                    let text = node.key_text();
                    if entries.iter().any(|(k, _)| k.key_text() == text) {
                        let mut d = Diagnostic::error(
                            code::YAML,
                            format!("duplicate key `{text}` in a mapping"),
                        )
                        .at(node.span)
                        .label("repeated here");
                        if let Some((first, _)) = entries.iter().find(|(k, _)| k.key_text() == text)
                        {
                            let (l, c) = self.src.line_col(first.span.start);
                            d = d.hint(format!("first defined at line {l}, column {c}"));
                        }
                        return Err(d);
                    }
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(s: &str) -> Kind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Kind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = s.strip_prefix("0x")
        && digits(hex, 16)
    {
        return i64::from_str_radix(hex, 16).map_or(Kind::Str(s.to_string()), Kind::Int);
    }
    if let Some(oct) = s.strip_prefix("0o")
        && digits(oct, 8)
    {
        return i64::from_str_radix(oct, 8).map_or(Kind::Str(s.to_string()), Kind::Int);
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, 10) {
        return match s.parse::<i64>() {
            Ok(i) => Kind::Int(i),
            Err(_) => s
                .parse::<f64>()
                .map_or(Kind::Str(s.to_string()), Kind::Float),
        };
    }
    if is_float(unsigned) {
        return s
            .parse::<f64>()
            .map_or(Kind::Str(s.to_string()), Kind::Float);
    }
    Kind::Str(s.to_string())
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` (sign already stripped).
fn is_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && all_digits(e)
        }
    };
    mantissa_ok && exp_ok && (frac.is_some() || exp.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Node, Diagnostic> {
        parse(
            &SourceText::new(s.to_string()),
            Syntax::Yaml,
            &Limits::default(),
        )
    }

    #[test]
    fn scalars_resolve_per_core_schema() {
        let n = parse_str("a: 1\nb: '1'\nc: true\nd: 1.5\ne: ~\nf: x\ng: 0x1f\nh: 1e3\n").unwrap();
        let j = n.to_json();
        assert_eq!(
            j,
            serde_json::json!({"a":1,"b":"1","c":true,"d":1.5,"e":null,"f":"x","g":31,"h":1000.0})
        );
    }

    #[test]
    fn spans_point_at_values() {
        let src = SourceText::new("a:\n  b: hello\n".to_string());
        let n = parse(&src, Syntax::Yaml, &Limits::default()).unwrap();
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!(&src.text[b.span.start..b.span.end], "hello");
        assert_eq!(src.line_col(b.span.start), (2, 6));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_str("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key `a`"), "{e:?}");
        assert_eq!(e.hint.as_deref(), Some("first defined at line 1, column 1"));
    }

    #[test]
    fn aliases_expand() {
        let n = parse_str("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(n.to_json(), serde_json::json!({"a":[1,2],"b":[1,2]}));
    }

    #[test]
    fn alias_bomb_hits_the_node_budget() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_str(&s).unwrap_err();
        assert_eq!(e.code, code::LIMIT);
        assert!(e.message.contains("nodes"), "{e:?}");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let s = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = parse_str(&s).unwrap_err();
        assert!(e.code == code::LIMIT || e.code == code::YAML, "{e:?}");
        let s = (0..200)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>();
        let e = parse_str(&s).unwrap_err();
        assert!(e.code == code::LIMIT || e.code == code::YAML, "{e:?}");
    }

    #[test]
    fn size_limit() {
        let s = "a: ".to_string() + &"x".repeat(2 * 1024 * 1024);
        let e = parse_str(&s).unwrap_err();
        assert_eq!(e.code, code::TOO_LARGE);
    }

    #[test]
    fn multiple_documents_and_tags() {
        assert!(
            parse_str("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .message
                .contains("more than one")
        );
        assert!(
            parse_str("a: !Ref x\n")
                .unwrap_err()
                .message
                .contains("unsupported YAML tag")
        );
        assert_eq!(
            parse_str("a: !!str 12\n").unwrap().to_json(),
            serde_json::json!({"a":"12"})
        );
    }

    #[test]
    fn json_errors_are_located() {
        let src = SourceText::new("{\n  \"a\": 1,\n  \"b\": \n}".to_string());
        let e = parse(&src, Syntax::Json, &Limits::default()).unwrap_err();
        assert_eq!(e.code, code::JSON);
        let (line, _) = src.line_col(e.span.unwrap().start);
        assert_eq!(line, 4);
    }
}
