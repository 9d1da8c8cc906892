//! Tests of the `voice` plugin against a stand-in that checks Twilio's documented Calls API
//! contract, parses the TwiML it is sent, and answers as Twilio does.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tocsin::plugin::{CallContext, InstanceSpec, InvokeError, PluginHost, PluginSource};

use crate::helpers::*;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-7f3a";
/// `Basic base64(ACCOUNT:TOKEN)`, computed independently of the plugin.
const BASIC_AUTH: &str =
    "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0d2lsaW8tYXV0aC10b2tlbi03ZjNh";
const FROM: &str = "+15017122661";
const TO: &str = "+14155550100";
const CALLBACK: &str = "https://tocsin.example.com/v1/inbound/voice?page=p-1&sig=a%2Bb";
const CALL_SID: &str = "CAe03b7cd806070d1f32bdb7f1046a41c0";

/// Twilio's documented answer to a created call (HTTP 201).
fn twilio_created(to: &str) -> Reply {
    let doc = json!({
        "account_sid": ACCOUNT,
        "annotation": null,
        "answered_by": null,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
        "date_updated": "Tue, 31 Aug 2010 20:36:44 +0000",
        "direction": "outbound-api",
        "duration": null,
        "end_time": null,
        "forwarded_from": null,
        "from": FROM,
        "from_formatted": "(501) 712-2661",
        "group_sid": null,
        "parent_call_sid": null,
        "phone_number_sid": "PNe03b7cd806070d1f32bdb7f1046a41c0",
        "price": null,
        "price_unit": "USD",
        "sid": CALL_SID,
        "start_time": null,
        "status": "queued",
        "subresource_uris": {},
        "to": to,
        "to_formatted": "(415) 555-0100",
        "trunk_sid": null,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL_SID}.json"),
        "queue_time": "1000"
    });
    (
        201,
        vec![("content-type", "application/json".into())],
        doc.to_string(),
    )
}

fn twilio_error(
    status: u16,
    code: u32,
    message: &str,
    mut headers: Vec<(&'static str, String)>,
) -> Reply {
    headers.push(("content-type", "application/json".into()));
    let doc = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status
    });
    (status, headers, doc.to_string())
}

