//! Incident records from plans and triggers; dedupe, updates, filters, runbook parameters.

use jiff::Timestamp;
use serde_json::json;

use super::*;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn plan() -> ResponsePlan {
    serde_json::from_value(json!({
        "name": "db-outage",
        "incidentTemplate": {"title": "Database outage", "impact": 2, "summary": "primary down"},
        "engagements": ["sre"],
        "actions": [{"ssmAutomation": {
            "documentName": "restart-db",
            "parameters": {"Mode": ["fast"], "Zones": ["a", "b"]},
            "dynamicParameters": {"IncidentArn": {"variable": "INCIDENT_RECORD_ARN"}, "Resources": {"variable": "INVOLVED_RESOURCES"}}
        }}]
    }))
    .unwrap()
}

fn trigger(identity: &str) -> TriggerInfo {
    TriggerInfo {
        source: "aws.cloudwatch".into(),
        timestamp: t(-5),
        trigger_arn: Some(identity.into()),
        raw_data: json!({"AlarmName": "db"}),
        identity: Some(identity.into()),
    }
}

fn resource(arn: &str) -> RelatedItem {
    RelatedItem {
        identifier: ItemIdentifier {
            item_type: ItemType::InvolvedResource,
            value: ItemValue {
                arn: Some(arn.into()),
                url: None,
                metric_definition: None,
                pager_duty_incident_detail: None,
            },
        },
        title: None,
        generated_id: None,
    }
}

fn new(id: &str, related: Vec<RelatedItem>) -> NewIncident {
    NewIncident {
        id: id.into(),
        arn_prefix: "arn:aws:ssm-incidents::111122223333".into(),
        title: None,
        impact: None,
        related_items: related,
        trigger: trigger("arn:aws:cloudwatch:us-east-1:111122223333:alarm:db"),
        created_by: "tocsin".into(),
    }
}

#[test]
fn a_trigger_opens_an_incident_in_the_aws_form_with_its_raw_data_on_the_timeline() {
    let (r, events) = open(&plan(), new("abc", vec![]), t(0)).unwrap();
    assert_eq!(
        r.arn,
        "arn:aws:ssm-incidents::111122223333:incident-record/db-outage/abc"
    );
    assert_eq!(r.id(), "abc");
    assert_eq!(
        (r.title.as_str(), r.impact, r.status),
        ("Database outage", 2, IncidentStatus::Open)
    );
    assert_eq!(
        r.dedupe_string,
        "arn:aws:cloudwatch:us-east-1:111122223333:alarm:db"
    );
    assert_eq!(events[1].event_type, "Incident triggered");
    assert_eq!(events[1].event_data["rawData"]["AlarmName"], "db");
}

#[test]
fn dedupe_absorbs_a_trigger_with_its_related_items_once() {
    let (mut r, _) = open(
        &plan(),
        new("abc", vec![resource("arn:aws:ec2:::instance/i-1")]),
        t(0),
    )
    .unwrap();
    let ev = absorb(
        &mut r,
        &trigger("x"),
        vec![
            resource("arn:aws:ec2:::instance/i-1"),
            resource("arn:aws:ec2:::instance/i-2"),
        ],
        t(10),
    );
    assert_eq!(ev[0].event_type, "Trigger deduplicated");
    assert_eq!(ev[0].event_data["relatedItemsAdded"], 1);
    assert_eq!(r.related_items.len(), 2);
    assert_eq!(r.trigger_count, 2);
}

#[test]
fn updates_record_status_and_impact_changes_and_resolve_is_idempotent() {
    let (mut r, _) = open(&plan(), new("abc", vec![]), t(0)).unwrap();
    let u = IncidentUpdate {
        impact: Some(1),
        status: Some(IncidentStatus::Resolved),
        ..Default::default()
    };
    let ev = update(&mut r, &u, "alice", t(60)).unwrap();
    let types: Vec<_> = ev.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["Impact changed", "Status changed"]);
    assert_eq!(ev[1].event_data["timeToResolveSeconds"], 60.0);
    assert_eq!(r.resolved_time, Some(t(60)));
    assert!(resolve(&mut r, "bob", t(70)).is_empty());
    let bad = IncidentUpdate {
        impact: Some(9),
        ..Default::default()
    };
    assert!(
        update(&mut r, &bad, "x", t(80))
            .unwrap_err()
            .has_field("impact")
    );
}

#[test]
fn runbook_parameters_follow_the_seeds_typing_rules() {
    let (r, _) = open(
        &plan(),
        new(
            "abc",
            vec![resource("arn:aws:ec2:us-east-1:1:instance/i-1")],
        ),
        t(0),
    )
    .unwrap();
    let p = runbook_parameters(&plan().actions[0].ssm_automation, &r);
    assert_eq!(p["Mode"], "fast");
    assert_eq!(p["Zones"], json!(["a", "b"]));
    assert_eq!(p["IncidentArn"], json!(r.arn));
    assert_eq!(
        p["Resources"],
        json!(["arn:aws:ec2:us-east-1:1:instance/i-1"])
    );
}

#[test]
fn filters_follow_list_incident_records() {
    let (r, _) = open(&plan(), new("abc", vec![]), t(0)).unwrap();
    let f = |v: serde_json::Value| -> Vec<Filter> { serde_json::from_value(v).unwrap() };
    assert!(matches(
        &r,
        &f(
            json!([{"key": "status", "condition": {"equals": {"stringValues": ["OPEN", "RESOLVED"]}}}])
        )
    ));
    assert!(!matches(
        &r,
        &f(json!([{"key": "impact", "condition": {"equals": {"integerValues": [1]}}}]))
    ));
    assert!(matches(
        &r,
        &f(json!([{"key": "creationTime", "condition": {"after": "2027-01-01T00:00:00Z"}}]))
    ));
    assert!(matches(
        &r,
        &f(
            json!([{"key": "responsePlan", "condition": {"equals": {"stringValues": ["db-outage"]}}}])
        )
    ));
    let e = check_filters(&f(
        json!([{"key": "colour", "condition": {"equals": {"stringValues": ["red"]}}}]),
    ))
    .unwrap_err();
    assert!(e.has_field("filters[0].key"));
    let e = check_filters(&f(
        json!([{"key": "creationTime", "condition": {"equals": {"stringValues": ["x"]}}}]),
    ))
    .unwrap_err();
    assert!(e.has_field("filters[0].condition"));
}

#[test]
fn plans_and_related_items_are_validated_with_the_field_named() {
    let mut p = plan();
    p.name = "bad name".into();
    p.incident_template.impact = 0;
    let e = validate_plan(&p).unwrap_err();
    assert!(e.has_field("name") && e.has_field("incidentTemplate.impact"));
    let mut item = resource("arn:x");
    item.identifier.value.url = Some("https://x".into());
    assert!(
        check_related(&[item])
            .unwrap_err()
            .has_field("relatedItems[0].identifier.value")
    );
}
