//! Alert intake configuration, read from the configuration directory at start:
//!
//! ```yaml
//! kind: AlertIntake
//! sns:
//!   verifySignatures: true        # default true (false with `serve --dev`)
//!   certificateHosts: ["sns.*.amazonaws.com"]
//!   certificates: {"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem": ./sns.pem}
//!   confirmWith: sns-confirm      # a webhook plugin instance; its grant is the allow-list
//!   maxAgeMinutes: 60
//! ---
//! kind: EventRule                 # EventBridge-style events → a response plan
//! name: ec2-alarms
//! responsePlan: ec2-outage
//! eventPattern: {source: [aws.cloudwatch], detail: {state: {value: [ALARM, OK]}}}
//! ---
//! kind: AlertMapping              # a generic JSON webhook: POST /v1/alerts/webhook/<name>
//! name: grafana
//! responsePlan: web-outage
//! mapping: {title: $.title, dedupeKey: $.ruleId, impact: 3, status: $.state, resolvedWhen: ok}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ingest::eventbridge::Pattern;
use crate::ingest::generic::Mapping;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnsIntake {
    #[serde(default)]
    pub verify_signatures: Option<bool>,
    #[serde(default = "default_cert_hosts")]
    pub certificate_hosts: Vec<String>,
    /// Pinned certificates: SigningCertURL → PEM file (no fetch for these).
    #[serde(default)]
    pub certificates: BTreeMap<String, PathBuf>,
    /// The plugin instance (webhook) that fetches certificates and confirms subscriptions.
    #[serde(default)]
    pub confirm_with: Option<String>,
    #[serde(default = "default_age")]
    pub max_age_minutes: u32,
}

fn default_cert_hosts() -> Vec<String> {
    crate::ingest::sns::default_allowed_hosts()
}

fn default_age() -> u32 {
    60
}

impl Default for SnsIntake {
    fn default() -> Self {
        SnsIntake {
            verify_signatures: None,
            certificate_hosts: default_cert_hosts(),
            certificates: BTreeMap::new(),
            confirm_with: None,
            max_age_minutes: default_age(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventRule {
    pub name: String,
    pub response_plan: String,
    pub pattern: Pattern,
}

#[derive(Debug, Clone)]
pub struct AlertMapping {
    pub response_plan: String,
    pub mapping: Mapping,
}

/// Everything the alert endpoints need.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub sns: SnsIntake,
    /// Pinned certificate PEMs by URL (read at start).
    pub pinned: BTreeMap<String, Vec<u8>>,
    pub rules: Vec<EventRule>,
    pub mappings: BTreeMap<String, AlertMapping>,
}

impl Intake {
    /// Whether SNS signatures are checked: on unless the document or `--dev` turns it off.
    pub fn verify_sns(&self, dev: bool) -> bool {
        self.sns.verify_signatures.unwrap_or(!dev)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleDoc {
    #[allow(dead_code)]
    kind: String,
    name: String,
    response_plan: String,
    event_pattern: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MappingDoc {
    #[allow(dead_code)]
    kind: String,
    name: String,
    response_plan: String,
    mapping: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IntakeDoc {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    sns: Option<SnsIntake>,
}

/// Reads `kind: AlertIntake`, `kind: EventRule` and `kind: AlertMapping` documents; every
/// error names the file, the document and the field.
pub fn load_intake(dir: Option<&Path>) -> anyhow::Result<Intake> {
    let mut intake = Intake::default();
    let Some(dir) = dir else {
        return Ok(intake);
    };
    let mut seen_intake = false;
    for (path, text) in super::oncall_docs::read_yaml_files(dir)? {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        for (i, v) in docs.into_iter().enumerate() {
            let at = |e: String| anyhow::anyhow!("{path}: document {}: {e}", i + 1);
            match v["kind"].as_str() {
                Some("AlertIntake") => {
                    if seen_intake {
                        return Err(at("a second kind: AlertIntake; keep one".into()));
                    }
                    seen_intake = true;
                    let d: IntakeDoc = serde_json::from_value(v).map_err(|e| at(e.to_string()))?;
                    intake.sns = d.sns.unwrap_or_default();
                    let base = Path::new(&path).parent().unwrap_or(Path::new("."));
                    for (url, file) in &intake.sns.certificates {
                        let file = if file.is_absolute() {
                            file.clone()
                        } else {
                            base.join(file)
                        };
                        let pem = std::fs::read(&file).map_err(|e| {
                            at(format!(
                                "sns.certificates: cannot read {}: {e}",
                                file.display()
                            ))
                        })?;
                        intake.pinned.insert(url.clone(), pem);
                    }
                }
                Some("EventRule") => {
                    let d: RuleDoc = serde_json::from_value(v).map_err(|e| at(e.to_string()))?;
                    let pattern = Pattern::parse(&d.event_pattern)
                        .map_err(|e| at(format!("eventPattern: {e}")))?;
                    if intake.rules.iter().any(|r| r.name == d.name) {
                        return Err(at(format!(
                            "name: event rule {:?} is defined twice",
                            d.name
                        )));
                    }
                    intake.rules.push(EventRule {
                        name: d.name,
                        response_plan: d.response_plan,
                        pattern,
                    });
                }
                Some("AlertMapping") => {
                    let d: MappingDoc = serde_json::from_value(v).map_err(|e| at(e.to_string()))?;
                    let mut m = d.mapping;
                    if m.get("name").is_none() {
                        m["name"] = serde_json::Value::String(d.name.clone());
                    }
                    let mapping: Mapping =
                        serde_json::from_value(m).map_err(|e| at(format!("mapping: {e}")))?;
                    mapping
                        .validate()
                        .map_err(|e| at(format!("mapping: {e}")))?;
                    if intake.mappings.contains_key(&d.name) {
                        return Err(at(format!(
                            "name: alert mapping {:?} is defined twice",
                            d.name
                        )));
                    }
                    intake.mappings.insert(
                        d.name,
                        AlertMapping {
                            response_plan: d.response_plan,
                            mapping,
                        },
                    );
                }
                _ => {}
            }
        }
    }
    Ok(intake)
}
