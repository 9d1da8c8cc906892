//! Tests of the `chat` plugin against recording stand-ins for Slack, Microsoft Teams and
//! Mattermost incoming webhooks: each checks the provider's documented message format and
//! answers as the provider does (Slack 200 `ok` / 400 `invalid_payload` / 429 with Retry-After;
//! Teams 200 `1`, Workflows 202, the connector's 200 "delivery failed"; Mattermost 200 `ok`, JSON
//! errors).

use std::time::Duration;

use serde_json::{Value, json};
use tocsin::plugin::{CallContext, InstanceSpec, InvokeError, PluginHost, PluginSource};

use crate::helpers::*;

const ARN: &str = "arn:aws:ssm-incidents::111122223333:incident-record/db-plan/6e1a8c3b";
const ACCEPT: &str = "https://tocsin.example.com/ack/6e1a8c3b?sig=c2lnbmF0dXJl";

/// The webhook's path: the secret part of the URL, as Slack, Teams and Mattermost issue them.
fn hook_path(provider: &str) -> &'static str {
    match provider {
        "slack" => "/services/T0ACME/B0PAGES/qJ8d0Zf2u1xW7yKpLm3nR5sT",
        "teams" => "/webhookb2/5f1c@72f9/IncomingWebhook/9a1b2c3d/4e5f",
        _ => "/hooks/xq8fzf9ej3d4pmt7aqx1gg3kce",
    }
}

fn instance(provider: &str, addr: std::net::SocketAddr, config: Value) -> InstanceSpec {
    let mut s = spec(provider, PluginSource::Builtin("chat".into()));
    let mut config = config;
    config["provider"] = json!(provider);
    s.config = config;
    s.grant.http = vec![format!("http://{addr}")];
    s.grant.secrets = vec!["CHAT_WEBHOOK_URL".into()];
    s.secret_values = vec![(
        "CHAT_WEBHOOK_URL".into(),
        format!("http://{addr}{}", hook_path(provider)),
    )];
    s
}

/// A page as the engagement engine sends it, for the incident in the context.
async fn page(host: &PluginHost, instance: &str, input: Value) -> Result<Value, InvokeError> {
    host.invoke(
        instance,
        "notify",
        &input,
        CallContext {
            incident_arn: Some(ARN.into()),
            ..Default::default()
        },
    )
    .await
}

fn full_page() -> Value {
    json!({"recipient": "", "subject": "SEV2: checkout error rate 12%", "message": "5xx > 5% for 10 min on <checkout> & cart",
           "accept_code": "493021", "accept_url": ACCEPT, "callback_url": "https://tocsin.example.com/v1/inbound/chat"})
}

fn text(status: u16, content_type: &str, body: &str) -> Reply {
    (
        status,
        vec![("content-type", content_type.to_owned())],
        body.to_owned(),
    )
}

fn json_of(req: &Seen) -> Value {
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("content-type"), Some("application/json"));
    serde_json::from_str(&req.body).expect("a JSON body")
}

/// Slack: `text` (string) and `blocks` (Block Kit) required; 400 `invalid_payload` otherwise.
fn slack(req: &Seen) -> Reply {
    assert_eq!(req.uri, hook_path("slack"));
    let body = json_of(req);
    let blocks_ok = body["blocks"].as_array().is_some_and(|blocks| {
        blocks.iter().all(|b| match b["type"].as_str() {
            Some("header") => {
                b["text"]["type"] == "plain_text"
                    && b["text"]["text"].as_str().unwrap().chars().count() <= 150
            }
            Some("section") => b["text"]["type"] == "mrkdwn",
            Some("actions") => b["elements"].as_array().unwrap().iter().all(|e| {
                e["type"] == "button" && e["text"]["type"] == "plain_text" && e["url"].is_string()
            }),
            Some("context") => b["elements"].is_array(),
            _ => false,
        })
    });
    if !body["text"].is_string() || !blocks_ok {
        return text(400, "text/html", "invalid_payload");
    }
    if body["text"].as_str().unwrap().contains("slow down") {
        return (
            429,
            vec![("retry-after", "30".into())],
            "rate_limited".into(),
        );
    }
    if body["text"].as_str().unwrap().contains("archived") {
        return text(410, "text/html", "channel_is_archived");
    }
    text(200, "text/html", "ok")
}

