//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the native HTTP API. Written by hand as
//! YAML (`openapi.yaml`, next to the routes it documents), parsed once to JSON. The integration
//! test `incident_cli::openapi_documents_every_route` fails when a route of this directory
//! (`route` calls in `*.rs`) has no path, or a method no operation, in the document.

use std::sync::{Arc, LazyLock};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::AppState;

const SOURCE: &str = include_str!("openapi.yaml");

/// The document as JSON, with `info.version` set to the engine's version.
static DOCUMENT: LazyLock<Result<Value, String>> = LazyLock::new(|| {
    let mut v: Value = serde_saphyr::from_str(SOURCE).map_err(|e| e.to_string())?;
    if let Some(info) = v.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("version".into(), Value::from(env!("CARGO_PKG_VERSION")));
    }
    Ok(v)
});

/// The parsed document (or why `openapi.yaml` does not parse).
pub fn document() -> Result<&'static Value, &'static str> {
    DOCUMENT.as_ref().map_err(String::as_str)
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v1/openapi.json", get(openapi))
}

async fn openapi() -> Response {
    match document() {
        Ok(v) => ([(header::CACHE_CONTROL, "no-cache")], Json(v.clone())).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "openapi.yaml does not parse");
            super::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                &format!("the OpenAPI document does not parse: {e}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_parses_as_openapi_3_1() {
        let v = document().expect("openapi.yaml parses");
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1."));
        assert_eq!(v["info"]["version"], env!("CARGO_PKG_VERSION"));
        let paths = v["paths"].as_object().unwrap();
        assert!(paths.contains_key("/v1/incidents"));
        // Every response code is a string key (YAML would make unquoted ones integers).
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                if let Some(r) = op.get("responses").and_then(Value::as_object) {
                    assert!(!r.is_empty(), "{method} {path} has no responses");
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let v = document().unwrap();
        let mut refs = Vec::new();
        collect_refs(v, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            assert!(v.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(s)) => out.push(s.clone()),
                        _ => collect_refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
            _ => {}
        }
    }
}
