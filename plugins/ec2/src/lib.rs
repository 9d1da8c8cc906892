//! `ec2`: reboot, stop and start EC2 instances, wait until they reach a state, and describe their
//! state and status checks — the EC2 Query API (2016-11-15), signed with SigV4 inside the
//! component with credentials from the operator's granted secrets.

mod api;
mod ids;
mod wait;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::aws::{self, Client};
use tocsin_plugin_sdk::{Action, ActionError, Context, Level, Plugin, PluginInfo, log};

use crate::api::{Instance, Transition};
use crate::ids::InstanceRefs;
use crate::wait::{Budget, Target, Waited};

struct Ec2;

/// The instance configuration (`config:` of the `kind: Plugin` document).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The AWS region of the instances, e.g. `us-east-1`. Instance ARNs from another region are
    /// refused: configure one plugin instance per region.
    region: String,
    /// Base URL of the EC2 API instead of `https://ec2.{region}.amazonaws.com`: an interface VPC
    /// endpoint, or a local stand-in such as moto (`http://127.0.0.1:5000`). Its origin must be
    /// granted in `allow.http`.
    #[serde(default)]
    endpoint_url: Option<String>,
}

/// Default time between polls while waiting (AWS's own waiters poll every 15 s; instances
/// usually change state within a minute).
const DEFAULT_POLL_MS: u32 = 5_000;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Change {
    /// The instances: an instance id (`i-0123456789abcdef0`), an EC2 instance ARN
    /// (`arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0`, as an incident's
    /// `INVOLVED_RESOURCES` lists them), or a list of these (at most 100).
    instance_ids: InstanceRefs,
    /// Leave out ARNs of other resource types (alarms, topics…) instead of refusing them: for
    /// passing `INVOLVED_RESOURCES` as it is.
    #[serde(default)]
    skip_other_resources: bool,
    /// After the call, wait until every instance is in this state (`status-ok`: running with
    /// both status checks passed). Without it the action returns as soon as EC2 accepts.
    #[serde(default)]
    wait_until: Option<Target>,
    /// Stop waiting after this many seconds; never later than the call's deadline
    /// (`limits.timeout_ms` of the plugin instance), which is the default.
    #[serde(default)]
    #[schemars(range(min = 1))]
    timeout_seconds: Option<u32>,
    /// Milliseconds between status polls while waiting (default 5000).
    #[serde(default)]
    #[schemars(range(min = 100, max = 60000))]
    poll_interval_ms: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Stop {
    /// The instances (ids or instance ARNs, one or a list; see `reboot`).
    instance_ids: InstanceRefs,
    /// Leave out ARNs of other resource types instead of refusing them.
    #[serde(default)]
    skip_other_resources: bool,
    /// After the call, wait until every instance is in this state (usually `stopped`).
    #[serde(default)]
    wait_until: Option<Target>,
    /// Stop waiting after this many seconds; never later than the call's deadline, which is the
    /// default.
    #[serde(default)]
    #[schemars(range(min = 1))]
    timeout_seconds: Option<u32>,
    /// Milliseconds between status polls while waiting (default 5000).
    #[serde(default)]
    #[schemars(range(min = 100, max = 60000))]
    poll_interval_ms: Option<u32>,
    /// Force the instances to stop without flushing file systems or running shutdown scripts
    /// (for an instance stuck in `stopping`).
    #[serde(default)]
    force: bool,
    /// Hibernate instead of stopping (the instance must have hibernation enabled).
    #[serde(default)]
    hibernate: bool,
}

#[derive(Serialize, JsonSchema)]
struct Changed {
    /// Per instance, in the order given: the state before and after.
    instances: Vec<Transition>,
    /// When `wait_until` was given: milliseconds spent waiting.
    waited_ms: Option<u64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Wait {
    /// The instances (ids or instance ARNs, one or a list; see `reboot`).
    instance_ids: InstanceRefs,
    /// Leave out ARNs of other resource types instead of refusing them.
    #[serde(default)]
    skip_other_resources: bool,
    /// The state every instance must reach (`status-ok`: running with both status checks
    /// passed).
    state: Target,
    /// Give up after this many seconds; never later than the call's deadline, which is the
    /// default. Giving up is a retryable error, so `maxAttempts` on the step waits longer.
    #[serde(default)]
    #[schemars(range(min = 1))]
    timeout_seconds: Option<u32>,
    /// Milliseconds between status polls (default 5000).
    #[serde(default)]
    #[schemars(range(min = 100, max = 60000))]
    poll_interval_ms: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Describe {
    /// The instances (ids or instance ARNs, one or a list; see `reboot`).
    instance_ids: InstanceRefs,
    /// Leave out ARNs of other resource types instead of refusing them.
    #[serde(default)]
    skip_other_resources: bool,
}

#[derive(Serialize, JsonSchema)]
struct Described {
    /// Per instance, in the order given.
    instances: Vec<Instance>,
    /// Every instance is running.
    all_running: bool,
    /// Every instance is running with both status checks passed.
    all_status_ok: bool,
}

impl Plugin for Ec2 {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "ec2",
            env!("CARGO_PKG_VERSION"),
            "Reboots, stops and starts EC2 instances, waits for a state and describes their status checks",
        )
        .config::<Config>()
        // EC2's regional, FIPS and VPC endpoints (the pattern language has no `ec2.*.` form);
        // loopback for a local stand-in (moto). The operator grants the one in use.
        .http(&[
            "https://*.amazonaws.com",
            "https://*.amazonaws.com.cn",
            "http://127.0.0.1:*",
            "http://localhost:*",
        ])
        .secrets(&aws::SECRETS)
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::new(
                "reboot",
                "Reboot instances (RebootInstances); optionally wait until they are in a state",
                reboot,
            ),
            Action::new(
                "stop",
                "Stop instances (StopInstances); optionally wait until they are stopped",
                stop,
            ),
            Action::new(
                "start",
                "Start instances (StartInstances); optionally wait until they are running or pass their status checks",
                start,
            ),
            Action::new(
                "wait",
                "Wait until instances reach a state (pending, running, stopping, stopped, shutting-down, terminated, status-ok)",
                wait_for,
            ),
            Action::new(
                "describe",
                "Describe instances: state, status checks, type, zone, addresses, tags",
                describe,
            ),
        ]
    }
}

