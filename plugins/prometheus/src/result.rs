//! Prometheus's `data` object turned into typed samples.
//!
//! Prometheus encodes sample values as strings (`"0.25"`, `"NaN"`, `"+Inf"`) so that non-finite
//! floats survive JSON. The output gives numbers as JSON numbers and keeps the three non-finite
//! values as those strings, since JSON has no number for them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use tocsin_plugin_sdk::JsonSchema;
use tocsin_plugin_sdk::schemars::{Schema, SchemaGenerator, json_schema};

/// A sample value: finite values serialise as JSON numbers (whole numbers without a fraction),
/// NaN and the infinities as `"NaN"`, `"+Inf"`, `"-Inf"`, Prometheus's own spelling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number(pub f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if v > 0.0 { "+Inf" } else { "-Inf" })
        } else if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            // Exactly representable: `1`, not `1.0`, so an output `Type: Integer` accepts it.
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

impl JsonSchema for Number {
    fn schema_name() -> Cow<'static, str> {
        "SampleValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A sample value: a JSON number, or \"NaN\", \"+Inf\", \"-Inf\" (JSON has no number for these).",
            "anyOf": [
                {"type": "number"},
                {"type": "string", "enum": ["NaN", "+Inf", "-Inf"]}
            ]
        })
    }
}

/// How Prometheus shaped the result.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResultType {
    /// An instant vector: one sample per series (`samples`).
    Vector,
    /// A range vector: several points per series (`series`).
    Matrix,
    /// One number without labels (`samples[0]`).
    Scalar,
    /// One string (`string`).
    String,
}

/// One sample of an instant vector (or the scalar, with no labels).
#[derive(Serialize, JsonSchema, Debug)]
pub struct Sample {
    /// The series' labels, `__name__` included when the query keeps it.
    pub labels: BTreeMap<String, String>,
    /// When the sample was evaluated, in Unix seconds.
    pub timestamp: f64,
    /// The value; absent only for a native-histogram sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Number>,
    /// A native-histogram sample as Prometheus sends it (count, sum, buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Value>,
}

/// One series of a range vector.
#[derive(Serialize, JsonSchema, Debug)]
pub struct Series {
    /// The series' labels, `__name__` included when the query keeps it.
    pub labels: BTreeMap<String, String>,
    /// The series' points, oldest first.
    pub points: Vec<Point>,
}

/// One point of a range-vector series.
#[derive(Serialize, JsonSchema, Debug)]
pub struct Point {
    /// Unix seconds.
    pub timestamp: f64,
    /// The value; absent only for a native-histogram point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Number>,
    /// A native-histogram point as Prometheus sends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Value>,
}

/// The typed result of a query.
#[derive(Serialize, JsonSchema, Debug)]
pub struct QueryResult {
    /// `vector`, `matrix`, `scalar` or `string`, as Prometheus reports it.
    pub result_type: ResultType,
    /// The value to branch on: the first sample's value (vector), the scalar (scalar), or the
    /// newest point of the first series (matrix); null when the result is empty or a string.
    /// Series come in Prometheus's order: sort in PromQL (`sort_desc`, `topk`) to choose which.
    pub value: Option<Number>,
    /// How many samples (vector, scalar) or series (matrix) came back: `0` means "no data".
    pub count: usize,
    /// Vector: one sample per series. Scalar: one sample without labels. Otherwise empty.
    pub samples: Vec<Sample>,
    /// Matrix: one entry per series with its points. Otherwise empty.
    pub series: Vec<Series>,
    /// The text of a `string` result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// Warnings Prometheus attached to a successful answer, verbatim.
    pub warnings: Vec<String>,
}

/// Prometheus's `data` member of a successful answer.
#[derive(Deserialize)]
pub struct Data {
    #[serde(rename = "resultType")]
    result_type: ResultType,
    result: Value,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<(f64, String)>,
    #[serde(default)]
    histogram: Option<(f64, Value)>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    histograms: Vec<(f64, Value)>,
}

