//! The EC2 Query API calls this plugin makes (API version 2016-11-15) and the parts of their XML
//! answers it reads.

use roxmltree::{Document, Node};
use schemars::JsonSchema;
use serde::Serialize;
use tocsin_plugin_sdk::aws::Client;
use tocsin_plugin_sdk::{ActionError, StringMap};

pub const VERSION: &str = "2016-11-15";

/// The state change one instance went through, as StartInstances / StopInstances report it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Transition {
    pub instance_id: String,
    /// The state before the call (absent for a reboot, which EC2 does not report).
    pub previous_state: Option<String>,
    /// The state after the call, or after waiting when `wait_until` was given (absent for a
    /// reboot without waiting).
    pub current_state: Option<String>,
}

/// What DescribeInstances and DescribeInstanceStatus say about one instance.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Instance {
    pub instance_id: String,
    /// pending, running, stopping, stopped, shutting-down or terminated.
    pub state: String,
    /// Why the instance is in this state, when EC2 says (e.g. a user-initiated shutdown).
    pub state_reason: Option<String>,
    /// Instance status check: ok, impaired, initializing, insufficient-data or not-applicable
    /// (absent when EC2 reports none, e.g. for a terminated instance).
    pub instance_status: Option<String>,
    /// System status check, same values as `instance_status`.
    pub system_status: Option<String>,
    pub instance_type: Option<String>,
    pub availability_zone: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    /// ISO 8601 time of the last launch (start).
    pub launch_time: Option<String>,
    /// The instance's tags (`Name` among them).
    pub tags: StringMap,
}

impl Instance {
    /// Both status checks pass (the EC2 console's "2/2 checks passed").
    pub fn status_ok(&self) -> bool {
        self.state == "running"
            && self.instance_status.as_deref() == Some("ok")
            && self.system_status.as_deref() == Some("ok")
    }
}

pub fn start(client: &Client, ids: &[String]) -> Result<Vec<Transition>, ActionError> {
    let xml = call(client, "StartInstances", &instance_params(ids, &[]))?;
    transitions(&xml)
}

pub fn stop(
    client: &Client,
    ids: &[String],
    force: bool,
    hibernate: bool,
) -> Result<Vec<Transition>, ActionError> {
    let mut extra = Vec::new();
    if force {
        extra.push(("Force", "true"));
    }
    if hibernate {
        extra.push(("Hibernate", "true"));
    }
    let xml = call(client, "StopInstances", &instance_params(ids, &extra))?;
    transitions(&xml)
}

pub fn reboot(client: &Client, ids: &[String]) -> Result<(), ActionError> {
    call(client, "RebootInstances", &instance_params(ids, &[]))?;
    Ok(())
}

/// State and status checks of each instance (DescribeInstanceStatus with all instances, which
/// also covers stopped ones), in the order of `ids`. One call: what a poll costs.
pub fn status(client: &Client, ids: &[String]) -> Result<Vec<Instance>, ActionError> {
    let xml = call(
        client,
        "DescribeInstanceStatus",
        &instance_params(ids, &[("IncludeAllInstances", "true")]),
    )?;
    let doc = parse(&xml)?;
    let found: Vec<Instance> = items_of(&doc, "instanceStatusSet")
        .map(|item| Instance {
            instance_id: text(item, &["instanceId"]).unwrap_or_default(),
            state: text(item, &["instanceState", "name"]).unwrap_or_default(),
            instance_status: text(item, &["instanceStatus", "status"]),
            system_status: text(item, &["systemStatus", "status"]),
            availability_zone: text(item, &["availabilityZone"]),
            ..Instance::default()
        })
        .collect();
    Ok(in_order(ids, found, |id| Instance {
        // EC2 leaves out an instance it has forgotten (terminated a while ago).
        instance_id: id.to_owned(),
        state: "unknown".into(),
        ..Instance::default()
    }))
}

/// Everything `describe` reports: DescribeInstances for the details, DescribeInstanceStatus
/// for the status checks.
pub fn describe(client: &Client, ids: &[String]) -> Result<Vec<Instance>, ActionError> {
    let xml = call(client, "DescribeInstances", &instance_params(ids, &[]))?;
    let doc = parse(&xml)?;
    let details: Vec<Instance> = items_of(&doc, "instancesSet")
        .map(|item| Instance {
            instance_id: text(item, &["instanceId"]).unwrap_or_default(),
            state: text(item, &["instanceState", "name"]).unwrap_or_default(),
            state_reason: text(item, &["stateReason", "message"])
                .or_else(|| text(item, &["reason"])),
            instance_type: text(item, &["instanceType"]),
            availability_zone: text(item, &["placement", "availabilityZone"]),
            private_ip: text(item, &["privateIpAddress"]),
            public_ip: text(item, &["ipAddress"]),
            launch_time: text(item, &["launchTime"]),
            tags: tags(item),
            ..Instance::default()
        })
        .collect();
    let statuses = status(client, ids)?;
    let mut out = in_order(ids, details, |id| Instance {
        instance_id: id.to_owned(),
        state: "unknown".into(),
        ..Instance::default()
    });
    for (instance, status) in out.iter_mut().zip(statuses) {
        instance.instance_status = status.instance_status;
        instance.system_status = status.system_status;
    }
    Ok(out)
}

fn call(client: &Client, action: &str, params: &[(String, &str)]) -> Result<String, ActionError> {
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    client.query(action, VERSION, &params)
}

/// `InstanceId.1=…&InstanceId.2=…` plus `extra`.
fn instance_params<'a>(ids: &'a [String], extra: &[(&'a str, &'a str)]) -> Vec<(String, &'a str)> {
    let mut params: Vec<(String, &str)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (format!("InstanceId.{}", n + 1), id.as_str()))
        .collect();
    params.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), *v)));
    params
}