/// Teams: a `message` with one Adaptive Card attachment.
fn teams(req: &Seen) -> Reply {
    assert_eq!(req.uri, hook_path("teams"));
    let body = json_of(req);
    let card = &body["attachments"][0]["content"];
    let ok = body["type"] == "message"
        && body["attachments"].as_array().map(Vec::len) == Some(1)
        && body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        && card["type"] == "AdaptiveCard"
        && card["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("1."))
        && card["body"].as_array().is_some_and(|b| !b.is_empty());
    if !ok {
        return text(
            400,
            "text/plain",
            "Bad payload received by generic incoming webhook.",
        );
    }
    let all = body.to_string();
    if all.contains("throttled") {
        // The Office 365 connector reports Teams throttling inside a 200.
        return text(
            200,
            "text/plain",
            "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.0..",
        );
    }
    if all.contains("via workflows") {
        // A Workflows (Power Automate) webhook: 202 Accepted, no body.
        return (202, vec![], String::new());
    }
    text(200, "text/plain", "1")
}

/// Mattermost: `text` required; `channel` must be one the webhook may post to.
fn mattermost(req: &Seen) -> Reply {
    assert_eq!(req.uri, hook_path("mattermost"));
    let body = json_of(req);
    if !body["text"].is_string() {
        return text(
            400,
            "application/json",
            r#"{"id":"web.incoming_webhook.text.app_error","message":"No text specified.","detailed_error":"","request_id":"8x7gqzq6gfy8mbgbh8c6zy5f1h","status_code":400}"#,
        );
    }
    if body["channel"] == "locked" {
        return text(
            403,
            "application/json",
            r#"{"id":"web.incoming_webhook.channel_locked.app_error","message":"This webhook is not permitted to post to the requested channel.","detailed_error":"","request_id":"pq1ngq8b5jfxjnz3kb6yqx4ybw","status_code":403}"#,
        );
    }
    text(200, "text/plain", "ok")
}

#[tokio::test]
async fn slack_gets_text_and_block_kit_with_an_acknowledge_button() {
    let (addr, seen) = recording_peer(slack).await;
    let host = host_with(vec![instance("slack", addr, json!({}))]).await;
    let out = page(&host, "slack", full_page()).await.unwrap();
    assert_eq!(
        out,
        json!({"provider": "slack", "provider_id": null, "status": "SENT", "detail": "ok"})
    );
    let body: Value = serde_json::from_str(&seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "text": "SEV2: checkout error rate 12%: 5xx &gt; 5% for 10 min on &lt;checkout&gt; &amp; cart",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "SEV2: checkout error rate 12%", "emoji": true}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "5xx &gt; 5% for 10 min on &lt;checkout&gt; &amp; cart"}},
                {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"},
                                                  "url": ACCEPT, "style": "primary", "action_id": "tocsin_acknowledge"}]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("Incident `{ARN}`")}]}
            ]
        })
    );

    // Only a message: no header, no button; a long title is cut to Slack's 150 characters.
    page(
        &host,
        "slack",
        json!({"recipient": "#ops", "message": "disk full"}),
    )
    .await
    .unwrap();
    page(
        &host,
        "slack",
        json!({"recipient": "", "subject": "x".repeat(400), "message": "m"}),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    let kinds: Vec<&str> = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["section", "context"]);
    assert!(
        body.get("channel").is_none(),
        "Slack app webhooks are bound to a channel"
    );
    let body: Value = serde_json::from_str(&seen[2].body).unwrap();
    assert_eq!(
        body["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        150
    );
}

#[tokio::test]
async fn teams_gets_a_message_with_an_adaptive_card() {
    let (addr, seen) = recording_peer(teams).await;
    let host = host_with(vec![instance(
        "teams",
        addr,
        json!({"accept_label": "Ack"}),
    )])
    .await;
    let out = page(&host, "teams", full_page()).await.unwrap();
    assert_eq!(
        (
            out["provider"].as_str(),
            out["status"].as_str(),
            out["detail"].as_str()
        ),
        (Some("teams"), Some("SENT"), Some("1"))
    );
    let body: Value = serde_json::from_str(&seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(
        body,
        json!({"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": "SEV2: checkout error rate 12%", "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": "5xx > 5% for 10 min on <checkout> & cart", "wrap": true},
                    {"type": "FactSet", "facts": [{"title": "Incident", "value": ARN}]}
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Ack", "url": ACCEPT}]
            }
        }]})
    );
    // A Workflows webhook answers 202 with no body: sent.
    let out = page(
        &host,
        "teams",
        json!({"recipient": "", "message": "posted via workflows"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["detail"].as_str()),
        (Some("SENT"), Some("HTTP 202"))
    );
}

