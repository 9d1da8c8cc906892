//! Event-pattern semantics, with the examples of the EventBridge user guide ("Content filtering
//! in Amazon EventBridge event patterns", "Arrays in …", "Matching null values and empty
//! strings …", "Comparison operators …") and of Event Ruler's README.

use serde_json::{Value, json as j};

use crate::ingest::IngestErrorKind;
use crate::ingest::eventbridge::Pattern;

fn pattern(p: Value) -> Pattern {
    Pattern::parse(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn matches(p: Value, event: Value) -> bool {
    pattern(p).matches(&event)
}

/// The guide's sample event (Event Ruler README).
fn sample() -> Value {
    j!({
        "version": "0",
        "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "012345679012",
        "time": "2017-10-02T16:24:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000",
            "state": "running"
        }
    })
}

#[test]
fn exact_values_and_nesting() {
    assert!(matches(
        j!({
            "detail-type": ["EC2 Instance State-change Notification"],
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
            "detail": { "state": ["initializing", "running"] }
        }),
        sample()
    ));
    assert!(!matches(j!({"detail": {"state": ["stopped"]}}), sample()));
    assert!(
        !matches(j!({"source": ["AWS.EC2"]}), sample()),
        "case-sensitive"
    );
    assert!(!matches(j!({"detail": {"missing": ["x"]}}), sample()));
    assert!(matches(j!({"detail": {"c-count": [5]}}), sample()));
    assert!(matches(j!({"detail": {"c-count": [5.0]}}), sample()));
    assert!(
        !matches(j!({"detail": {"c-count": ["5"]}}), sample()),
        "a string is not a number"
    );
    assert!(matches(j!({"flag": [true]}), j!({"flag": true})));
    assert!(!matches(j!({"flag": [true]}), j!({"flag": "true"})));
    // A nested pattern does not match a scalar.
    assert!(!matches(
        j!({"detail": {"state": {"name": ["running"]}}}),
        sample()
    ));
}

#[test]
fn null_and_empty_string() {
    let event = j!({
        "version": "0",
        "detail-type": "EC2 Instance Launch Successful",
        "source": "aws.autoscaling",
        "resources": [],
        "detail": { "eventVersion": "", "responseElements": null }
    });
    assert!(matches(
        j!({"detail": {"eventVersion": [""]}}),
        event.clone()
    ));
    assert!(matches(
        j!({"detail": {"responseElements": [null]}}),
        event.clone()
    ));
    assert!(!matches(
        j!({"detail": {"eventVersion": [null]}}),
        event.clone()
    ));
    assert!(!matches(j!({"detail": {"responseElements": [""]}}), event));
}

#[test]
fn arrays_in_events() {
    let event = j!({"resources": [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
    ]});
    let p = j!({"resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"
    ]});
    assert!(matches(p, event.clone()));
    assert!(!matches(
        j!({"resources": ["arn:aws:ec2:us-east-1:1:instance/i-x"]}),
        event
    ));

    // Objects in arrays: fields must match within one element.
    let employees = j!({"employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"}
    ]});
    assert!(matches(
        j!({"employees": {"firstName": ["Anna"]}}),
        employees.clone()
    ));
    assert!(matches(
        j!({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}),
        employees.clone()
    ));
    assert!(!matches(
        j!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}),
        employees
    ));
    // Nested arrays are crushed out.
    let nested = j!({"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]});
    assert!(matches(j!({"employees": {"firstName": ["Peter"]}}), nested));
    assert!(matches(j!({"tags": ["b"]}), j!({"tags": [["a"], ["b"]]})));
}

#[test]
fn prefix() {
    assert!(matches(j!({"time": [{"prefix": "2017-10-02"}]}), sample()));
    assert!(!matches(j!({"time": [{"prefix": "2017-10-03"}]}), sample()));
    assert!(
        !matches(j!({"detail": {"c-count": [{"prefix": "5"}]}}), sample()),
        "strings only"
    );
    let p = j!({"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}});
    for s in ["EventBridge", "EVENTBRIDGE", "eventb"] {
        assert!(matches(p.clone(), j!({"detail": {"service": s}})), "{s}");
    }
    assert!(!matches(p, j!({"detail": {"service": "Event Bridge"}})));
    assert!(matches(j!({"region": [{"prefix": ""}]}), sample()));
}

#[test]
fn suffix() {
    let p = j!({"FileName": [{"suffix": ".png"}]});
    assert!(matches(p.clone(), j!({"FileName": "image.png"})));
    assert!(!matches(p.clone(), j!({"FileName": "image.PNG"})));
    assert!(!matches(p, j!({"FileName": "image.jpg"})));
    let p = j!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}});
    assert!(matches(
        p.clone(),
        j!({"detail": {"FileName": "image.PNG"}})
    ));
    assert!(!matches(p, j!({"detail": {"FileName": "image.jpg"}})));
    assert!(matches(j!({"source": [{"suffix": "ec2"}]}), sample()));
}