/// The configured client and the resolved instance ids.
fn setup(
    refs: &InstanceRefs,
    skip_other_resources: bool,
) -> Result<(Client, Vec<String>), ActionError> {
    let config: Config = tocsin_plugin_sdk::config()?;
    let ids = refs.resolve(&config.region, skip_other_resources)?;
    let client = Client::new("ec2", &config.region, config.endpoint_url.as_deref())?;
    Ok((client, ids))
}

fn reboot(ctx: &Context, input: Change) -> Result<Changed, ActionError> {
    let (client, ids) = setup(&input.instance_ids, input.skip_other_resources)?;
    log(Level::Info, &format!("rebooting {}", ids.join(", ")));
    api::reboot(&client, &ids)?;
    let instances = ids
        .iter()
        .map(|id| Transition {
            instance_id: id.clone(),
            previous_state: None,
            current_state: None,
        })
        .collect();
    // Retrying a reboot would reboot again: a wait that runs out of time is a permanent failure.
    finish(ctx, &client, &ids, input.plan(), instances, false)
}

fn stop(ctx: &Context, input: Stop) -> Result<Changed, ActionError> {
    let (client, ids) = setup(&input.instance_ids, input.skip_other_resources)?;
    log(Level::Info, &format!("stopping {}", ids.join(", ")));
    let instances = api::stop(&client, &ids, input.force, input.hibernate)?;
    let plan = WaitPlan {
        target: input.wait_until,
        timeout_seconds: input.timeout_seconds,
        poll_interval_ms: input.poll_interval_ms,
    };
    // Stopping a stopped instance is a no-op: retrying after a timed-out wait is safe.
    finish(ctx, &client, &ids, plan, instances, true)
}

fn start(ctx: &Context, input: Change) -> Result<Changed, ActionError> {
    let (client, ids) = setup(&input.instance_ids, input.skip_other_resources)?;
    log(Level::Info, &format!("starting {}", ids.join(", ")));
    let instances = api::start(&client, &ids)?;
    finish(ctx, &client, &ids, input.plan(), instances, true)
}

/// What to wait for after a state change.
struct WaitPlan {
    target: Option<Target>,
    timeout_seconds: Option<u32>,
    poll_interval_ms: Option<u32>,
}

impl Change {
    fn plan(&self) -> WaitPlan {
        WaitPlan {
            target: self.wait_until,
            timeout_seconds: self.timeout_seconds,
            poll_interval_ms: self.poll_interval_ms,
        }
    }
}

/// Wait when asked, then report each instance's transition in the order given.
fn finish(
    ctx: &Context,
    client: &Client,
    ids: &[String],
    plan: WaitPlan,
    reported: Vec<Transition>,
    retry_safe: bool,
) -> Result<Changed, ActionError> {
    let mut instances: Vec<Transition> = ids
        .iter()
        .map(|id| {
            reported
                .iter()
                .find(|t| &t.instance_id == id)
                .cloned()
                .unwrap_or(Transition {
                    instance_id: id.clone(),
                    previous_state: None,
                    current_state: None,
                })
        })
        .collect();
    let Some(target) = plan.target else {
        return Ok(Changed {
            instances,
            waited_ms: None,
        });
    };
    let budget = Budget::new(
        ctx.deadline_unix_ms,
        plan.timeout_seconds,
        plan.poll_interval_ms.unwrap_or(DEFAULT_POLL_MS),
    );
    let waited = wait::until(client, ids, target, budget)?;
    if !waited.reached {
        let message = wait::not_reached(target, &waited);
        return Err(if retry_safe {
            ActionError::Retryable(message)
        } else {
            ActionError::Failed(message)
        });
    }
    for (transition, now) in instances.iter_mut().zip(&waited.instances) {
        transition.current_state = Some(now.state.clone());
    }
    Ok(Changed {
        instances,
        waited_ms: Some(waited.waited_ms),
    })
}

fn wait_for(ctx: &Context, input: Wait) -> Result<Waited, ActionError> {
    let (client, ids) = setup(&input.instance_ids, input.skip_other_resources)?;
    let budget = Budget::new(
        ctx.deadline_unix_ms,
        input.timeout_seconds,
        input.poll_interval_ms.unwrap_or(DEFAULT_POLL_MS),
    );
    let waited = wait::until(&client, &ids, input.state, budget)?;
    if !waited.reached {
        // Only reads happened: waiting again is safe.
        return Err(ActionError::Retryable(wait::not_reached(
            input.state,
            &waited,
        )));
    }
    Ok(waited)
}

fn describe(_: &Context, input: Describe) -> Result<Described, ActionError> {
    let (client, ids) = setup(&input.instance_ids, input.skip_other_resources)?;
    let instances = api::describe(&client, &ids)?;
    Ok(Described {
        all_running: instances.iter().all(|i| i.state == "running"),
        all_status_ok: instances.iter().all(Instance::status_ok),
        instances,
    })
}

tocsin_plugin_sdk::export_plugin!(Ec2);
