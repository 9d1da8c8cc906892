//! Tests of the `sms` plugin against its peers: a stand-in that checks Twilio's documented
//! Messages API contract and answers as Twilio does, and a real moto server for Amazon SNS.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
const CALLBACK: &str = "https://tocsin.example.com/v1/inbound/sms?page=p-1&sig=a%2Bb";

/// Twilio's documented answer to a created message (HTTP 201).
fn twilio_created(body: &str, to: &str) -> Reply {
    let doc = json!({
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": null,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": FROM,
        "messaging_service_sid": null,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "status": "queued",
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f/Media.json")},
        "to": to,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json")
    });
    (
        201,
        vec![("content-type", "application/json".into())],
        doc.to_string(),
    )
}

/// Twilio's documented error document.
fn twilio_error(
    status: u16,
    code: u32,
    message: &str,
    headers: Vec<(&'static str, String)>,
) -> Reply {
    let mut headers = headers;
    headers.push(("content-type", "application/json".into()));
    let doc = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status
    });
    (status, headers, doc.to_string())
}

/// A Twilio instance pointed at a local stand-in on `port`, with the origin and the token granted.
fn twilio_spec(port: u16, twilio: Value) -> InstanceSpec {
    let mut twilio = twilio;
    twilio["api_base"] = json!(format!("http://127.0.0.1:{port}"));
    let mut s = spec("sms", PluginSource::Builtin("sms".into()));
    s.config = json!({ "twilio": twilio });
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

fn ctx(invocation_id: &str) -> CallContext {
    CallContext {
        invocation_id: invocation_id.into(),
        attempt: 1,
        ..Default::default()
    }
}

async fn page(host: &PluginHost, input: Value) -> Result<Value, InvokeError> {
    host.invoke("sms", "notify", &input, ctx("exec-7/page-alice/1"))
        .await
}

#[tokio::test]
async fn twilio_gets_the_documented_request_and_the_page_gets_the_message_sid() {
    let (addr, seen) = recording_peer(|req| {
        let fields = form(&req.body);
        twilio_created(&fields["Body"], &fields["To"])
    })
    .await;
    let host = host_with(vec![twilio_spec(
        addr.port(),
        json!({"account_sid": ACCOUNT, "from": FROM}),
    )])
    .await;
    let out = page(
        &host,
        json!({
            "recipient": TO,
            "subject": "checkout degraded",
            "message": "Checkout error rate 7% (SLO 1%) since 14:02 UTC",
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
            "provider_id": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
            "status": "SENT",
            "detail": "Twilio status `queued`, 1 segment(s)"
        })
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one request, no retries");
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.uri,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
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
        Some("exec-7/page-alice/1"),
        "the invocation id is the idempotency token"
    );
    let fields = form(&req.body);
    assert_eq!(
        fields,
        BTreeMap::from([
            ("To".to_owned(), TO.to_owned()),
            ("From".to_owned(), FROM.to_owned()),
            (
                "Body".to_owned(),
                "Checkout error rate 7% (SLO 1%) since 14:02 UTC\nReply 482913 to acknowledge"
                    .to_owned()
            ),
            ("StatusCallback".to_owned(), CALLBACK.to_owned()),
        ]),
        "exactly the documented fields; subject, accept_url and incident_arn are not texted"
    );
}

#[tokio::test]
async fn a_messaging_service_an_api_key_and_the_length_cap_are_honoured() {
    let (addr, seen) = recording_peer(|req| {
        let fields = form(&req.body);
        twilio_created(&fields["Body"], &fields["To"])
    })
    .await;
    let mut s = twilio_spec(
        addr.port(),
        json!({
            "account_sid": ACCOUNT,
            "from": FROM,
            "messaging_service_sid": "MG0123456789abcdef0123456789abcdef",
            "api_key_sid": "SK0123456789abcdef0123456789abcdef"
        }),
    );
    s.config["max_length"] = json!(306);
    s.grant.secrets = vec!["TWILIO_API_KEY_SECRET".into()];
    s.secret_values = vec![("TWILIO_API_KEY_SECRET".into(), "api-key-secret-91c2".into())];
    let host = host_with(vec![s]).await;
    let message = "db-1 replication lag is growing; ".repeat(30);
    page(
        &host,
        json!({"recipient": TO, "message": message, "accept_code": "482913"}),
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(
        req.header("authorization"),
        Some("Basic U0swMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjphcGkta2V5LXNlY3JldC05MWMy"),
        "API key SID and secret"
    );
    assert_eq!(
        req.uri,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json"),
        "the account SID still names the account"
    );
    let fields = form(&req.body);
    assert_eq!(
        fields["MessagingServiceSid"],
        "MG0123456789abcdef0123456789abcdef"
    );
    assert!(!fields.contains_key("From"), "the service picks the sender");
    assert!(
        !fields.contains_key("StatusCallback"),
        "no callback URL, no StatusCallback"
    );
    let body = &fields["Body"];
    assert_eq!(body.chars().count(), 306, "cut to two segments: {body}");
    assert!(
        body.starts_with("db-1 replication lag is growing;"),
        "{body}"
    );
    assert!(body.ends_with("...\nReply 482913 to acknowledge"), "{body}");
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
            vec![("retry-after", "7".into())],
        ),
        _ => (
            503,
            vec![("content-type", "text/html".into())],
            "<html>Service Unavailable</html>".into(),
        ),
    })
    .await;
    let host = host_with(vec![twilio_spec(
        addr.port(),
        json!({"account_sid": ACCOUNT, "from": FROM}),
    )])
    .await;
    let send = |to: &'static str| page(&host, json!({"recipient": to, "message": "db-1 down"}));

    let err = send("+15005550001").await.unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("21211"), "{text}");
    assert!(
        text.contains("The 'To' number +15005550001 is not a valid phone number."),
        "{text}"
    );

    let err = send("+15005550401").await.unwrap_err();
    assert_eq!(
        err.kind(),
        "failed",
        "bad credentials are not the input's fault: {err}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("20003: Authenticate"), "{err}");
    assert!(!err.to_string().contains(TOKEN), "{err}");

    let err = send("+15005550429").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.to_string().contains("Too Many Requests"), "{err}");

    let err = send("+15005550503").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), None);
    assert!(err.to_string().contains("503"), "{err}");
}