#[test]
fn equals_ignore_case() {
    let p = j!({"Name": [{"equals-ignore-case": "alice"}]});
    assert!(matches(p.clone(), j!({"Name": "Alice"})));
    assert!(matches(p.clone(), j!({"Name": "ALICE"})));
    assert!(!matches(p.clone(), j!({"Name": "Alice B"})));
    assert!(!matches(p, j!({"Name": 1})));
    assert!(matches(
        j!({"source": [{"equals-ignore-case": "AWS.EC2"}]}),
        sample()
    ));
}

#[test]
fn anything_but() {
    let p = j!({"detail": {"state": [{"anything-but": "initializing"}]}});
    assert!(matches(p.clone(), sample()));
    assert!(!matches(
        p.clone(),
        j!({"detail": {"state": "initializing"}})
    ));
    assert!(
        !matches(p, j!({"detail": {}})),
        "anything-but needs the field"
    );

    let p = j!({"detail": {"x-limit": [{"anything-but": 123}]}});
    assert!(matches(p.clone(), sample()));
    assert!(!matches(p, j!({"detail": {"x-limit": 123}})));

    let p = j!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}});
    assert!(matches(p.clone(), sample()));
    assert!(!matches(p.clone(), j!({"detail": {"state": "stopped"}})));
    assert!(!matches(p, j!({"detail": {"state": "overloaded"}})));

    let p = j!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}});
    assert!(matches(p.clone(), sample()));
    assert!(!matches(p, j!({"detail": {"x-limit": 200}})));

    let p = j!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}});
    assert!(matches(p.clone(), sample()));
    assert!(!matches(p, j!({"detail": {"state": "initializing"}})));

    let p = j!({"FileName": [{"anything-but": {"suffix": ".png"}}]});
    assert!(matches(p.clone(), j!({"FileName": "a.jpg"})));
    assert!(!matches(p, j!({"FileName": "a.png"})));

    let p = j!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]});
    assert!(!matches(p.clone(), j!({"state": "INITIALIZING"})));
    assert!(matches(p, j!({"state": "running"})));
    let p = j!({"state": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]});
    assert!(!matches(p.clone(), j!({"state": "b"})));
    assert!(matches(p, j!({"state": "c"})));

    let p = j!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]});
    assert!(matches(p.clone(), j!({"FilePath": "/usr/bin/tool"})));
    assert!(!matches(p, j!({"FilePath": "/usr/lib/tool"})));
}

#[test]
fn numeric() {
    let p = j!({"detail": {
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"numeric": ["=", 3.018e2]}]
    }});
    assert!(matches(p.clone(), sample()));
    let mut e = sample();
    e["detail"]["c-count"] = j!(0);
    assert!(!matches(p.clone(), e.clone()), "> 0 excludes 0");
    e["detail"]["c-count"] = j!(6);
    assert!(!matches(p.clone(), e.clone()));
    e["detail"]["c-count"] = j!(5.0);
    assert!(matches(p.clone(), e.clone()), "<= 5 includes 5");
    e["detail"]["d-count"] = j!(10);
    assert!(!matches(p.clone(), e.clone()), "< 10 excludes 10");
    e["detail"]["d-count"] = j!("3");
    assert!(!matches(p, e), "numbers only");
    assert!(matches(
        j!({"n": [{"numeric": [">=", -1.5]}]}),
        j!({"n": -1.5})
    ));
    assert!(
        matches(j!({"n": [{"numeric": ["<=", 5, ">", 0]}]}), j!({"n": 5})),
        "either order"
    );
    assert!(
        matches(j!({"n": [{"numeric": [">", 0]}]}), j!({"n": [-1, 2]})),
        "any element"
    );
}

#[test]
fn exists() {
    let present = j!({"detail": {"c-count": [{"exists": true}]}});
    let absent = j!({"detail": {"c-count": [{"exists": false}]}});
    assert!(matches(present.clone(), sample()));
    assert!(!matches(absent.clone(), sample()));
    let e = j!({"detail-type": "x", "detail": {"state": ["initializing", "running"]}});
    assert!(matches(absent.clone(), e.clone()));
    assert!(!matches(present.clone(), e));
    // Exists works on leaves only: an object is not a leaf.
    let e = j!({"detail": {"state": ["running"], "c-count": {"c1": 100}}});
    assert!(matches(absent.clone(), e.clone()));
    assert!(!matches(present, e));
    // A missing parent object: the leaf does not exist.
    assert!(matches(absent, j!({"source": "x"})));
    assert!(
        matches(j!({"v": [{"exists": true}]}), j!({"v": null})),
        "null is a value"
    );
    assert!(
        matches(j!({"v": [{"exists": false}]}), j!({"v": []})),
        "an empty array holds no leaf"
    );
}

