//! On-call through the real binary over HTTP: the follow-the-sun schedule loaded by
//! `serve --config`, queries across DST changes, overrides, bad input, all-or-nothing batches,
//! channel activation through the console plugin, STOP/START replies, and a restart.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::oncall_support::*;

fn contacts_of(v: &Value) -> Vec<String> {
    v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

fn rotation_field(v: &Value, rotation: &str) -> Value {
    v["rotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rotation"] == rotation)
        .cloned()
        .unwrap()
}

#[test]
fn follow_the_sun_now_next_and_shifts_across_the_dst_changes() {
    let data = tempfile::tempdir().unwrap();
    let config = follow_the_sun_dir();
    let server = start(data.path(), Some(config.path()));

    let (status, list) = server.get("/v1/schedules");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["schedules"][0]["alias"], "follow-the-sun");

    // Both zones on standard time (8 h apart): LA covers 12:00-00:00 PST = 20:00Z-08:00Z, so at
    // 07:30Z one LA responder is on call and nobody from Dublin.
    let (status, v) = server.get("/v1/schedules/follow-the-sun/oncall?at=2026-03-05T07:30:00Z");
    assert_eq!(status, 200, "{v}");
    assert_eq!(contacts_of(&v).len(), 1, "{v}");
    assert!(["ana", "ben"].contains(&contacts_of(&v)[0].as_str()), "{v}");
    assert_eq!(rotation_field(&v, "los-angeles")["shiftType"], "REGULAR");

    // After the US change (2026-03-08) and before the EU one (2026-03-29) they are 7 h apart:
    // LA ends at 00:00 PDT = 07:00Z, Dublin starts at 08:00Z, so 07:30Z is a gap ...
    let (_, v) = server.get("/v1/schedules/follow-the-sun/oncall?at=2026-03-12T07:30:00Z");
    assert!(contacts_of(&v).is_empty(), "{v}");
    // ... and 19:30Z (LA starts at 12:00 PDT = 19:00Z, Dublin ends 20:00Z) an overlap.
    let (_, v) = server.get("/v1/schedules/follow-the-sun/oncall?at=2026-03-12T19:30:00Z");
    assert_eq!(contacts_of(&v).len(), 2, "{v}");

    // The next hand-off after 06:00Z that day is LA's end of coverage at 07:00Z.
    let (status, v) =
        server.get("/v1/schedules/follow-the-sun/next-handoff?at=2026-03-12T06:00:00Z");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["handOff"]["at"], "2026-03-12T07:00:00Z", "{v}");
    assert_eq!(v["handOff"]["before"].as_array().unwrap().len(), 1);
    assert!(v["handOff"]["after"].as_array().unwrap().is_empty());

    // LA shifts keep their wall clock across the change: 12:00 PST = 20:00Z on the 7th, 12:00
    // PDT = 19:00Z on the 8th. Each is 12 h (the 2026-03-08 00:00-12:00 stretch is outside
    // coverage, so the 23-hour day does not shorten a covered shift).
    let (status, v) = server.get(
        "/v1/schedules/follow-the-sun/shifts?from=2026-03-07T00:00:00Z&to=2026-03-10T00:00:00Z",
    );
    assert_eq!(status, 200, "{v}");
    let la: Vec<&Value> = v["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["rotation"] == "los-angeles")
        .collect();
    let starts: Vec<&str> = la
        .iter()
        .map(|s| s["startTime"].as_str().unwrap())
        .collect();
    assert!(starts.contains(&"2026-03-07T20:00:00Z"), "{starts:?}");
    assert!(starts.contains(&"2026-03-08T19:00:00Z"), "{starts:?}");
    assert!(starts.contains(&"2026-03-09T19:00:00Z"), "{starts:?}");
    for s in &la {
        assert_eq!(s["type"], "REGULAR");
        let (a, b) = (
            ts(s["startTime"].as_str().unwrap()),
            ts(s["endTime"].as_str().unwrap()),
        );
        assert!(b.duration_since(a) <= SignedDuration::from_hours(12), "{s}");
    }
    // Dublin changes three weeks later: 08:00 GMT = 08:00Z on 03-28, 08:00 IST = 07:00Z on 03-30.
    let (_, v) = server.get(
        "/v1/schedules/follow-the-sun/shifts?from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z",
    );
    let dub: Vec<&str> = v["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["rotation"] == "dublin")
        .map(|s| s["startTime"].as_str().unwrap())
        .collect();
    assert_eq!(
        dub,
        [
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z"
        ]
    );

    // The coverage report shows the daily one-hour gap between the two changes.
    let (status, v) = server.get(
        "/v1/schedules/follow-the-sun/coverage?from=2026-03-10T00:00:00Z&to=2026-03-17T00:00:00Z",
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["report"]["gaps"].as_array().unwrap().len(), 7, "{v}");
    assert_eq!(v["totalGapMinutes"], 7 * 60);

    // Preview of an unsaved rotation (nothing stored).
    let (status, v) = server.send(
        "POST",
        "/v1/rotations/preview",
        json!({
            "rotation": {"name": "trial", "contacts": ["x", "y"], "startTime": "2026-03-01T09:00:00-08:00",
                         "timeZoneId": "America/Los_Angeles",
                         "recurrence": {"dailySettings": ["09:00"], "numberOfOnCalls": 1, "recurrenceMultiplier": 1}},
            "overrides": [{"newMembers": ["y"], "startTime": "2026-03-07T18:00:00Z", "endTime": "2026-03-07T20:00:00Z"}],
            "startTime": "2026-03-07T00:00:00Z", "endTime": "2026-03-09T00:00:00Z"
        }),
    );
    assert_eq!(status, 200, "{v}");
    let shifts = v["shifts"].as_array().unwrap();
    assert!(shifts.iter().any(|s| s["type"] == "OVERRIDDEN"), "{v}");
    // 2026-03-07 09:00 PST -> 2026-03-08 09:00 PDT is a 23-hour day.
    assert!(
        shifts
            .iter()
            .any(|s| s["startTime"] == "2026-03-07T20:00:00Z"
                && s["endTime"] == "2026-03-08T16:00:00Z"),
        "{v}"
    );
}

#[test]
fn overrides_are_created_listed_applied_kept_on_edit_and_deleted() {
    let data = tempfile::tempdir().unwrap();
    let config = follow_the_sun_dir();
    let server = start(data.path(), Some(config.path()));

    // Two days from now at 11:00Z-13:00Z Dublin covers (08:00-20:00 local, UTC+0/+1).
    let day = (Timestamp::now() + SignedDuration::from_hours(48))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let start = day
        .at(11, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let end = start + SignedDuration::from_hours(2);
    let mid = start + SignedDuration::from_hours(1);
    let (_, v) = server.get(&format!("/v1/schedules/follow-the-sun/oncall?at={mid}"));
    let regular = rotation_field(&v, "dublin")["contacts"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let stand_in = other(["aoife", "ciaran"], &regular);

    let (status, o) = server.send(
        "POST",
        "/v1/schedules/follow-the-sun/overrides",
        json!({"rotation": "dublin", "newContacts": [stand_in], "startTime": start, "endTime": end}),
    );
    assert_eq!(status, 201, "{o}");
    let id = o["id"].as_str().unwrap().to_owned();
    assert!(o["createTime"].is_string());

    let (_, v) = server.get(&format!("/v1/schedules/follow-the-sun/oncall?at={mid}"));
    let d = rotation_field(&v, "dublin");
    assert_eq!(d["contacts"], json!([stand_in]), "{v}");
    assert_eq!(d["shiftType"], "OVERRIDDEN");

    let (_, v) = server.get(&format!(
        "/v1/schedules/follow-the-sun/shifts?from={}&to={}",
        start - SignedDuration::from_hours(2),
        end + SignedDuration::from_hours(2)
    ));
    let over: Vec<&Value> = v["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "OVERRIDDEN")
        .collect();
    assert_eq!(over.len(), 1, "{v}");
    assert_eq!(over[0]["startTime"], json!(start));
    assert_eq!(over[0]["endTime"], json!(end));
    assert_eq!(over[0]["overriddenContacts"], json!([regular]));

    let (_, list) = server.get("/v1/schedules/follow-the-sun/overrides");
    assert_eq!(list["overrides"].as_array().unwrap().len(), 1);

    // Editing the rotation so that the stand-in leaves it keeps the override and reports it.
    let (_, sched) = server.get("/v1/schedules/follow-the-sun");
    let mut dublin = sched["rotations"][0].clone();
    assert_eq!(dublin["name"], "dublin");
    dublin["contacts"] = json!([regular]);
    let (status, v) = server.send(
        "PUT",
        "/v1/schedules/follow-the-sun/rotations/dublin",
        dublin.clone(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["misfits"][0]["id"], json!(id), "{v}");
    assert!(
        v["misfits"][0]["problems"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("newContacts"),
        "{v}"
    );
    let (_, list) = server.get("/v1/schedules/follow-the-sun/overrides");
    assert_eq!(list["overrides"][0]["id"], json!(id), "kept");
    // A start time change is refused, naming the field.
    dublin["startTime"] = json!("2026-02-01T08:00:00Z");
    let (status, v) = server.send(
        "PUT",
        "/v1/schedules/follow-the-sun/rotations/dublin",
        dublin,
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["errors"][0]["field"], "startTime", "{v}");

    let (status, _) = server.send(
        "DELETE",
        &format!("/v1/schedules/follow-the-sun/overrides/{id}"),
        json!(null),
    );
    assert_eq!(status, 204);
    let (status, _) = server.send(
        "DELETE",
        &format!("/v1/schedules/follow-the-sun/overrides/{id}"),
        json!(null),
    );
    assert_eq!(status, 404);
    let (_, v) = server.get(&format!("/v1/schedules/follow-the-sun/oncall?at={mid}"));
    assert_eq!(rotation_field(&v, "dublin")["shiftType"], "REGULAR");

    // Copy the schedule with new start dates; overrides are not copied.
    let later = Timestamp::now() + SignedDuration::from_hours(24 * 7);
    let (status, v) = server.send(
        "POST",
        "/v1/schedules/follow-the-sun/copy",
        json!({"alias": "follow-the-sun-2027", "rotations": [
            {"from": "dublin", "name": "dublin", "startTime": later},
            {"from": "los-angeles", "name": "los-angeles", "startTime": later}]}),
    );
    assert_eq!(status, 201, "{v}");
    let (status, _) = server.get("/v1/schedules/follow-the-sun-2027");
    assert_eq!(status, 200);
}

fn field_rule(v: &Value) -> Vec<(String, String)> {
    v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {v}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").to_owned(),
                e["rule"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn assert_names(v: &Value, field: &str, rule_part: &str) {
    let fr = field_rule(v);
    assert!(
        fr.iter().any(|(f, r)| f == field && r.contains(rule_part)),
        "wanted {field}: …{rule_part}… in {v}"
    );
}

#[test]
fn bad_input_gets_a_4xx_naming_the_field_and_the_rule() {
    let data = tempfile::tempdir().unwrap();
    let config = follow_the_sun_dir();
    let server = start(data.path(), Some(config.path()));
    let rotation = |zone: &str, contacts: Value, coverage: Value| {
        json!({"name": "r", "contacts": contacts, "startTime": "2026-01-01T00:00:00Z", "timeZoneId": zone,
               "recurrence": {"dailySettings": ["09:00"], "numberOfOnCalls": 1, "recurrenceMultiplier": 1,
                              "shiftCoverages": coverage}})
    };
    let week = json!({"MON": [{"start": "09:00", "end": "17:00"}]});

    // Unknown zone.
    let (status, v) = server.send("POST", "/v1/schedules", json!({"alias": "mars", "rotations": [rotation("Mars/Olympus_Mons", json!(["ana"]), week.clone())]}));
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "rotations[0].timeZoneId", "unknown time zone");

    // 20-minute coverage.
    let (status, v) = server.send("POST", "/v1/schedules", json!({"alias": "short", "rotations": [rotation("Europe/Dublin", json!(["ana"]), json!({"MON": [{"start": "09:00", "end": "09:20"}]}))]}));
    assert_eq!(status, 400, "{v}");
    assert_names(
        &v,
        "rotations[0].recurrence.shiftCoverages.MON[0]",
        "at least 30 minutes",
    );

    // 31 contacts.
    let many: Vec<String> = (0..31).map(|i| format!("p{i}")).collect();
    let (status, v) = server.send("POST", "/v1/schedules", json!({"alias": "crowd", "rotations": [rotation("Europe/Dublin", json!(many), week.clone())]}));
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "rotations[0].contacts", "at most 30 contacts");

    // A member that is not a stored contact.
    let (status, v) = server.send("POST", "/v1/schedules", json!({"alias": "ghosts", "rotations": [rotation("Europe/Dublin", json!(["zed"]), week.clone())]}));
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "rotations[0].contacts[0]", "not a PERSONAL contact");

    // Start after end: a query window and an override.
    let (status, v) = server.get(
        "/v1/schedules/follow-the-sun/shifts?from=2026-03-10T00:00:00Z&to=2026-03-01T00:00:00Z",
    );
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "to", "after");
    let soon = Timestamp::now() + SignedDuration::from_hours(30);
    let (status, v) = server.send(
        "POST",
        "/v1/schedules/follow-the-sun/overrides",
        json!({"rotation": "dublin", "newContacts": ["aoife"], "startTime": soon, "endTime": soon - SignedDuration::from_hours(1)}),
    );
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "endTime", "after startTime");

    // An override naming a contact outside the rotation.
    let (status, v) = server.send(
        "POST",
        "/v1/schedules/follow-the-sun/overrides",
        json!({"rotation": "dublin", "newContacts": ["ana"], "startTime": soon, "endTime": soon + SignedDuration::from_hours(2)}),
    );
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "newContacts[0]", "not a contact of this rotation");

    // Bad JSON names the field; unknown things are 404; a bad instant names the parameter.
    let (status, v) = server.send("POST", "/v1/contacts", json!({"alias": "x", "type": "PERSONAL", "channels": [{"name": "m", "type": "SMS", "deliveryAddress": 5}]}));
    assert_eq!(status, 400, "{v}");
    assert!(field_rule(&v)[0].0.starts_with("channels[0]"), "{v}");
    let (status, v) = server.send("POST", "/v1/contacts", json!({"alias": "x", "type": "PERSONAL", "channels": [{"name": "m", "type": "SMS", "deliveryAddress": "555-0100"}]}));
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "channels[0].deliveryAddress", "E.164");
    let (status, v) = server.send(
        "POST",
        "/v1/contacts",
        json!({"alias": "Bad Alias", "type": "PERSONAL"}),
    );
    assert_eq!(status, 400, "{v}");
    assert_names(&v, "alias", "^[a-z0-9_-]+$");
    let (status, v) = server.send(
        "POST",
        "/v1/contacts",
        json!({"alias": "aoife", "type": "PERSONAL"}),
    );
    assert_eq!(status, 409, "{v}");
    let (status, _) = server.get("/v1/schedules/nope/oncall");
    assert_eq!(status, 404);
    let (status, v) = server.get("/v1/schedules/follow-the-sun/oncall?at=yesterday");
    assert_eq!(status, 400);
    assert_names(&v, "at", "RFC 3339");
    // A member of a rotation cannot be deleted.
    let (status, v) = server.send("DELETE", "/v1/contacts/aoife", json!(null));
    assert_eq!(status, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("dublin"), "{v}");

    // Nothing of the refused requests was written.
    let (_, v) = server.get("/v1/schedules");
    assert_eq!(v["schedules"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = server.get("/v1/contacts");
    assert_eq!(v["contacts"].as_array().unwrap().len(), 4, "{v}");
}

#[test]
fn a_bad_batch_writes_nothing_and_a_bad_config_stops_serve() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), None);
    // Good people, a schedule naming a missing member, and a duplicated alias.
    let files = json!({"files": [
        {"path": "people.yaml", "text": people()},
        {"path": "schedule.yaml", "text": follow_the_sun_schedule().replace("[ana, ben]", "[ana, zed]")},
        {"path": "dup.yaml", "text": "kind: Contact\nalias: ana\ntype: PERSONAL\n"},
    ]});
    let (status, v) = server.send("POST", "/v1/apply", files);
    assert_eq!(status, 400, "{v}");
    let problems = v["errors"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["file"] == "schedule.yaml"
            && p["document"] == 1
            && p["field"] == "rotations[1].contacts[1]"),
        "{v}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["file"] == "dup.yaml" && p["field"] == "alias"),
        "{v}"
    );
    let (_, v) = server.get("/v1/contacts");
    assert!(
        v["contacts"].as_array().unwrap().is_empty(),
        "half-written: {v}"
    );
    let (_, v) = server.get("/v1/schedules");
    assert!(
        v["schedules"].as_array().unwrap().is_empty(),
        "half-written: {v}"
    );
    drop(server);

    // The same directory given to serve --config: serve refuses to start, naming file and field.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("people.yaml"), people()).unwrap();
    std::fs::write(
        config.path().join("schedule.yaml"),
        follow_the_sun_schedule().replace("Europe/Dublin", "Europe/Dublinn"),
    )
    .unwrap();
    let log = match try_start(data.path(), Some(config.path())) {
        Ok(_) => panic!("serve started with a bad schedule"),
        Err(log) => log,
    };
    assert!(
        log.contains("schedule.yaml") && log.contains("rotations[0].timeZoneId"),
        "{log}"
    );
    let server = start(data.path(), None);
    let (_, v) = server.get("/v1/contacts");
    assert!(
        v["contacts"].as_array().unwrap().is_empty(),
        "half-written: {v}"
    );
}