#[tokio::test]
async fn mattermost_gets_text_channel_and_an_attachment() {
    let (addr, seen) = recording_peer(mattermost).await;
    let host = host_with(vec![instance(
        "mattermost",
        addr,
        json!({"channel": "incidents", "username": "tocsin", "icon_url": "https://tocsin.example.com/icon.png"}),
    )])
    .await;
    let out = page(&host, "mattermost", json!({"recipient": "@alice", "subject": "SEV2: checkout", "message": "5xx > 5%", "accept_url": ACCEPT}))
        .await
        .unwrap();
    assert_eq!(
        (out["provider"].as_str(), out["detail"].as_str()),
        (Some("mattermost"), Some("ok"))
    );
    page(
        &host,
        "mattermost",
        json!({"recipient": "", "message": "no channel named"}),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        json!({"text": "#### SEV2: checkout\n5xx > 5%", "channel": "@alice", "username": "tocsin",
               "icon_url": "https://tocsin.example.com/icon.png",
               "attachments": [{"fallback": "SEV2: checkout: 5xx > 5%", "color": "#D0021B",
                                "title": "Acknowledge", "title_link": ACCEPT,
                                "fields": [{"short": false, "title": "Incident", "value": ARN}]}]})
    );
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        body["channel"], "incidents",
        "the configured channel is the default"
    );
    assert_eq!(body["text"], "no channel named");
}

#[tokio::test]
async fn provider_errors_are_classified_with_the_providers_message() {
    let (slack_addr, _) = recording_peer(slack).await;
    let (teams_addr, _) = recording_peer(teams).await;
    let (mm_addr, _) = recording_peer(mattermost).await;
    let host = host_with(vec![
        instance("slack", slack_addr, json!({})),
        instance("teams", teams_addr, json!({})),
        instance("mattermost", mm_addr, json!({})),
    ])
    .await;

    // Slack 429 with Retry-After: retryable after 30 s. 410: permanent, with Slack's code.
    let err = page(&host, "slack", json!({"message": "slow down"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.to_string().contains("rate_limited"), "{err}");
    let err = page(&host, "slack", json!({"message": "channel archived"}))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("channel_is_archived"), "{err}");

    // Teams' connector reporting throttling inside a 200 is retryable, not "sent".
    let err = page(&host, "teams", json!({"message": "throttled"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("HTTP error 429"), "{err}");

    // Mattermost 403 with its JSON error: not retryable, Mattermost's message kept.
    let err = page(
        &host,
        "mattermost",
        json!({"recipient": "locked", "message": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(
        err.to_string()
            .contains("not permitted to post to the requested channel"),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_payload_is_invalid_input_carrying_the_providers_answer() {
    // Slack's answer to a post it cannot parse (Slack has no other 400 for a webhook).
    let (addr, _) = recording_peer(|_| text(400, "text/html", "invalid_payload")).await;
    let host = host_with(vec![instance("slack", addr, json!({}))]).await;
    let err = page(&host, "slack", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(err.to_string().contains("invalid_payload"), "{err}");
}

#[tokio::test]
async fn a_missing_grant_or_secret_is_denied_and_the_webhook_url_never_leaks() {
    let (addr, seen) = recording_peer(slack).await;
    let mut ungranted = instance("slack", addr, json!({}));
    ungranted.grant.http = vec!["https://hooks.slack.com".into()];
    let mut no_secret = instance("slack", addr, json!({}));
    no_secret.name = "nosecret".into();
    no_secret.grant.secrets.clear();
    no_secret.secret_values.clear();
    // Granted, but nothing listens there: the error must not quote the URL (it is the secret).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut refused = instance("slack", closed, json!({}));
    refused.name = "refused".into();
    let host = host_with(vec![ungranted, no_secret, refused]).await;

    let err = page(&host, "slack", json!({"message": "x"}))
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        message.contains(&format!("http://{addr}")) && message.contains("allow.http"),
        "{message}"
    );
    assert!(!message.contains(hook_path("slack")), "{message}");

    let err = page(&host, "nosecret", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "denied", "{err}");
    assert!(
        err.to_string().contains("CHAT_WEBHOOK_URL") && err.to_string().contains("secrets:"),
        "{err}"
    );

    let err = page(&host, "refused", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(!err.to_string().contains(hook_path("slack")), "{err}");
    assert!(seen.lock().unwrap().is_empty());
}
