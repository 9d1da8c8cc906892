//! Typed reads from untrusted JSON with the field path in every error ("is required", "must be a
//! string (found number)"). Optional fields treat `null` as absent.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{IngestError, Result, join};

/// The JSON type name of a value, for "found …" in errors.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn wrong_type(path: &str, want: &str, found: &Value) -> IngestError {
    IngestError::malformed(path, format!("must be {want} (found {})", type_name(found)))
}

/// A JSON object together with its path in the document.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
}

/// `v` as an object, or an error naming `path` ("body" when `path` is empty).
pub(crate) fn object(v: &Value, path: impl Into<String>) -> Result<Obj<'_>> {
    let path = path.into();
    match v {
        Value::Object(map) => Ok(Obj { map, path }),
        other => Err(wrong_type(
            if path.is_empty() { "body" } else { &path },
            "an object",
            other,
        )),
    }
}

impl<'a> Obj<'a> {
    pub fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value under `key`, with `null` read as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(&self.field(key), "a string", other)),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str> {
        self.opt_str(key)?
            .ok_or_else(|| IngestError::malformed(self.field(key), "is required"))
    }

    /// A required string that is not empty (nor only whitespace).
    pub fn req_text(&self, key: &str) -> Result<&'a str> {
        let s = self.req_str(key)?;
        if s.trim().is_empty() {
            return Err(IngestError::malformed(self.field(key), "must not be empty"));
        }
        Ok(s)
    }

    /// An optional string, with "" read as absent.
    pub fn opt_text(&self, key: &str) -> Result<Option<&'a str>> {
        Ok(self.opt_str(key)?.filter(|s| !s.trim().is_empty()))
    }

    pub fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => object(v, self.field(key)).map(Some),
        }
    }

    pub fn req_obj(&self, key: &str) -> Result<Obj<'a>> {
        self.opt_obj(key)?
            .ok_or_else(|| IngestError::malformed(self.field(key), "is required"))
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<&'a [Value]>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(wrong_type(&self.field(key), "an array", other)),
        }
    }

    pub fn req_array(&self, key: &str) -> Result<&'a [Value]> {
        self.opt_array(key)?
            .ok_or_else(|| IngestError::malformed(self.field(key), "is required"))
    }

    /// An optional object whose values are all strings (labels, annotations).
    pub fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>> {
        let Some(obj) = self.opt_obj(key)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (k, v) in obj.map {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                other => return Err(wrong_type(&obj.field(k), "a string", other)),
            }
        }
        Ok(out)
    }

    /// An optional array of strings.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>> {
        let Some(items) = self.opt_array(key)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(
                    &format!("{}[{i}]", self.field(key)),
                    "a string",
                    other,
                )),
            })
            .collect()
    }

    /// An optional timestamp (RFC 3339, also with a `+0000` offset as CloudWatch writes it).
    pub fn opt_timestamp(&self, key: &str) -> Result<Option<jiff::Timestamp>> {
        match self.opt_text(key)? {
            None => Ok(None),
            Some(s) => timestamp(s, &self.field(key)).map(Some),
        }
    }
}

/// Parses an RFC 3339 timestamp; also accepts `+hhmm` offsets (CloudWatch's
/// `2015-06-03T17:43:27.123+0000`).
pub(crate) fn timestamp(s: &str, path: &str) -> Result<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let b = s.as_bytes();
    if b.len() > 5
        && matches!(b[b.len() - 5], b'+' | b'-')
        && b[b.len() - 4..].iter().all(u8::is_ascii_digit)
    {
        let fixed = format!("{}:{}", &s[..s.len() - 2], &s[s.len() - 2..]);
        if let Ok(t) = fixed.parse::<jiff::Timestamp>() {
            return Ok(t);
        }
    }
    Err(IngestError::malformed(
        path,
        format!("must be an RFC 3339 timestamp such as 2026-11-20T23:27:58Z (found {s:?})"),
    ))
}
