//! Instance references: bare ids (`i-0abc…`) or instance ARNs as an incident's
//! `INVOLVED_RESOURCES` lists them (`arn:aws:ec2:us-east-1:123456789012:instance/i-0abc…`).

use schemars::JsonSchema;
use serde::Deserialize;
use tocsin_plugin_sdk::ActionError;

/// EC2 accepts up to 1000 ids per call; a runbook acting on more is almost certainly a mistake.
pub const MAX_INSTANCES: usize = 100;

/// One instance id or ARN, or a list of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum InstanceRefs {
    One(String),
    Many(Vec<String>),
}

impl InstanceRefs {
    /// The instance ids, in order, without duplicates. ARNs must be EC2 instance ARNs in
    /// `region`; with `skip_other_resources`, ARNs of other resource types are left out (an
    /// incident's resources also list its alarm, topic…). At least one instance must remain.
    pub fn resolve(
        &self,
        region: &str,
        skip_other_resources: bool,
    ) -> Result<Vec<String>, ActionError> {
        let refs: &[String] = match self {
            InstanceRefs::One(one) => std::slice::from_ref(one),
            InstanceRefs::Many(many) => many,
        };
        let mut ids: Vec<String> = Vec::new();
        for r in refs {
            let Some(id) = instance_id(r.trim(), region, skip_other_resources)? else {
                continue;
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Err(ActionError::InvalidInput(format!(
                "no EC2 instance among `instance_ids` ({}): give instance ids (i-0123456789abcdef0) or instance ARNs",
                refs.join(", ")
            )));
        }
        if ids.len() > MAX_INSTANCES {
            return Err(ActionError::InvalidInput(format!(
                "{} instances given; at most {MAX_INSTANCES} per call",
                ids.len()
            )));
        }
        Ok(ids)
    }
}

/// `Some(id)` for an instance id or instance ARN; `None` for another resource's ARN when
/// skipping those.
fn instance_id(
    text: &str,
    region: &str,
    skip_other_resources: bool,
) -> Result<Option<String>, ActionError> {
    if !text.starts_with("arn:") {
        return if is_instance_id(text) {
            Ok(Some(text.to_owned()))
        } else {
            Err(ActionError::InvalidInput(format!(
                "`{text}` is not an EC2 instance id (i-0123456789abcdef0) or instance ARN"
            )))
        };
    }
    // arn:partition:service:region:account:resource
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [_, _partition, service, arn_region, _account, resource] = parts[..] else {
        return Err(ActionError::InvalidInput(format!(
            "`{text}` is not a valid ARN"
        )));
    };
    let id = match (service, resource.strip_prefix("instance/")) {
        ("ec2", Some(id)) if is_instance_id(id) => id,
        _ if skip_other_resources => return Ok(None),
        _ => {
            return Err(ActionError::InvalidInput(format!(
                "`{text}` is not an EC2 instance ARN (arn:aws:ec2:REGION:ACCOUNT:instance/i-…); \
                 set `skip_other_resources: true` to ignore other resources"
            )));
        }
    };
    if arn_region != region {
        return Err(ActionError::InvalidInput(format!(
            "instance {id} is in region `{arn_region}` but this plugin instance is configured for `{region}`; \
             configure a plugin instance for `{arn_region}`"
        )));
    }
    Ok(Some(id.to_owned()))
}

/// `i-` and 8 (older) or 17 lowercase hex digits.
fn is_instance_id(text: &str) -> bool {
    text.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many(list: &[&str]) -> InstanceRefs {
        InstanceRefs::Many(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn ids_and_instance_arns_resolve_to_ids() {
        let refs = many(&[
            "i-0123456789abcdef0",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210",
            "i-0123456789abcdef0",
            "i-1a2b3c4d",
        ]);
        assert_eq!(
            refs.resolve("us-east-1", false).unwrap(),
            ["i-0123456789abcdef0", "i-0fedcba9876543210", "i-1a2b3c4d"]
        );
        let one = InstanceRefs::One(" i-0123456789abcdef0 ".into());
        assert_eq!(
            one.resolve("us-east-1", false).unwrap(),
            ["i-0123456789abcdef0"]
        );
    }

    #[test]
    fn other_resources_are_rejected_unless_skipped() {
        let refs = many(&[
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
        ]);
        let err = refs.resolve("us-east-1", false).unwrap_err();
        assert!(
            matches!(&err, ActionError::InvalidInput(m) if m.contains("skip_other_resources")),
            "{err:?}"
        );
        assert_eq!(
            refs.resolve("us-east-1", true).unwrap(),
            ["i-0123456789abcdef0"]
        );

        let only_alarm = many(&["arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high"]);
        assert!(
            only_alarm.resolve("us-east-1", true).is_err(),
            "nothing left to act on"
        );
    }

    #[test]
    fn wrong_region_and_malformed_values_are_invalid_input() {
        let err = many(&["arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"])
            .resolve("us-east-1", false)
            .unwrap_err();
        assert!(
            matches!(&err, ActionError::InvalidInput(m) if m.contains("eu-west-1")),
            "{err:?}"
        );
        for bad in [
            "i-XYZ",
            "0123456789abcdef0",
            "i-0123456789ABCDEF0",
            "arn:aws:ec2",
            "",
        ] {
            assert!(many(&[bad]).resolve("us-east-1", false).is_err(), "{bad}");
        }
        let too_many: Vec<String> = (0..=MAX_INSTANCES).map(|n| format!("i-{n:08x}")).collect();
        assert!(
            InstanceRefs::Many(too_many)
                .resolve("us-east-1", false)
                .is_err()
        );
    }
}