/// The activation code the console plugin wrote to the engine log for `alias`/`channel`.
fn code_from_log(server: &Server, alias: &str, channel: &str) -> String {
    let needle = format!("activation code for channel \"{channel}\" of {alias} is ");
    let log = server.log_text();
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no code in the log:\n{log}"));
    let rest = &line[line.find(&needle).unwrap() + needle.len()..];
    rest.chars().take_while(char::is_ascii_digit).collect()
}

#[test]
fn channels_activate_with_a_code_sent_through_the_console_plugin_and_stop_start_replies() {
    let data = tempfile::tempdir().unwrap();
    let config = follow_the_sun_dir();
    let server = start(data.path(), Some(config.path()));
    let (_, ch) = server.get("/v1/contacts/aoife/channels/mobile");
    assert_eq!(ch["activationStatus"], "NOT_ACTIVATED", "{ch}");

    // No code sent yet.
    let (status, v) = server.send(
        "POST",
        "/v1/contacts/aoife/channels/mobile/activate",
        json!({"activationCode": "000000"}),
    );
    assert_eq!(status, 409, "{v}");

    let (status, v) = server.send(
        "POST",
        "/v1/contacts/aoife/channels/mobile/send-activation-code",
        json!({}),
    );
    assert_eq!(status, 200, "{v}");
    let code = code_from_log(&server, "aoife", "mobile");
    assert_eq!(code.len(), 6, "{code}");
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let (status, v) = server.send(
        "POST",
        "/v1/contacts/aoife/channels/mobile/activate",
        json!({"activationCode": wrong}),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["errors"][0]["field"], "activationCode");
    let (status, v) = server.send(
        "POST",
        "/v1/contacts/aoife/channels/mobile/activate",
        json!({"activationCode": code}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["activationStatus"], "ACTIVATED");

    // A new channel gets a code on creation.
    let (status, v) = server.send(
        "POST",
        "/v1/contacts/ana/channels",
        json!({"name": "voice", "type": "VOICE", "deliveryAddress": "+14155550199"}),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["activationCodeSent"], true, "{v}");
    assert_eq!(code_from_log(&server, "ana", "voice").len(), 6);
    let (status, _) = server.send("DELETE", "/v1/contacts/ana/channels/voice", json!(null));
    assert_eq!(status, 204);
    // A channel the engagement plan uses cannot be deleted.
    let (status, v) = server.send("DELETE", "/v1/contacts/ana/channels/mobile", json!(null));
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["errors"][0]["field"], "engagementPlan.stages[0].channel");

    // STOP deactivates, START reactivates; other text is ignored.
    let (status, v) = server.send(
        "POST",
        "/v1/inbound/sms",
        json!({"from": "+353861234567", "body": " stop "}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["changed"][0]["contact"], "aoife");
    assert_eq!(v["changed"][0]["activationStatus"], "NOT_ACTIVATED");
    let (_, ch) = server.get("/v1/contacts/aoife/channels/mobile");
    assert_eq!(ch["activationStatus"], "NOT_ACTIVATED");
    let (_, v) = server.send(
        "POST",
        "/v1/inbound/sms",
        json!({"from": "+353861234567", "body": "ACK 123"}),
    );
    assert_eq!(v["keyword"], Value::Null);
    let (status, v) = server.send(
        "POST",
        "/v1/inbound/sms",
        json!({"from": "+353861234567", "body": "START"}),
    );
    assert_eq!(status, 200, "{v}");
    let (_, ch) = server.get("/v1/contacts/aoife/channels/mobile");
    assert_eq!(ch["activationStatus"], "ACTIVATED");
    let (status, _) = server.send(
        "POST",
        "/v1/inbound/sms",
        json!({"from": "+10000000000", "body": "STOP"}),
    );
    assert_eq!(status, 404);

    // UNSUBSCRIBE works too, then START again.
    let (_, v) = server.send(
        "POST",
        "/v1/inbound/sms",
        json!({"from": "+353861234567", "body": "UNSUBSCRIBE"}),
    );
    assert_eq!(v["changed"][0]["activationStatus"], "NOT_ACTIVATED");
    server.send(
        "POST",
        "/v1/inbound/sms",
        json!({"from": "+353861234567", "body": "START"}),
    );

    // A restart (re-applying the same --config) keeps activation, overrides and everything else.
    let soon = Timestamp::now() + SignedDuration::from_hours(72);
    let day = soon.to_zoned(jiff::tz::TimeZone::UTC).date();
    let start_at = day
        .at(10, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let (status, o) = server.send(
        "POST",
        "/v1/schedules/follow-the-sun/overrides",
        json!({"rotation": "dublin", "newContacts": ["ciaran"], "startTime": start_at, "endTime": start_at + SignedDuration::from_hours(3)}),
    );
    assert_eq!(status, 201, "{o}");
    let (_, before_contacts) = server.get("/v1/contacts");
    let (_, before_schedules) = server.get("/v1/schedules");
    drop(server);
    let server = start(data.path(), Some(config.path()));
    let (_, after_contacts) = server.get("/v1/contacts");
    let (_, after_schedules) = server.get("/v1/schedules");
    assert_eq!(before_contacts, after_contacts);
    assert_eq!(before_schedules, after_schedules);
    let (_, ch) = server.get("/v1/contacts/aoife/channels/mobile");
    assert_eq!(
        ch["activationStatus"], "ACTIVATED",
        "re-applying the config must not undo an activation"
    );
    let (_, list) = server.get("/v1/schedules/follow-the-sun/overrides");
    assert_eq!(list["overrides"][0]["id"], o["id"]);
}
