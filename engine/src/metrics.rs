//! Prometheus metrics: one process-global registry (`prometheus-client`, the Prometheus project's
//! Rust client), recorded by the runtimes through the free functions below and rendered by
//! `GET /metrics` in the OpenMetrics text format. Knows nothing of HTTP, redb or wasmtime: callers
//! pass plain values (the server refreshes the queue gauges from the store before rendering).
//!
//! Series:
//! - `tocsin_incidents_created_total{response_plan, impact, source}` (counter)
//! - `tocsin_incidents_resolved_total{response_plan, impact, source}` (counter)
//! - `tocsin_incident_time_to_resolve_seconds{response_plan, impact, source}` (histogram)
//! - `tocsin_incident_time_to_first_acknowledgement_seconds{response_plan, impact, source}`
//!   (histogram)
//! - `tocsin_plugin_call_duration_seconds{instance, action, outcome}` (histogram; outcome is
//!   `ok` or `error`)
//! - `tocsin_timer_lateness_seconds` (histogram: fire time minus due time)
//! - `tocsin_queue_depth{queue}` (gauge: `notifications`, `timers`, `incident_actions`)

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Incident lifetimes: one minute to a week.
const RESOLVE_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0,
];
/// Time to the first acknowledgement: half a minute to a day.
const ACK_BUCKETS: &[f64] = &[
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 86400.0,
];
/// Plugin calls: half a millisecond (a warm instance) to a minute (a slow provider).
const CALL_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];
/// Timer lateness: a millisecond (the target) to a minute (an engine that was down).
const LATENESS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IncidentLabels {
    response_plan: String,
    impact: u8,
    source: String,
}

impl IncidentLabels {
    fn new(plan: &str, impact: u8, source: &str) -> Self {
        IncidentLabels {
            response_plan: plan.to_owned(),
            impact,
            source: source.to_owned(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    instance: String,
    action: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    created: Family<IncidentLabels, Counter>,
    resolved: Family<IncidentLabels, Counter>,
    time_to_resolve: HistogramFamily<IncidentLabels>,
    time_to_ack: HistogramFamily<IncidentLabels>,
    plugin_calls: HistogramFamily<CallLabels>,
    timer_lateness: Histogram,
    queue_depth: Family<QueueLabels, Gauge>,
}

fn histograms<L: Clone + std::hash::Hash + Eq>(make: fn() -> Histogram) -> HistogramFamily<L> {
    Family::new_with_constructor(make)
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("tocsin");
    let m = Metrics {
        registry: Registry::default(),
        created: Family::default(),
        resolved: Family::default(),
        time_to_resolve: histograms(|| Histogram::new(RESOLVE_BUCKETS.iter().copied())),
        time_to_ack: histograms(|| Histogram::new(ACK_BUCKETS.iter().copied())),
        plugin_calls: histograms(|| Histogram::new(CALL_BUCKETS.iter().copied())),
        timer_lateness: Histogram::new(LATENESS_BUCKETS.iter().copied()),
        queue_depth: Family::default(),
    };
    // Counters get their `_total` suffix from the encoder.
    registry.register(
        "incidents_created",
        "Incidents created, by response plan, impact and trigger source",
        m.created.clone(),
    );
    registry.register(
        "incidents_resolved",
        "Incidents resolved, by response plan, impact and trigger source",
        m.resolved.clone(),
    );
    registry.register_with_unit(
        "incident_time_to_resolve",
        "Time from an incident's creation to its resolution",
        Unit::Seconds,
        m.time_to_resolve.clone(),
    );
    registry.register_with_unit(
        "incident_time_to_first_acknowledgement",
        "Time from an incident's creation to the first acknowledged page",
        Unit::Seconds,
        m.time_to_ack.clone(),
    );
    registry.register_with_unit(
        "plugin_call_duration",
        "Duration of plugin action calls, by instance, action and outcome",
        Unit::Seconds,
        m.plugin_calls.clone(),
    );
    registry.register_with_unit(
        "timer_lateness",
        "How late durable engagement timers fire (fire time minus due time)",
        Unit::Seconds,
        m.timer_lateness.clone(),
    );
    registry.register(
        "queue_depth",
        "Committed work not yet done: notifications (outbox), timers, incident_actions",
        m.queue_depth.clone(),
    );
    Metrics { registry, ..m }
});

/// An incident was created (not a deduplicated trigger).
pub fn incident_created(plan: &str, impact: u8, source: &str) {
    METRICS
        .created
        .get_or_create(&IncidentLabels::new(plan, impact, source))
        .inc();
}

/// An incident was resolved `time_to_resolve_secs` after its creation.
pub fn incident_resolved(plan: &str, impact: u8, source: &str, time_to_resolve_secs: f64) {
    let labels = IncidentLabels::new(plan, impact, source);
    METRICS.resolved.get_or_create(&labels).inc();
    METRICS
        .time_to_resolve
        .get_or_create(&labels)
        .observe(time_to_resolve_secs.max(0.0));
}

/// The first page of an incident was acknowledged `secs` after the incident's creation.
pub fn first_acknowledgement(plan: &str, impact: u8, source: &str, secs: f64) {
    METRICS
        .time_to_ack
        .get_or_create(&IncidentLabels::new(plan, impact, source))
        .observe(secs.max(0.0));
}

/// A plugin action call ended (`ok`: it returned an output).
pub fn plugin_call(instance: &str, action: &str, ok: bool, secs: f64) {
    METRICS
        .plugin_calls
        .get_or_create(&CallLabels {
            instance: instance.to_owned(),
            action: action.to_owned(),
            outcome: if ok { "ok" } else { "error" },
        })
        .observe(secs.max(0.0));
}

/// A durable timer fired `secs` after it was due (negative: early, counted as 0).
pub fn timer_lateness(secs: f64) {
    METRICS.timer_lateness.observe(secs.max(0.0));
}

/// The current depth of one of the engine's durable queues.
pub fn set_queue_depth(queue: &str, n: u64) {
    METRICS
        .queue_depth
        .get_or_create(&QueueLabels {
            queue: queue.to_owned(),
        })
        .set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Every series in the OpenMetrics text format (ends with `# EOF`); see [`CONTENT_TYPE`].
pub fn render() -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &METRICS.registry)
        .expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_named_labelled_and_bucketed() {
        incident_created("unit-plan", 2, "unit.test");
        incident_resolved("unit-plan", 2, "unit.test", 90.0);
        first_acknowledgement("unit-plan", 2, "unit.test", 45.0);
        plugin_call("unit-hook", "call", false, 0.003);
        timer_lateness(-1.0);
        set_queue_depth("timers", 7);
        let text = render();
        let labels = r#"response_plan="unit-plan",impact="2",source="unit.test""#;
        for line in [
            format!("tocsin_incidents_created_total{{{labels}}} 1"),
            format!("tocsin_incidents_resolved_total{{{labels}}} 1"),
            format!("tocsin_incident_time_to_resolve_seconds_bucket{{le=\"60.0\",{labels}}} 0"),
            format!("tocsin_incident_time_to_resolve_seconds_bucket{{le=\"300.0\",{labels}}} 1"),
            format!(
                "tocsin_incident_time_to_first_acknowledgement_seconds_bucket{{le=\"60.0\",{labels}}} 1"
            ),
            r#"tocsin_plugin_call_duration_seconds_count{instance="unit-hook",action="call",outcome="error"} 1"#.into(),
            r#"tocsin_queue_depth{queue="timers"} 7"#.into(),
            "# TYPE tocsin_timer_lateness_seconds histogram".into(),
            "# EOF".into(),
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
        }
    }
}