#[tokio::test]
async fn without_the_token_grant_the_page_is_denied_naming_the_secret() {
    let (addr, seen) = recording_peer(|_| twilio_created("", TO)).await;
    let mut s = twilio_spec(addr.port(), json!({"account_sid": ACCOUNT, "from": FROM}));
    s.grant.secrets.clear();
    let host = host_with(vec![s]).await;
    let err = page(&host, json!({"recipient": TO, "message": "db-1 down"}))
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("TWILIO_AUTH_TOKEN"), "{message}");
    assert!(
        message.contains("secrets:"),
        "says where to grant it: {message}"
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn an_api_origin_that_is_not_granted_is_denied_naming_the_grant() {
    let (addr, seen) = recording_peer(|_| twilio_created("", TO)).await;
    let mut s = twilio_spec(addr.port(), json!({"account_sid": ACCOUNT, "from": FROM}));
    s.grant.http = vec!["https://api.twilio.com".into()];
    let host = host_with(vec![s]).await;
    let err = page(&host, json!({"recipient": TO, "message": "db-1 down"}))
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
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn configuration_and_input_mistakes_are_caught_before_anything_is_sent() {
    let mut host = PluginHost::new(Default::default()).unwrap();
    for (config, why) in [
        (json!({"twilio": {"account_sid": ACCOUNT}}), "no sender"),
        (
            json!({"twilio": {"account_sid": "AC123", "from": FROM}}),
            "short account SID",
        ),
        (json!({"provider": "sns"}), "no sns section"),
        (json!({}), "no twilio section"),
    ] {
        let mut s = spec("sms", PluginSource::Builtin("sms".into()));
        s.config = config;
        let err = host.add_instance(s).await.err();
        assert!(err.is_some(), "{why}: the configuration is refused at load");
    }

    let (addr, seen) = recording_peer(|_| twilio_created("", TO)).await;
    let host = host_with(vec![twilio_spec(
        addr.port(),
        json!({"account_sid": ACCOUNT, "from": FROM}),
    )])
    .await;
    let err = page(
        &host,
        json!({"recipient": "0041 79 555 01 00", "message": "db-1 down"}),
    )
    .await
    .unwrap_err();
    let InvokeError::InvalidInput { errors, .. } = &err else {
        panic!("{err}")
    };
    assert!(errors.join(" ").contains("/recipient"), "{errors:?}");
    assert!(seen.lock().unwrap().is_empty());
}

/// A moto server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = peer_bin().join("moto_server");
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} (run `cargo xtask peers`): {e}", bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if reqwest::get(format!("{url}/moto-api/data.json"))
                .await
                .is_ok()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto { child, url }
    }

    /// The text messages moto's SNS recorded: (phone number, message).
    async fn sent_sms(&self) -> Vec<(String, String)> {
        let data: Value = reqwest::get(format!("{}/moto-api/data.json", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        data["sns"]["SMS"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    m["phone_number"].as_str().unwrap().to_owned(),
                    m["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sns_spec(endpoint: &str, origin: &str) -> InstanceSpec {
    let mut s = spec("sms", PluginSource::Builtin("sms".into()));
    s.config = json!({
        "provider": "sns",
        "sns": {"region": "eu-west-1", "endpoint_url": endpoint}
    });
    s.grant.http = vec![origin.to_owned()];
    s.grant.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    s.secret_values = vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIAIOSFODNN7EXAMPLE".into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        ),
    ];
    s
}

#[tokio::test]
async fn sns_publishes_the_page_to_the_phone_and_moto_records_it() {
    let moto = Moto::start().await;
    let host = host_with(vec![sns_spec(&moto.url, &moto.url)]).await;
    let out = page(
        &host,
        json!({"recipient": TO, "message": "db-1 down", "accept_code": "482913", "callback_url": CALLBACK}),
    )
    .await
    .unwrap();
    assert_eq!(out["provider"], "sns");
    assert_eq!(out["status"], "SENT");
    let message_id = out["provider_id"].as_str().unwrap();
    assert_eq!(
        message_id.len(),
        36,
        "SNS MessageId is a UUID: {message_id}"
    );
    assert_eq!(
        moto.sent_sms().await,
        vec![(
            TO.to_owned(),
            "db-1 down\nReply 482913 to acknowledge".to_owned()
        )]
    );
}

#[tokio::test]
async fn sns_requests_are_signed_and_sns_errors_are_mapped() {
    let (addr, seen) = recording_peer(|req| {
        let fields = form(&req.body);
        let error = |status: u16, code: &str, message: &str| -> Reply {
            let xml = format!(
                r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>9e9f1e4b-2a4f-5d5b-8f5e-3c1f1f2d3e4f</RequestId></ErrorResponse>"#
            );
            (status, vec![("content-type", "text/xml".into())], xml)
        };
        match fields["PhoneNumber"].as_str() {
            "+15005550001" => error(400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: +15005550001 is not valid to publish to"),
            "+15005550429" => error(400, "Throttling", "Rate exceeded"),
            _ => error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."),
        }
    })
    .await;
    let origin = format!("http://127.0.0.1:{}", addr.port());
    let host = host_with(vec![sns_spec(&origin, &origin)]).await;
    let send = |to: &'static str| page(&host, json!({"recipient": to, "message": "db-1 down"}));

    let err = send("+15005550001").await.unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(err.to_string().contains("InvalidParameter"), "{err}");
    assert!(
        err.to_string().contains("is not valid to publish to"),
        "{err}"
    );

    let err = send("+15005550429").await.unwrap_err();
    assert!(err.is_retryable(), "throttling is retryable: {err}");

    let err = send("+15005550403").await.unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");

    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.uri, "/");
    let authorization = req.header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
            && authorization.contains("/eu-west-1/sns/aws4_request"),
        "{authorization}"
    );
    let fields = form(&req.body);
    assert_eq!(fields["Action"], "Publish");
    assert_eq!(fields["Version"], "2010-03-31");
    assert_eq!(fields["Message"], "db-1 down");
    assert_eq!(
        fields["MessageAttributes.entry.1.Name"],
        "AWS.SNS.SMS.SMSType"
    );
    assert_eq!(fields["MessageAttributes.entry.1.Value.DataType"], "String");
    assert_eq!(
        fields["MessageAttributes.entry.1.Value.StringValue"], "Transactional",
        "pages are transactional texts"
    );
}

#[tokio::test]
async fn sns_without_the_aws_key_grant_is_denied_naming_the_secret() {
    let (addr, seen) = recording_peer(|_| (200, vec![], String::new())).await;
    let origin = format!("http://127.0.0.1:{}", addr.port());
    let mut s = sns_spec(&origin, &origin);
    s.grant.secrets.clear();
    let host = host_with(vec![s]).await;
    let err = page(&host, json!({"recipient": TO, "message": "db-1 down"}))
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn sns_sends_the_session_token_of_temporary_credentials() {
    let (addr, seen) = recording_peer(|_| {
        let xml = r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId></PublishResult><ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId></ResponseMetadata></PublishResponse>"#;
        (200, vec![("content-type", "text/xml".into())], xml.into())
    })
    .await;
    let origin = format!("http://127.0.0.1:{}", addr.port());
    let mut s = sns_spec(&origin, &origin);
    s.secret_values[0].1 = "ASIAIOSFODNN7EXAMPLE".into();
    let mut temporary = s.clone();
    temporary.name = "sms-sts".into();
    temporary.grant.secrets.push("AWS_SESSION_TOKEN".into());
    temporary.secret_values.push((
        "AWS_SESSION_TOKEN".into(),
        "FwoGZXIvYXdzEXAMPLETOKEN".into(),
    ));
    let host = host_with(vec![s, temporary]).await;

    let out = host
        .invoke(
            "sms-sts",
            "notify",
            &json!({"recipient": TO, "message": "db-1 down"}),
            ctx("x/1"),
        )
        .await
        .unwrap();
    assert_eq!(out["provider_id"], "567910cd-659e-55d4-8ccb-5aaf14679dc0");
    assert_eq!(
        seen.lock().unwrap()[0].header("x-amz-security-token"),
        Some("FwoGZXIvYXdzEXAMPLETOKEN")
    );

    // A temporary key without its token cannot sign: denied, naming the token.
    let err = page(&host, json!({"recipient": TO, "message": "db-1 down"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "denied", "{err}");
    assert!(err.to_string().contains("AWS_SESSION_TOKEN"), "{err}");
}
