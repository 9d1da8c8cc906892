use serde_json::{Value, json as j};

use super::{Edit, fixture, json};
use crate::ingest::cloudwatch::{
    alarm_trigger, dimension_arns, from_eventbridge, from_sns, parse_arn,
};
use crate::ingest::{IngestErrorKind, TriggerStatus, sns};

const SINGLE: &[u8] = fixture!("cloudwatch-alarm-via-sns-http-single-metric.json");
const MULTIPLE: &[u8] = fixture!("cloudwatch-alarm-via-sns-http-multiple-metrics.json");
const EVENT: &[u8] = fixture!("eventbridge-cloudwatch-alarm-state-change.json");

/// The alarm inside an SNS fixture's Message.
fn message(body: &[u8]) -> Value {
    serde_json::from_str(json(body)["Message"].as_str().unwrap()).unwrap()
}

#[test]
fn single_metric_fixture() {
    let msg = sns::parse(SINGLE).unwrap();
    let t = from_sns(&msg).unwrap().expect("ALARM fires");
    assert_eq!(t.source, "aws.cloudwatch");
    assert_eq!(
        t.identity,
        "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE"
    );
    assert_eq!(t.resource_arn.as_deref(), Some(t.identity.as_str()));
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(t.title, "EXAMPLE");
    assert_eq!(t.summary.as_deref(), Some("EXAMPLE"));
    assert_eq!(
        t.resources,
        ["arn:aws:ec2:REGION:ACCOUNT_NUMBER:instance/TestInstance"],
        "region and account come from the alarm ARN"
    );
    assert_eq!(t.timestamp.unwrap().to_string(), "2015-06-03T17:43:27.123Z");
    assert_eq!(t.labels["state"], "ALARM");
    assert_eq!(t.labels["previousState"], "INSUFFICIENT_DATA");
    assert_eq!(t.labels["alarmName"], "EXAMPLE");
    assert_eq!(t.raw, message(SINGLE), "raw is the alarm message");
}

#[test]
fn multiple_metrics_fixture() {
    let t = alarm_trigger(&message(MULTIPLE)).unwrap().unwrap();
    assert_eq!(
        t.identity,
        "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE"
    );
    assert_eq!(
        t.resources,
        ["arn:aws:ec2:REGION:ACCOUNT_NUMBER:instance/TestInstance"]
    );
    assert_eq!(t.status, TriggerStatus::Firing);
}

#[test]
fn ok_resolves_and_insufficient_data_is_ignored() {
    let mut m = message(SINGLE);
    m["NewStateValue"] = "OK".into();
    let t = alarm_trigger(&m).unwrap().unwrap();
    assert_eq!(t.status, TriggerStatus::Resolved);
    assert_eq!(
        t.identity,
        "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE"
    );
    m["NewStateValue"] = "INSUFFICIENT_DATA".into();
    assert_eq!(alarm_trigger(&m).unwrap(), None);
    m["NewStateValue"] = "BROKEN".into();
    let e = alarm_trigger(&m).unwrap_err();
    assert!(e.has_field("NewStateValue"), "{e}");
}

#[test]
fn summary_falls_back_to_the_reason() {
    let mut m = message(SINGLE);
    m["AlarmDescription"] = Value::Null; // CloudWatch sends null when there is none
    let t = alarm_trigger(&m).unwrap().unwrap();
    assert!(t.summary.unwrap().starts_with("Threshold Crossed"));
}

