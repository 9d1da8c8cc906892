//! Random bytes and mutated fixtures: every parser answers Ok or an error naming a field; none
//! panics.

use proptest::prelude::*;
use serde_json::{Value, json as j};

use super::{fixture, json};
use crate::ingest::eventbridge::Pattern;
use crate::ingest::generic::Mapping;
use crate::ingest::{IngestError, alertmanager, cloudwatch, eventbridge, sns};

const FIXTURES: [&[u8]; 6] = [
    fixture!("alertmanager-v4-firing-group.json"),
    fixture!("alertmanager-v4-resolved-group.json"),
    fixture!("cloudwatch-alarm-via-sns-http-multiple-metrics.json"),
    fixture!("cloudwatch-alarm-via-sns-http-single-metric.json"),
    fixture!("eventbridge-cloudwatch-alarm-state-change.json"),
    fixture!("sns-subscription-confirmation.json"),
];

fn named(e: &IngestError) {
    assert!(!e.errors.is_empty());
    for f in &e.errors {
        assert!(!f.field.is_empty() && !f.rule.is_empty(), "{e:?}");
    }
}

/// Runs every parser on `body`; errors must name a field.
fn all_parsers(body: &[u8]) {
    let check = |r: Result<(), IngestError>| {
        if let Err(e) = r {
            named(&e)
        }
    };
    check(alertmanager::parse(body).map(drop));
    check(sns::parse(body).map(drop));
    check(sns::verify(
        body,
        b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
    ));
    if let Ok(msg) = sns::parse(body) {
        check(cloudwatch::from_sns(&msg).map(drop));
        let _ = sns::string_to_sign(&msg);
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        check(cloudwatch::alarm_trigger(&v).map(drop));
        check(cloudwatch::from_eventbridge(&v).map(drop));
        check(eventbridge::event_trigger(&v).map(drop));
        check(eventbridge::trigger(&v).map(drop));
        check(Pattern::parse(&v).map(|p| {
            let _ = p.matches(&v);
        }));
        check(mapping().apply(&v).map(drop));
        // Every fixture's alarm message too, when the body is an SNS envelope.
        if let Some(Ok(inner)) = v
            .get("Message")
            .and_then(Value::as_str)
            .map(serde_json::from_str::<Value>)
        {
            check(cloudwatch::alarm_trigger(&inner).map(drop));
        }
    }
}

fn mapping() -> Mapping {
    serde_json::from_value(j!({
        "name": "fuzz",
        "title": "$..AlarmName",
        "dedupeKey": "$.id",
        "impact": "$..impact",
        "summary": "$..summary",
        "resources": "$..resources",
        "status": "$.status",
        "resolvedWhen": "resolved",
        "timestamp": "$..startsAt",
        "labels": {"v": "$.version"}
    }))
    .unwrap()
}

/// Every node's JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
            out.push(p.clone());
            pointers(c, p, out);
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
            let p = format!("{at}/{i}");
            out.push(p.clone());
            pointers(c, p, out);
        }),
        _ => {}
    }
}

fn replacement() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None), // delete the node
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(j!(b))),
        any::<i64>().prop_map(|n| Some(j!(n))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Some(j!(f))),
        ".{0,12}".prop_map(|s| Some(j!(s))),
        Just(Some(j!("0001-01-01T00:00:00Z"))),
        Just(Some(j!("ALARM"))),
        Just(Some(j!([]))),
        Just(Some(j!({}))),
        Just(Some(j!([{"name": 1}]))),
        Just(Some(j!({"prefix": {"equals-ignore-case": 3}}))),
    ]
}

fn mutate(v: &mut Value, pointer: &str, with: Option<Value>) {
    match with {
        Some(new) => {
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = new;
            }
        }
        None => {
            let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        all_parsers(&body);
    }

    #[test]
    fn truncated_fixtures_never_panic(which in 0..FIXTURES.len(), cut in any::<prop::sample::Index>()) {
        let f = FIXTURES[which];
        all_parsers(&f[..cut.index(f.len() + 1)]);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), replacement()), 1..4),
    ) {
        let mut v = json(FIXTURES[which]);
        for (at, with) in edits {
            let mut ps = Vec::new();
            pointers(&v, String::new(), &mut ps);
            if ps.is_empty() {
                break;
            }
            mutate(&mut v, &ps[at.index(ps.len())], with);
        }
        all_parsers(&serde_json::to_vec(&v).unwrap());
        // The alarm inside an SNS message, mutated on its own.
        if let Some(inner) = v.get("Message").and_then(Value::as_str)
            && let Ok(m) = serde_json::from_str::<Value>(inner)
        {
            let _ = cloudwatch::alarm_trigger(&m);
        }
    }

    #[test]
    fn random_patterns_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), replacement()), 1..4),
    ) {
        let event = json(FIXTURES[4]);
        let mut p = j!({
            "source": ["aws.cloudwatch", {"prefix": "aws."}],
            "detail": {
                "state": {"value": [{"anything-but": ["OK"]}, {"wildcard": "AL*M"}]},
                "configuration": {"metrics": {"metricStat": {"period": [{"numeric": [">", 0, "<=", 300]}]}}},
                "$or": [{"alarmName": [{"suffix": "-high"}]}, {"missing": [{"exists": false}]}]
            },
            "resources": [{"cidr": "10.0.0.0/8"}, {"equals-ignore-case": "ARN:AWS:CLOUDWATCH:US-EAST-1:123456789012:ALARM:CHECKOUT-CPU-HIGH"}]
        });
        prop_assert!(Pattern::parse(&p).unwrap().matches(&event));
        for (at, with) in edits {
            let mut ps = Vec::new();
            pointers(&p, String::new(), &mut ps);
            if ps.is_empty() {
                break;
            }
            mutate(&mut p, &ps[at.index(ps.len())], with);
        }
        match Pattern::parse(&p) {
            Ok(pat) => {
                for f in FIXTURES {
                    let _ = pat.matches(&json(f));
                }
                let _ = pat.matches(&json(FIXTURES[which]));
            }
            Err(e) => named(&e),
        }
    }
}