/// Type the raw `data`; an answer that does not follow the documented format is an error.
pub fn typed(data: Data, warnings: Vec<String>) -> Result<QueryResult, String> {
    let mut out = QueryResult {
        result_type: data.result_type,
        value: None,
        count: 0,
        samples: Vec::new(),
        series: Vec::new(),
        string: None,
        warnings,
    };
    match data.result_type {
        ResultType::Vector => {
            for raw in series_list(data.result)? {
                let (timestamp, value, histogram) = match (raw.value, raw.histogram) {
                    (Some((t, v)), _) => (t, Some(number(&v)?), None),
                    (None, Some((t, h))) => (t, None, Some(h)),
                    (None, None) => return Err("a vector sample has no value".into()),
                };
                out.samples.push(Sample {
                    labels: raw.metric,
                    timestamp,
                    value,
                    histogram,
                });
            }
            out.value = out.samples.iter().find_map(|s| s.value);
            out.count = out.samples.len();
        }
        ResultType::Matrix => {
            for raw in series_list(data.result)? {
                let mut points = Vec::with_capacity(raw.values.len() + raw.histograms.len());
                for (timestamp, v) in raw.values {
                    points.push(Point {
                        timestamp,
                        value: Some(number(&v)?),
                        histogram: None,
                    });
                }
                for (timestamp, h) in raw.histograms {
                    points.push(Point {
                        timestamp,
                        value: None,
                        histogram: Some(h),
                    });
                }
                points.sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
                out.series.push(Series {
                    labels: raw.metric,
                    points,
                });
            }
            out.value = out
                .series
                .first()
                .and_then(|s| s.points.iter().rev().find_map(|p| p.value));
            out.count = out.series.len();
        }
        ResultType::Scalar => {
            let (timestamp, v): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| format!("a scalar result is not [time, \"value\"]: {e}"))?;
            let value = number(&v)?;
            out.samples.push(Sample {
                labels: BTreeMap::new(),
                timestamp,
                value: Some(value),
                histogram: None,
            });
            out.value = Some(value);
            out.count = 1;
        }
        ResultType::String => {
            let (_, text): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| format!("a string result is not [time, \"text\"]: {e}"))?;
            out.string = Some(text);
        }
    }
    Ok(out)
}

fn series_list(result: Value) -> Result<Vec<RawSeries>, String> {
    serde_json::from_value(result).map_err(|e| format!("the result is not a list of series: {e}"))
}

/// Prometheus's value strings: decimal floats, `NaN`, `+Inf`, `-Inf` (Go's ParseFloat format).
fn number(text: &str) -> Result<Number, String> {
    text.parse::<f64>()
        .map(Number)
        .map_err(|_| format!("sample value `{text}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> QueryResult {
        typed(serde_json::from_value(v).unwrap(), vec![]).unwrap()
    }

    #[test]
    fn vector_samples_become_numbers_with_labels() {
        let r = parse(json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "api"}, "value": [1700000000.5, "1"]},
            {"metric": {"job": "db"}, "value": [1700000000.5, "0.25"]},
            {"metric": {"job": "nan"}, "value": [1700000000.5, "NaN"]},
            {"metric": {"job": "inf"}, "value": [1700000000.5, "+Inf"]},
        ]}));
        let out = serde_json::to_value(&r).unwrap();
        assert_eq!(out["value"], json!(1));
        assert_eq!(out["count"], 4);
        assert_eq!(out["samples"][0]["labels"]["job"], "api");
        assert_eq!(out["samples"][1]["value"], json!(0.25));
        assert_eq!(out["samples"][2]["value"], "NaN");
        assert_eq!(out["samples"][3]["value"], "+Inf");
        assert_eq!(out["samples"][0]["timestamp"], json!(1700000000.5));
    }

    #[test]
    fn matrix_value_is_the_newest_point_of_the_first_series() {
        let r = parse(json!({"resultType": "matrix", "result": [
            {"metric": {"job": "api"}, "values": [[1, "3"], [2, "-Inf"], [3, "7.5"]]},
            {"metric": {"job": "db"}, "values": [[1, "1"]]},
        ]}));
        assert_eq!(r.value, Some(Number(7.5)));
        assert_eq!(r.count, 2);
        assert_eq!(r.series[0].points.len(), 3);
        let out = serde_json::to_value(&r).unwrap();
        assert_eq!(out["series"][0]["points"][1]["value"], "-Inf");
    }

    #[test]
    fn scalars_strings_and_empty_results() {
        let r = parse(json!({"resultType": "scalar", "result": [5, "42"]}));
        assert_eq!((r.value, r.count), (Some(Number(42.0)), 1));
        let r = parse(json!({"resultType": "string", "result": [5, "hello"]}));
        assert_eq!((r.value, r.string.as_deref()), (None, Some("hello")));
        let r = parse(json!({"resultType": "vector", "result": []}));
        assert_eq!((r.value, r.count), (None, 0));
        assert_eq!(serde_json::to_value(&r).unwrap()["value"], Value::Null);
    }

    #[test]
    fn malformed_results_are_errors() {
        let data = serde_json::from_value(
            json!({"resultType": "vector", "result": [{"metric": {}, "value": [1, "x"]}]}),
        );
        assert!(typed(data.unwrap(), vec![]).unwrap_err().contains("`x`"));
    }
}