#[test]
fn wildcard() {
    let p = j!({"source": [{"wildcard": "Simple*Service"}]});
    assert!(matches(p.clone(), j!({"source": "SimpleService"})));
    assert!(matches(p.clone(), j!({"source": "SimpleQueueService"})));
    assert!(!matches(p.clone(), j!({"source": "SimpleQueueServices"})));
    assert!(!matches(p, j!({"source": "simpleQueueService"})));
    let p = j!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]});
    assert!(matches(
        p.clone(),
        j!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"})
    ));
    assert!(!matches(
        p,
        j!({"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/default"})
    ));
    assert!(matches(j!({"k": [{"wildcard": "*"}]}), j!({"k": ""})));
    assert!(matches(
        j!({"k": [{"wildcard": "a*b*c"}]}),
        j!({"k": "aXbYbZc"})
    ));
    assert!(!matches(
        j!({"k": [{"wildcard": "a*b*c"}]}),
        j!({"k": "aXcYb"})
    ));
    // Escapes: \* is a literal star, \\ a literal backslash.
    assert!(matches(
        j!({"k": [{"wildcard": "a\\*b"}]}),
        j!({"k": "a*b"})
    ));
    assert!(!matches(
        j!({"k": [{"wildcard": "a\\*b"}]}),
        j!({"k": "aXb"})
    ));
    assert!(matches(
        j!({"k": [{"wildcard": "a\\\\b"}]}),
        j!({"k": "a\\b"})
    ));
    // Many stars against a long text stay fast (no exponential backtracking).
    let long = "a".repeat(5000);
    assert!(!matches(
        j!({"k": [{"wildcard": "*a*a*a*a*a*a*a*a*b"}]}),
        j!({"k": long})
    ));
}

#[test]
fn cidr() {
    let p = j!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}});
    assert!(matches(p.clone(), sample()));
    assert!(!matches(
        p.clone(),
        j!({"detail": {"source-ip": "10.0.1.1"}})
    ));
    assert!(!matches(p, j!({"detail": {"source-ip": "not an ip"}})));
    assert!(matches(
        j!({"ip": [{"cidr": "10.0.0.0/8"}]}),
        j!({"ip": "10.200.0.1"})
    ));
    assert!(matches(
        j!({"ip": [{"cidr": "2001:db8::/32"}]}),
        j!({"ip": "2001:db8:1::5"})
    ));
    assert!(!matches(
        j!({"ip": [{"cidr": "2001:db8::/32"}]}),
        j!({"ip": "10.0.0.1"})
    ));
    assert!(matches(
        j!({"ip": [{"cidr": "0.0.0.0/0"}]}),
        j!({"ip": "192.0.2.1"})
    ));
}

