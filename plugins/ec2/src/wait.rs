//! Waiting for instances to reach a state: poll DescribeInstanceStatus, sleep on the monotonic
//! clock between polls (the component blocks; the host runs other work), give up before the
//! call's deadline.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::aws::Client;
use tocsin_plugin_sdk::{ActionError, now_unix_ms};

use crate::api::{self, Instance};

/// A state to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
    /// Running with both status checks passed (instance and system status `ok`).
    StatusOk,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Pending => "pending",
            Target::Running => "running",
            Target::Stopping => "stopping",
            Target::Stopped => "stopped",
            Target::ShuttingDown => "shutting-down",
            Target::Terminated => "terminated",
            Target::StatusOk => "status-ok",
        }
    }

    fn reached(self, instance: &Instance) -> bool {
        match self {
            Target::StatusOk => instance.status_ok(),
            other => instance.state == other.name(),
        }
    }

    /// A terminated (or terminating) instance never reaches another state: stop waiting.
    fn unreachable(self, instance: &Instance) -> bool {
        let ending = matches!(instance.state.as_str(), "shutting-down" | "terminated");
        ending && !matches!(self, Target::ShuttingDown | Target::Terminated)
    }
}

/// How long and how often to poll.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Give up at this instant (ms since the epoch).
    pub give_up_unix_ms: u64,
    pub poll_interval: Duration,
}

/// Time kept back from the host's deadline to report the outcome instead of being cut off.
const DEADLINE_MARGIN_MS: u64 = 2_000;

impl Budget {
    /// Until `timeout_seconds` from now (when given), never past the call's deadline minus a
    /// margin for the last answer.
    pub fn new(deadline_unix_ms: u64, timeout_seconds: Option<u32>, poll_interval_ms: u32) -> Self {
        let now = now_unix_ms();
        let host_limit = deadline_unix_ms.saturating_sub(DEADLINE_MARGIN_MS);
        let asked = timeout_seconds.map_or(u64::MAX, |s| now.saturating_add(u64::from(s) * 1000));
        Budget {
            give_up_unix_ms: host_limit.min(asked),
            poll_interval: Duration::from_millis(u64::from(poll_interval_ms)),
        }
    }
}

/// The outcome of waiting: the last poll, and whether the target was reached.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Waited {
    /// Every instance reached the target (an action reports `false` as an error instead).
    #[serde(skip)]
    pub reached: bool,
    /// Milliseconds spent waiting.
    pub waited_ms: u64,
    /// DescribeInstanceStatus calls made.
    pub polls: u32,
    pub instances: Vec<Instance>,
}

/// Poll until every instance is in `target` or the budget runs out. `Ok` with `reached: false`
/// when time ran out (the caller decides what that means); `Failed` when an instance can no
/// longer reach the target.
pub fn until(
    client: &Client,
    ids: &[String],
    target: Target,
    budget: Budget,
) -> Result<Waited, ActionError> {
    let started = now_unix_ms();
    let mut polls = 0;
    loop {
        let instances = api::status(client, ids)?;
        polls += 1;
        let waited_ms = now_unix_ms().saturating_sub(started);
        if let Some(lost) = instances.iter().find(|i| target.unreachable(i)) {
            return Err(ActionError::Failed(format!(
                "instance {} is {} and will never be {}",
                lost.instance_id,
                lost.state,
                target.name()
            )));
        }
        if instances.iter().all(|i| target.reached(i)) {
            return Ok(Waited {
                reached: true,
                waited_ms,
                polls,
                instances,
            });
        }
        let next_poll = now_unix_ms().saturating_add(budget.poll_interval.as_millis() as u64);
        if next_poll >= budget.give_up_unix_ms {
            return Ok(Waited {
                reached: false,
                waited_ms,
                polls,
                instances,
            });
        }
        sleep(budget.poll_interval);
    }
}

/// Block on the monotonic clock (wasi:clocks): no busy loop, no CPU while waiting.
fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    wasi::clocks::monotonic_clock::subscribe_duration(nanos).block();
}

/// The message for instances that did not reach the target in time: which are where.
pub fn not_reached(target: Target, waited: &Waited) -> String {
    let behind: Vec<String> = waited
        .instances
        .iter()
        .filter(|i| !target.reached(i))
        .map(|i| match (&i.instance_status, &i.system_status) {
            (Some(a), Some(b)) if target == Target::StatusOk => {
                format!(
                    "{} is {} (instance status {a}, system status {b})",
                    i.instance_id, i.state
                )
            }
            _ => format!("{} is {}", i.instance_id, i.state),
        })
        .collect();
    format!(
        "gave up waiting for {} after {} ms ({} polls): {}; raise `timeout_seconds` or the instance's `limits.timeout_ms`",
        target.name(),
        waited.waited_ms,
        waited.polls,
        behind.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(state: &str, checks: Option<&str>) -> Instance {
        Instance {
            instance_id: "i-1234567890abcdef0".into(),
            state: state.into(),
            instance_status: checks.map(str::to_owned),
            system_status: checks.map(str::to_owned),
            ..Instance::default()
        }
    }

    #[test]
    fn targets_are_reached_by_state_or_status_checks() {
        assert!(Target::Running.reached(&instance("running", None)));
        assert!(!Target::Stopped.reached(&instance("stopping", None)));
        assert!(!Target::StatusOk.reached(&instance("running", Some("initializing"))));
        assert!(Target::StatusOk.reached(&instance("running", Some("ok"))));
    }

    #[test]
    fn terminated_instances_end_the_wait_unless_termination_is_the_target() {
        assert!(Target::Running.unreachable(&instance("terminated", None)));
        assert!(Target::Stopped.unreachable(&instance("shutting-down", None)));
        assert!(!Target::Terminated.unreachable(&instance("shutting-down", None)));
        assert!(!Target::Running.unreachable(&instance("stopped", None)));
    }

    #[test]
    fn the_message_says_where_each_instance_is() {
        let waited = Waited {
            reached: false,
            waited_ms: 1500,
            polls: 3,
            instances: vec![instance("running", Some("initializing"))],
        };
        let m = not_reached(Target::StatusOk, &waited);
        assert!(
            m.contains("i-1234567890abcdef0 is running (instance status initializing"),
            "{m}"
        );
        assert!(m.contains("3 polls"), "{m}");
    }
}