#[test]
fn resource_types_the_user_guide_lists() {
    let at = |ns: &str, dims: &[(&str, &str)]| {
        let dims: Vec<(String, String)> = dims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        dimension_arns("aws", "eu-west-1", "111122223333", ns, &dims)
    };
    assert_eq!(
        at("AWS/EC2", &[("InstanceId", "i-0abc")]),
        ["arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"]
    );
    assert_eq!(
        at("AWS/EC2", &[("ImageId", "ami-1")]),
        ["arn:aws:ec2:eu-west-1::image/ami-1"]
    );
    assert_eq!(
        at("CWAgent", &[("InstanceId", "i-1"), ("path", "/")]),
        ["arn:aws:ec2:eu-west-1:111122223333:instance/i-1"]
    );
    assert_eq!(
        at("AWS/DynamoDB", &[("TableName", "orders")]),
        ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders"]
    );
    assert_eq!(
        at(
            "AWS/DynamoDB",
            &[
                ("TableName", "orders"),
                ("GlobalSecondaryIndexName", "by-user")
            ]
        ),
        [
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/index/by-user",
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
        ]
    );
    assert_eq!(
        at(
            "AWS/DynamoDB",
            &[
                ("TableName", "orders"),
                ("StreamLabel", "2026-11-20T00:00:00.000")
            ]
        ),
        [
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2026-11-20T00:00:00.000",
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
        ]
    );
    assert_eq!(
        at("AWS/Lambda", &[("FunctionName", "resize")]),
        ["arn:aws:lambda:eu-west-1:111122223333:function:resize"]
    );
    assert_eq!(
        at(
            "AWS/Lambda",
            &[("FunctionName", "resize"), ("Resource", "resize:live")]
        ),
        [
            "arn:aws:lambda:eu-west-1:111122223333:function:resize:live",
            "arn:aws:lambda:eu-west-1:111122223333:function:resize"
        ]
    );
    assert_eq!(
        at(
            "AWS/Lambda",
            &[("FunctionName", "resize"), ("ExecutedVersion", "7")]
        ),
        [
            "arn:aws:lambda:eu-west-1:111122223333:function:resize:7",
            "arn:aws:lambda:eu-west-1:111122223333:function:resize"
        ]
    );
    assert_eq!(
        at("AWS/RDS", &[("DBInstanceIdentifier", "db-1")]),
        ["arn:aws:rds:eu-west-1:111122223333:db:db-1"]
    );
    assert_eq!(
        at("AWS/RDS", &[("DBClusterIdentifier", "aurora-1")]),
        ["arn:aws:rds:eu-west-1:111122223333:cluster:aurora-1"]
    );
    assert_eq!(
        at(
            "AWS/S3",
            &[("BucketName", "logs"), ("StorageType", "StandardStorage")]
        ),
        ["arn:aws:s3:::logs"]
    );
    // Other namespaces, or the same dimension name elsewhere, are not guessed at.
    assert!(at("AWS/Connect", &[("InstanceId", "abc")]).is_empty());
    assert!(at("AWS/ELB", &[("LoadBalancerName", "lb")]).is_empty());
    assert!(at("AWS/EC2", &[("InstanceId", "")]).is_empty());
}

#[test]
fn partition_comes_from_the_alarm_arn() {
    let mut m = message(SINGLE);
    m["AlarmArn"] = "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:x".into();
    let t = alarm_trigger(&m).unwrap().unwrap();
    assert_eq!(
        t.resources,
        ["arn:aws-cn:ec2:cn-north-1:123456789012:instance/TestInstance"]
    );
    assert_eq!(t.labels["region"], "cn-north-1");
}

#[test]
fn eventbridge_alarm_state_change_fixture() {
    let t = from_eventbridge(&json(EVENT)).unwrap().unwrap();
    assert_eq!(t.source, "aws.cloudwatch");
    assert_eq!(
        t.identity,
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-cpu-high"
    );
    assert_eq!(t.resource_arn.as_deref(), Some(t.identity.as_str()));
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(t.title, "checkout-cpu-high");
    assert_eq!(
        t.summary.as_deref(),
        Some("CPU above 90% on the checkout instance")
    );
    assert_eq!(
        t.resources,
        ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"]
    );
    assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-20T18:44:48.619Z");
    assert_eq!(t.labels["previousState"], "OK");
    assert_eq!(t.raw, json(EVENT));

    let mut ev = json(EVENT);
    ev["detail"]["state"]["value"] = "OK".into();
    assert_eq!(
        from_eventbridge(&ev).unwrap().unwrap().status,
        TriggerStatus::Resolved
    );
    ev["detail"]["state"]["value"] = "INSUFFICIENT_DATA".into();
    assert_eq!(from_eventbridge(&ev).unwrap(), None);
}