#[test]
fn or() {
    // "source" && ("metricName" || "namespace")
    let p = j!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ]
    });
    assert!(matches(
        p.clone(),
        j!({"source": "aws.cloudwatch", "metricName": "ReadLatency"})
    ));
    assert!(matches(
        p.clone(),
        j!({"source": "aws.cloudwatch", "namespace": "AWS/ES"})
    ));
    assert!(!matches(
        p.clone(),
        j!({"source": "aws.cloudwatch", "namespace": "AWS/RDS"})
    ));
    assert!(!matches(
        p,
        j!({"source": "aws.ec2", "metricName": "ReadLatency"})
    ));

    // Parallel and nested $or.
    let p = j!({
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}
    });
    assert!(matches(
        p.clone(),
        j!({"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}})
    ));
    assert!(!matches(
        p,
        j!({"namespace": "AWS/EC2", "detail": {"source": "aws.ec2"}})
    ));

    let p = j!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"],
             "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
            {"scope": ["Service"]}
        ]
    });
    let base = |extra: Value| {
        let mut e = j!({"source": "aws.cloudwatch"});
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e
    };
    assert!(matches(
        p.clone(),
        base(j!({"metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000}))
    ));
    assert!(!matches(
        p.clone(),
        base(j!({"metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1}))
    ));
    assert!(!matches(
        p.clone(),
        base(j!({"metricType": "MetricType", "spaceId": 1000}))
    ));
    assert!(matches(p, base(j!({"scope": "Service"}))));
}

#[test]
fn complex_example() {
    let p = j!({
        "time": [{"prefix": "2017-10-02"}],
        "detail": {
            "state": [{"anything-but": "initializing"}],
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"anything-but": [100, 200, 300]}],
            "source-ip": [{"cidr": "10.0.0.0/8"}]
        }
    });
    assert!(matches(p.clone(), sample()));
    let mut e = sample();
    e["detail"]["x-limit"] = j!(300);
    assert!(!matches(p, e));
}

#[test]
fn non_object_events_never_match() {
    let p = pattern(j!({"a": [{"exists": false}]}));
    assert!(p.matches(&j!({})));
    assert!(!p.matches(&j!([])));
    assert!(!p.matches(&j!("a")));
}

#[test]
fn invalid_patterns_name_the_path() {
    let cases = [
        (j!([]), "pattern", "object"),
        (j!({}), "pattern", "at least one field"),
        (j!({"source": "aws.ec2"}), "source", "array"),
        (j!({"source": []}), "source", "at least one"),
        (j!({"source": [["aws.ec2"]]}), "source[0]", "not an array"),
        (
            j!({"detail": {"state": [{"contains": "x"}]}}),
            "detail.state[0].contains",
            "unknown matcher",
        ),
        (
            j!({"a": [{"prefix": "x", "suffix": "y"}]}),
            "a[0]",
            "exactly one",
        ),
        (j!({"a": [{}]}), "a[0]", "one matcher"),
        (j!({"a": [{"prefix": 1}]}), "a[0].prefix", "string"),
        (
            j!({"a": [{"prefix": {"ignore-case": "x"}}]}),
            "a[0].prefix.ignore-case",
            "equals-ignore-case",
        ),
        (
            j!({"a": [{"equals-ignore-case": ["x"]}]}),
            "a[0].equals-ignore-case",
            "string",
        ),
        (
            j!({"a": [{"exists": "yes"}]}),
            "a[0].exists",
            "true or false",
        ),
        (
            j!({"a": [{"anything-but": []}]}),
            "a[0].anything-but",
            "at least one",
        ),
        (
            j!({"a": [{"anything-but": ["x", 1]}]}),
            "a[0].anything-but",
            "only strings or only numbers",
        ),
        (
            j!({"a": [{"anything-but": true}]}),
            "a[0].anything-but",
            "string, a number",
        ),
        (
            j!({"a": [{"anything-but": {"numeric": [">", 1]}}]}),
            "a[0].anything-but.numeric",
            "modifier",
        ),
        (j!({"a": [{"numeric": []}]}), "a[0].numeric", "pairs"),
        (
            j!({"a": [{"numeric": [">", 1, "<"]}]}),
            "a[0].numeric",
            "pairs",
        ),
        (
            j!({"a": [{"numeric": [">", "1"]}]}),
            "a[0].numeric[1]",
            "number",
        ),
        (
            j!({"a": [{"numeric": ["~", 1]}]}),
            "a[0].numeric[0]",
            "unknown operator",
        ),
        (
            j!({"a": [{"numeric": [">", 1, ">=", 2]}]}),
            "a[0].numeric[2]",
            "same side twice",
        ),
        (
            j!({"a": [{"numeric": ["=", 1, "<", 2]}]}),
            "a[0].numeric[0]",
            "only operator",
        ),
        (
            j!({"a": [{"numeric": [">", 5, "<", 1]}]}),
            "a[0].numeric",
            "empty",
        ),
        (
            j!({"a": [{"wildcard": "a**b"}]}),
            "a[0].wildcard",
            "consecutive",
        ),
        (j!({"a": [{"wildcard": "a\\b"}]}), "a[0].wildcard", "escape"),
        (j!({"a": [{"cidr": "10.0.0.0/33"}]}), "a[0].cidr", "CIDR"),
        (j!({"a": [{"cidr": "ten"}]}), "a[0].cidr", "CIDR"),
        (j!({"$or": [{"a": ["x"]}]}), "$or", "at least two"),
        (j!({"$or": {"a": ["x"]}}), "$or", "array"),
        (j!({"$or": [{"a": ["x"]}, "b"]}), "$or[1]", "object"),
        (
            j!({"detail": {"$or": [{"a": ["x"]}, {"b": "y"}]}}),
            "detail.$or[1].b",
            "array",
        ),
    ];
    for (p, field, words) in cases {
        let e = Pattern::parse(&p).unwrap_err();
        assert_eq!(e.kind, IngestErrorKind::Config, "{p}: {e}");
        assert!(
            e.has_field(field),
            "{p}: expected an error on {field}, got {e}"
        );
        assert!(
            e.to_string().contains(words),
            "{p}: expected {words:?} in {e}"
        );
    }
}

#[test]
fn serde_round_trip() {
    let p: Pattern = serde_json::from_value(j!({"source": [{"prefix": "aws."}]})).unwrap();
    assert!(p.matches(&sample()));
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        j!({"source": [{"prefix": "aws."}]})
    );
    let e = serde_json::from_value::<Pattern>(j!({"source": "aws.ec2"})).unwrap_err();
    assert!(e.to_string().starts_with("source: must be an array"), "{e}");
}