/// A voice instance pointed at a local stand-in on `port`, with the origin and the token granted.
fn voice_spec(port: u16, extra: Value) -> InstanceSpec {
    let mut config = json!({
        "account_sid": ACCOUNT,
        "from": FROM,
        "api_base": format!("http://127.0.0.1:{port}")
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let mut s = spec("voice", PluginSource::Builtin("voice".into()));
    s.config = config;
    s.grant.http = vec![format!("http://127.0.0.1:{port}")];
    s.grant.secrets = vec!["TWILIO_AUTH_TOKEN".into()];
    s.secret_values = vec![("TWILIO_AUTH_TOKEN".into(), TOKEN.into())];
    s
}

fn form(body: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        let previous = fields.insert(name.into_owned(), value.into_owned());
        assert!(previous.is_none(), "a form field is repeated: {body}");
    }
    fields
}

async fn call(host: &PluginHost, input: Value) -> Result<Value, InvokeError> {
    let ctx = CallContext {
        invocation_id: "exec-7/page-alice/1".into(),
        attempt: 1,
        ..Default::default()
    };
    host.invoke("voice", "notify", &input, ctx).await
}

/// The verbs of a TwiML document: (element name, attributes, text of its `<Say>`).
type Verb = (String, BTreeMap<String, String>, String);

fn verbs(twiml: &str) -> Vec<Verb> {
    let doc = roxmltree::Document::parse(twiml)
        .unwrap_or_else(|e| panic!("the TwiML is not well-formed XML ({e}): {twiml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "Response", "{twiml}");
    root.children()
        .filter(|n| n.is_element())
        .map(|n| {
            let attrs = n
                .attributes()
                .map(|a| (a.name().to_owned(), a.value().to_owned()))
                .collect();
            let say = if n.tag_name().name() == "Say" {
                n
            } else {
                let says: Vec<_> = n.children().filter(|c| c.is_element()).collect();
                assert_eq!(says.len(), 1, "one <Say> per <Gather>: {twiml}");
                assert_eq!(says[0].tag_name().name(), "Say", "{twiml}");
                says[0]
            };
            (
                n.tag_name().name().to_owned(),
                attrs,
                say.text().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_call_reads_the_page_and_gathers_1_to_acknowledge_at_the_callback() {
    let (addr, seen) = recording_peer(|req| twilio_created(&form(&req.body)["To"])).await;
    let host = host_with(vec![voice_spec(addr.port(), json!({}))]).await;
    let subject = r#"Checkout <critical> & "paging""#;
    let message = "Error rate > 5% on 'eu-west' </Say><Hangup/> since 14:02\u{7}";
    let out = call(
        &host,
        json!({
            "recipient": TO,
            "subject": subject,
            "message": message,
            "accept_code": "482913",
            "accept_url": "https://tocsin.example.com/ack/p-1?sig=x",
            "callback_url": CALLBACK,
            "incident_arn": "arn:tocsin:incident/42"
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({
            "provider": "twilio",
            "provider_id": CALL_SID,
            "status": "SENT",
            "detail": "Twilio call status `queued`"
        })
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one request, no retries");
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.uri,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
    );
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded"),
        "{:?}",
        req.headers
    );
    assert_eq!(req.header("authorization"), Some(BASIC_AUTH));
    assert_eq!(
        req.header("i-twilio-idempotency-token"),
        Some("exec-7/page-alice/1")
    );
    let fields = form(&req.body);
    assert_eq!(
        fields.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "From",
            "StatusCallback",
            "StatusCallbackMethod",
            "To",
            "Twiml"
        ],
        "exactly the documented fields"
    );
    assert_eq!(fields["To"], TO);
    assert_eq!(fields["From"], FROM);
    assert_eq!(fields["StatusCallback"], CALLBACK);
    assert_eq!(fields["StatusCallbackMethod"], "POST");

    let twiml = &fields["Twiml"];
    assert!(twiml.chars().count() <= 4000, "Twilio's limit for Twiml");
    let verbs = verbs(twiml);
    assert_eq!(
        verbs.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
        ["Gather", "Gather", "Say"],
        "read, read again when nobody presses, then goodbye: {twiml}"
    );
    // The page text survives XML intact: escaped on the way in, equal after parsing; the
    // bell character XML cannot carry became a space.
    let spoken = format!("{subject}. Error rate > 5% on 'eu-west' </Say><Hangup/> since 14:02 .");
    for (name, attrs, say) in &verbs[..2] {
        assert_eq!(name, "Gather");
        assert_eq!(attrs["numDigits"], "1", "one key: {twiml}");
        assert_eq!(
            attrs["action"], CALLBACK,
            "the key press goes to this page's callback"
        );
        assert_eq!(attrs["method"], "POST");
        assert_eq!(attrs["input"], "dtmf");
        assert!(say.contains(&spoken), "{say:?} should contain {spoken:?}");
        assert!(say.ends_with("Press 1 to acknowledge."), "{say}");
    }
    assert!(verbs[1].2.starts_with("Again."), "{}", verbs[1].2);
    assert!(verbs[2].2.contains("Goodbye"), "{}", verbs[2].2);
}

#[tokio::test]
async fn voice_settings_shape_the_call_and_a_long_page_fits_twilios_limit() {
    let (addr, seen) = recording_peer(|req| twilio_created(&form(&req.body)["To"])).await;
    let host = host_with(vec![voice_spec(
        addr.port(),
        json!({"voice": "Polly.Amy", "language": "en-GB", "readings": 3, "gather_timeout_secs": 8, "ring_timeout_secs": 25}),
    )])
    .await;
    let message = "Replication lag on db-1 & db-2 is growing <fast>. ".repeat(200);
    call(
        &host,
        json!({"recipient": TO, "message": message, "callback_url": CALLBACK}),
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    let fields = form(&seen[0].body);
    assert_eq!(fields["Timeout"], "25", "ring timeout");
    let twiml = &fields["Twiml"];
    assert!(
        twiml.chars().count() <= 4000,
        "{} characters",
        twiml.chars().count()
    );
    let verbs = verbs(twiml);
    assert_eq!(
        verbs.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
        ["Gather", "Gather", "Gather", "Say"]
    );
    for (_, attrs, say) in &verbs[..3] {
        assert_eq!(attrs["timeout"], "8");
        assert!(
            say.contains("Replication lag on db-1 & db-2 is growing <fast>."),
            "{say}"
        );
        assert!(
            say.ends_with("... Press 1 to acknowledge."),
            "cut, prompt kept: {say}"
        );
    }
    let doc = roxmltree::Document::parse(twiml).unwrap();
    for say in doc.descendants().filter(|n| n.has_tag_name("Say")) {
        assert_eq!(say.attribute("voice"), Some("Polly.Amy"));
        assert_eq!(say.attribute("language"), Some("en-GB"));
    }
}

#[tokio::test]
async fn without_a_callback_the_page_is_read_without_a_key_prompt() {
    let (addr, seen) = recording_peer(|req| twilio_created(&form(&req.body)["To"])).await;
    let host = host_with(vec![voice_spec(addr.port(), json!({}))]).await;
    call(&host, json!({"recipient": TO, "message": "db-1 down"}))
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let fields = form(&seen[0].body);
    assert!(!fields.contains_key("StatusCallback"));
    let verbs = verbs(&fields["Twiml"]);
    assert_eq!(
        verbs.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
        ["Say", "Say", "Say"]
    );
    assert!(verbs.iter().all(|v| !v.2.contains("Press 1")));
}

#[tokio::test]
async fn twilio_errors_keep_twilios_code_and_message_and_map_to_retry_or_not() {
    let (addr, _seen) = recording_peer(|req| match form(&req.body)["To"].as_str() {
        "+15005550001" => twilio_error(
            400,
            21211,
            "The 'To' number +15005550001 is not a valid phone number.",
            vec![],
        ),
        "+15005550401" => twilio_error(401, 20003, "Authenticate", vec![]),
        "+15005550429" => twilio_error(
            429,
            20429,
            "Too Many Requests",
            vec![("retry-after", "12".into())],
        ),
        _ => twilio_error(503, 20503, "Service Unavailable", vec![]),
    })
    .await;
    let host = host_with(vec![voice_spec(addr.port(), json!({}))]).await;
    let send = |to: &'static str| call(&host, json!({"recipient": to, "message": "db-1 down"}));

    let err = send("+15005550001").await.unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(
        err.to_string().contains(
            "Twilio error 21211: The 'To' number +15005550001 is not a valid phone number."
        ),
        "{err}"
    );

    let err = send("+15005550401").await.unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains(TOKEN));

    let err = send("+15005550429").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));

    let err = send("+15005550503").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("Service Unavailable"), "{err}");
}

#[tokio::test]
async fn missing_grants_are_denied_naming_what_to_grant() {
    let (addr, seen) = recording_peer(|req| twilio_created(&form(&req.body)["To"])).await;
    let mut no_secret = voice_spec(addr.port(), json!({}));
    no_secret.grant.secrets.clear();
    let mut no_origin = voice_spec(addr.port(), json!({}));
    no_origin.name = "voice-no-origin".into();
    no_origin.grant.http = vec!["https://api.twilio.com".into()];
    let host = host_with(vec![no_secret, no_origin]).await;

    let err = call(&host, json!({"recipient": TO, "message": "db-1 down"}))
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("TWILIO_AUTH_TOKEN"), "{message}");
    assert!(message.contains("secrets:"), "{message}");

    let err = host
        .invoke(
            "voice-no-origin",
            "notify",
            &json!({"recipient": TO, "message": "db-1 down"}),
            CallContext::default(),
        )
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("allow.http"), "{message}");
    assert!(
        message.contains(&format!("http://127.0.0.1:{}", addr.port())),
        "{message}"
    );
    assert!(seen.lock().unwrap().is_empty(), "no call was placed");
}