fn transitions(xml: &str) -> Result<Vec<Transition>, ActionError> {
    let doc = parse(xml)?;
    Ok(items_of(&doc, "instancesSet")
        .map(|item| Transition {
            instance_id: text(item, &["instanceId"]).unwrap_or_default(),
            previous_state: text(item, &["previousState", "name"]),
            current_state: text(item, &["currentState", "name"]),
        })
        .collect())
}

fn parse(xml: &str) -> Result<Document<'_>, ActionError> {
    Document::parse(xml).map_err(|e| {
        ActionError::Failed(format!(
            "EC2 answered with XML this plugin cannot read: {e}"
        ))
    })
}

/// Element names compare without their namespace (EC2 puts every element in its API's).
fn is(node: &Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name
}

/// The `item` children of every `<set>` element.
fn items_of<'a, 'input>(
    doc: &'a Document<'input>,
    set: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    doc.descendants()
        .filter(move |n| is(n, set))
        .flat_map(|s| s.children().filter(|c| is(c, "item")))
}

/// The trimmed, non-empty text at a path of child elements.
fn text(node: Node<'_, '_>, path: &[&str]) -> Option<String> {
    let mut at = node;
    for name in path {
        at = at.children().find(|c| is(c, name))?;
    }
    at.text()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn tags(instance: Node<'_, '_>) -> StringMap {
    instance
        .children()
        .filter(|c| is(c, "tagSet"))
        .flat_map(|set| set.children().filter(|c| is(c, "item")))
        .filter_map(|item| {
            Some((
                text(item, &["key"])?,
                text(item, &["value"]).unwrap_or_default(),
            ))
        })
        .collect()
}

/// `found` rearranged in the order of `ids`, with `missing(id)` for an id EC2 left out.
fn in_order<T: HasId>(ids: &[String], mut found: Vec<T>, missing: impl Fn(&str) -> T) -> Vec<T> {
    ids.iter()
        .map(|id| match found.iter().position(|f| f.id() == id) {
            Some(at) => found.swap_remove(at),
            None => missing(id),
        })
        .collect()
}

trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Instance {
    fn id(&self) -> &str {
        &self.instance_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIBE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet><item>
    <reservationId>r-1234567890abcdef0</reservationId>
    <instancesSet><item>
      <instanceId>i-1234567890abcdef0</instanceId>
      <imageId>ami-bff32ccc</imageId>
      <instanceState><code>80</code><name>stopped</name></instanceState>
      <reason>User initiated (2026-11-20 18:44:48 GMT)</reason>
      <stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>
      <instanceType>t2.micro</instanceType>
      <launchTime>2026-11-20T17:00:00.000Z</launchTime>
      <placement><availabilityZone>us-east-1a</availabilityZone><tenancy>default</tenancy></placement>
      <privateIpAddress>10.0.0.12</privateIpAddress>
      <networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId>
        <privateIpAddressesSet><item><privateIpAddress>10.0.0.12</privateIpAddress></item></privateIpAddressesSet>
      </item></networkInterfaceSet>
      <tagSet><item><key>Name</key><value>checkout-1</value></item></tagSet>
    </item></instancesSet>
  </item></reservationSet>
</DescribeInstancesResponse>"#;

    #[test]
    fn reads_instances_of_describe_instances_without_nested_items() {
        let doc = parse(DESCRIBE).unwrap();
        let items: Vec<_> = items_of(&doc, "instancesSet").collect();
        assert_eq!(items.len(), 1, "network interface items are not instances");
        let item = items[0];
        assert_eq!(
            text(item, &["instanceState", "name"]).as_deref(),
            Some("stopped")
        );
        assert_eq!(
            text(item, &["placement", "availabilityZone"]).as_deref(),
            Some("us-east-1a")
        );
        assert_eq!(
            tags(item).get("Name").map(String::as_str),
            Some("checkout-1")
        );
        assert_eq!(text(item, &["ipAddress"]), None);
    }

    #[test]
    fn reads_transitions_and_orders_by_request() {
        let xml = r#"<StopInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><instancesSet>
            <item><instanceId>i-1234567890abcdef0</instanceId><currentState><code>64</code><name>stopping</name></currentState><previousState><code>16</code><name>running</name></previousState></item>
            </instancesSet></StopInstancesResponse>"#;
        let t = transitions(xml).unwrap();
        assert_eq!(t[0].instance_id, "i-1234567890abcdef0");
        assert_eq!(t[0].previous_state.as_deref(), Some("running"));
        assert_eq!(t[0].current_state.as_deref(), Some("stopping"));

        let ids = vec!["i-b".to_owned(), "i-a".to_owned(), "i-c".to_owned()];
        let found = vec![
            Instance {
                instance_id: "i-a".into(),
                ..Instance::default()
            },
            Instance {
                instance_id: "i-b".into(),
                ..Instance::default()
            },
        ];
        let ordered = in_order(&ids, found, |id| Instance {
            instance_id: id.into(),
            state: "unknown".into(),
            ..Instance::default()
        });
        let got: Vec<_> = ordered
            .iter()
            .map(|i| (i.instance_id.as_str(), i.state.as_str()))
            .collect();
        assert_eq!(got, [("i-b", ""), ("i-a", ""), ("i-c", "unknown")]);
    }

    #[test]
    fn params_are_numbered_from_one() {
        let ids = vec!["i-1".to_owned(), "i-2".to_owned()];
        let p = instance_params(&ids, &[("Force", "true")]);
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            p,
            [
                ("InstanceId.1", "i-1"),
                ("InstanceId.2", "i-2"),
                ("Force", "true")
            ]
        );
    }
}