#[test]
fn eventbridge_bad_input() {
    let cases: Vec<(&str, IngestErrorKind, Edit)> = vec![
        (
            "detail-type",
            IngestErrorKind::Unsupported,
            Box::new(|v| v["detail-type"] = "EC2 Instance State-change Notification".into()),
        ),
        (
            "resources",
            IngestErrorKind::Malformed,
            Box::new(|v| v["resources"] = j!([])),
        ),
        (
            "resources[0]",
            IngestErrorKind::Malformed,
            Box::new(|v| v["resources"] = j!([1])),
        ),
        (
            "detail",
            IngestErrorKind::Malformed,
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("detail"))),
        ),
        (
            "detail.alarmName",
            IngestErrorKind::Malformed,
            Box::new(|v| v["detail"]["alarmName"] = j!(null)),
        ),
        (
            "detail.state",
            IngestErrorKind::Malformed,
            Box::new(|v| v["detail"]["state"] = "ALARM".into()),
        ),
        (
            "detail.state.value",
            IngestErrorKind::Malformed,
            Box::new(|v| v["detail"]["state"]["value"] = "alarm".into()),
        ),
        (
            "detail.state.timestamp",
            IngestErrorKind::Malformed,
            Box::new(|v| v["detail"]["state"]["timestamp"] = "noon".into()),
        ),
        (
            "detail.configuration.metrics[0]",
            IngestErrorKind::Malformed,
            Box::new(|v| v["detail"]["configuration"]["metrics"][0] = 3.into()),
        ),
        (
            "detail.configuration.metrics[0].metricStat.metric.dimensions.InstanceId",
            IngestErrorKind::Malformed,
            Box::new(|v| {
                v["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
                    5.into()
            }),
        ),
    ];
    for (field, kind, f) in cases {
        let mut ev = json(EVENT);
        f(&mut ev);
        let e = from_eventbridge(&ev).unwrap_err();
        assert!(e.has_field(field), "expected an error on {field}, got {e}");
        assert_eq!(e.kind, kind, "{e}");
    }
}

#[test]
fn sns_message_bad_input() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "AlarmName",
            Box::new(|m| drop(m.as_object_mut().unwrap().remove("AlarmName"))),
        ),
        ("AlarmArn", Box::new(|m| m["AlarmArn"] = "EXAMPLE".into())),
        ("AlarmArn", Box::new(|m| m["AlarmArn"] = j!(["arn"]))),
        ("NewStateValue", Box::new(|m| m["NewStateValue"] = j!(1))),
        (
            "StateChangeTime",
            Box::new(|m| m["StateChangeTime"] = "06/03/15".into()),
        ),
        ("Trigger", Box::new(|m| m["Trigger"] = "x".into())),
        (
            "Trigger.Dimensions",
            Box::new(|m| m["Trigger"]["Dimensions"] = j!({"InstanceId": "i-1"})),
        ),
        (
            "Trigger.Dimensions[0]",
            Box::new(|m| m["Trigger"]["Dimensions"] = j!(["i-1"])),
        ),
        (
            "Trigger.Dimensions[0].name",
            Box::new(|m| m["Trigger"]["Dimensions"][0]["name"] = j!(null)),
        ),
        (
            "Trigger.Dimensions[0].value",
            Box::new(|m| m["Trigger"]["Dimensions"][0]["value"] = j!([])),
        ),
        (
            "Trigger.Namespace",
            Box::new(|m| m["Trigger"]["Namespace"] = j!(7)),
        ),
    ];
    for (field, f) in cases {
        let mut m = message(SINGLE);
        f(&mut m);
        let e = alarm_trigger(&m).unwrap_err();
        assert!(e.has_field(field), "expected an error on {field}, got {e}");
        assert_eq!(e.kind, IngestErrorKind::Malformed, "{e}");
    }
    let mut m = message(MULTIPLE);
    m["Trigger"]["Metrics"][1]["MetricStat"]["Metric"] = j!(false);
    let e = alarm_trigger(&m).unwrap_err();
    assert!(e.has_field("Trigger.Metrics[1].MetricStat.Metric"), "{e}");

    // Through SNS the paths start with Message.
    let mut body = json(SINGLE);
    body["Message"] = "{\"AlarmName\": \"x\"}".into();
    let e = from_sns(&sns::from_value(&body).unwrap()).unwrap_err();
    assert!(e.has_field("Message.AlarmArn"), "{e}");
    body["Message"] = "not json".into();
    let e = from_sns(&sns::from_value(&body).unwrap()).unwrap_err();
    assert!(e.has_field("Message"), "{e}");
    let confirmation = sns::parse(fixture!("sns-subscription-confirmation.json")).unwrap();
    assert_eq!(
        from_sns(&confirmation).unwrap_err().kind,
        IngestErrorKind::Unsupported
    );
}

#[test]
fn arns() {
    let a = parse_arn("arn:aws:cloudwatch:us-east-1:123:alarm:a:b").unwrap();
    assert_eq!(
        (a.partition, a.service, a.region, a.account),
        ("aws", "cloudwatch", "us-east-1", "123")
    );
    assert_eq!(a.resource, "alarm:a:b");
    assert_eq!(parse_arn("arn:aws:s3:::bucket").unwrap().resource, "bucket");
    for bad in [
        "",
        "arn",
        "arn:aws:cloudwatch",
        "urn:aws:x:y:z:w",
        "arn::cloudwatch:r:a:x",
        "arn:aws:s3:::",
    ] {
        assert!(parse_arn(bad).is_none(), "{bad}");
    }
}
