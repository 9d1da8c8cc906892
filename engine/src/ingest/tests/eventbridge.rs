use serde_json::{Value, json as j};

use super::{Edit, fixture, json};
use crate::ingest::eventbridge::{Pattern, event_trigger, is_alarm_state_change, trigger};
use crate::ingest::{IngestErrorKind, TriggerStatus};

const ALARM_EVENT: &[u8] = fixture!("eventbridge-cloudwatch-alarm-state-change.json");

fn ec2_event() -> Value {
    j!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": [
            "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0000aaaa"
        ],
        "detail": { "instance-id": "i-abcd1111", "state": "stopped" }
    })
}

#[test]
fn any_event_becomes_a_trigger() {
    let t = event_trigger(&ec2_event()).unwrap();
    assert_eq!(t.source, "aws.ec2");
    assert_eq!(t.title, "EC2 Instance State-change Notification");
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(
        t.identity,
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0000aaaa,arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111",
        "resources sorted and joined"
    );
    assert_eq!(
        t.resources,
        [
            "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0000aaaa"
        ],
        "resources as the event lists them"
    );
    assert_eq!(t.timestamp.unwrap().to_string(), "2015-11-11T21:29:54Z");
    assert_eq!(t.labels["region"], "us-east-1");
    assert_eq!(
        t.labels["detail-type"],
        "EC2 Instance State-change Notification"
    );
    assert_eq!(t.raw, ec2_event());

    let mut ev = ec2_event();
    ev["resources"] = j!([]);
    assert_eq!(
        event_trigger(&ev).unwrap().identity,
        "7bf73129-1428-4cd3-a780-95db273d1602"
    );
}

#[test]
fn custom_event_without_optional_fields() {
    let ev = j!({"source": "com.example.checkout", "detail-type": "Order failed", "detail": {}, "id": "1"});
    let t = event_trigger(&ev).unwrap();
    assert_eq!(t.source, "com.example.checkout");
    assert!(t.resources.is_empty());
    assert_eq!(t.timestamp, None);
}

#[test]
fn event_bad_input() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "source",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("source"))),
        ),
        ("source", Box::new(|v| v["source"] = "".into())),
        ("detail-type", Box::new(|v| v["detail-type"] = j!(5))),
        (
            "detail",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("detail"))),
        ),
        ("detail", Box::new(|v| v["detail"] = "{}".into())),
        (
            "resources",
            Box::new(|v| v["resources"] = "arn:aws:ec2:…".into()),
        ),
        ("resources[1]", Box::new(|v| v["resources"][1] = j!({}))),
        ("time", Box::new(|v| v["time"] = "yesterday".into())),
        (
            "id",
            Box::new(|v| {
                v["resources"] = j!([]);
                v.as_object_mut().unwrap().remove("id");
            }),
        ),
    ];
    for (field, f) in cases {
        let mut ev = ec2_event();
        f(&mut ev);
        let e = event_trigger(&ev).unwrap_err();
        assert!(e.has_field(field), "expected an error on {field}, got {e}");
        assert_eq!(e.kind, IngestErrorKind::Malformed);
    }
    assert!(event_trigger(&j!([])).unwrap_err().has_field("body"));
}

#[test]
fn dispatch_routes_alarm_state_changes() {
    let alarm = json(ALARM_EVENT);
    assert!(is_alarm_state_change(&alarm));
    let t = trigger(&alarm).unwrap().unwrap();
    assert_eq!(
        t.identity,
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-cpu-high"
    );
    assert_eq!(
        t.resources,
        ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"]
    );
    let mut quiet = alarm.clone();
    quiet["detail"]["state"]["value"] = "INSUFFICIENT_DATA".into();
    assert_eq!(trigger(&quiet).unwrap(), None);
    assert_eq!(trigger(&ec2_event()).unwrap().unwrap().source, "aws.ec2");
}

#[test]
fn a_rule_routes_the_fixture() {
    let rule = Pattern::parse(&j!({
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {
            "state": { "value": ["ALARM"] },
            "alarmName": [{ "prefix": "checkout-" }],
            "configuration": { "metrics": { "metricStat": { "metric": { "namespace": ["AWS/EC2"] } } } }
        }
    }))
    .unwrap();
    let alarm = json(ALARM_EVENT);
    assert!(rule.matches(&alarm));
    let mut ok = alarm.clone();
    ok["detail"]["state"]["value"] = "OK".into();
    assert!(!rule.matches(&ok));
    assert!(!rule.matches(&ec2_event()));
}
