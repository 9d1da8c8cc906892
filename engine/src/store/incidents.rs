//! Incident state, in the same transactions as engagements ([`EngageTx`]):
//! - `inc_plans`: name → `ResponsePlan`
//! - `inc_records`: incident ARN → `IncidentRecord`
//! - `inc_open_dedupe`: dedupe string → ARN of the OPEN incident holding it
//! - `inc_tokens`: StartIncident client token → ARN
//! - `inc_actions`: `<ARN>\u{1f}<n>` → a pending follow-up (engage, run the runbook, notify an
//!   integration), committed with the incident and removed when done: a crash re-runs it.
//! - `ingest_seen`: `<source>/<message id>` → when it was accepted (SNS replay protection)

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use super::oncall::Def;
use super::{EngageTx, StoreError};
use crate::incident::{IncidentRecord, ResponsePlan};

const PLANS: Def = TableDefinition::new("inc_plans");
const RECORDS: Def = TableDefinition::new("inc_records");
const OPEN_DEDUPE: Def = TableDefinition::new("inc_open_dedupe");
const TOKENS: Def = TableDefinition::new("inc_tokens");
const ACTIONS: Def = TableDefinition::new("inc_actions");
const SEEN: Def = TableDefinition::new("ingest_seen");
/// `<creation unix-nanos:020>\u{1f}<arn>` → empty: records newest first without reading them all.
const BY_CREATION: Def = TableDefinition::new("inc_by_creation");

fn creation_key(r: &IncidentRecord) -> String {
    let nanos = u64::try_from(r.creation_time.as_nanosecond().max(0)).unwrap_or(u64::MAX);
    format!("{nanos:020}\u{1f}{}", r.arn)
}

/// Work that follows an incident's creation or resolution, done after the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum IncidentAction {
    /// StartEngagement for one of the plan's engagements (idempotency token = ARN + contact).
    Engage { incident: String, contact: String },
    /// Start the plan's runbook action `index`.
    Runbook { incident: String, index: usize },
    /// Stop every engagement of the incident (it was resolved).
    StopEngagements { incident: String },
    /// Post to the plan's chat channel (a plugin instance's `notify`).
    Chat {
        incident: String,
        instance: String,
        event: String,
    },
    /// Call an integration plugin (`trigger` / `resolve`).
    Integration {
        incident: String,
        index: usize,
        event: String,
    },
}

impl EngageTx<'_> {
    pub fn response_plan(&self, name: &str) -> Result<Option<ResponsePlan>, StoreError> {
        self.tx.get(PLANS, name)
    }

    pub fn response_plans(&self) -> Result<Vec<ResponsePlan>, StoreError> {
        Ok(self
            .tx
            .scan(PLANS, "")?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    pub fn put_response_plan(&self, p: &ResponsePlan) -> Result<(), StoreError> {
        self.tx.put(PLANS, &p.name, p)
    }

    pub fn delete_response_plan(&self, name: &str) -> Result<bool, StoreError> {
        self.tx.remove(PLANS, name)
    }

    pub fn incident(&self, arn: &str) -> Result<Option<IncidentRecord>, StoreError> {
        self.tx.get(RECORDS, arn)
    }

    pub fn incidents(&self) -> Result<Vec<IncidentRecord>, StoreError> {
        Ok(self
            .tx
            .scan(RECORDS, "")?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Stores a new record: [`EngageTx::put_incident`] plus the creation-time index.
    pub fn add_incident(&self, r: &IncidentRecord) -> Result<(), StoreError> {
        self.put_incident(r)?;
        self.tx.put(BY_CREATION, &creation_key(r), &())
    }

    /// Records newest first, from just below `after` (a key this returned), those `keep` accepts,
    /// at most `limit`; with the key to continue from when more may follow.
    pub fn incidents_newest_first(
        &self,
        after: Option<&str>,
        limit: usize,
        keep: impl Fn(&IncidentRecord) -> bool,
    ) -> Result<(Vec<IncidentRecord>, Option<String>), StoreError> {
        let (mut out, mut next, mut more) = (Vec::new(), None, false);
        self.tx.keys_rev(BY_CREATION, after, |key| {
            let arn = key.split_once('\u{1f}').map_or("", |(_, a)| a);
            if let Some(r) = self.incident(arn)?
                && keep(&r)
            {
                if out.len() == limit {
                    more = true;
                    return Ok(false);
                }
                out.push(r);
                next = Some(key.to_owned());
            }
            Ok(true)
        })?;
        Ok((out, next.filter(|_| more)))
    }

    /// Indexes records stored before the creation-time index existed; returns how many.
    pub fn backfill_incident_index(&self) -> Result<usize, StoreError> {
        let mut indexed = false;
        self.tx.keys_rev(BY_CREATION, None, |_| {
            indexed = true;
            Ok(false)
        })?;
        if indexed {
            return Ok(0);
        }
        let all = self.incidents()?;
        for r in &all {
            self.tx.put(BY_CREATION, &creation_key(r), &())?;
        }
        Ok(all.len())
    }

    /// Writes a record and keeps the open-dedupe index in step with its status.
    pub fn put_incident(&self, r: &IncidentRecord) -> Result<(), StoreError> {
        if !r.dedupe_string.is_empty() {
            let holder: Option<String> = self.tx.get(OPEN_DEDUPE, &r.dedupe_string)?;
            if r.is_open() {
                self.tx.put(OPEN_DEDUPE, &r.dedupe_string, &r.arn)?;
            } else if holder.as_deref() == Some(r.arn.as_str()) {
                self.tx.remove(OPEN_DEDUPE, &r.dedupe_string)?;
            }
        }
        self.tx.put(RECORDS, &r.arn, r)
    }

    /// Deletes the record with its timeline and its unfinished follow-ups (engagements stay:
    /// they are contacts' history).
    pub fn delete_incident(&self, r: &IncidentRecord) -> Result<bool, StoreError> {
        let holder: Option<String> = self.tx.get(OPEN_DEDUPE, &r.dedupe_string)?;
        if holder.as_deref() == Some(r.arn.as_str()) {
            self.tx.remove(OPEN_DEDUPE, &r.dedupe_string)?;
        }
        self.delete_timeline(&r.arn)?;
        self.tx.remove(BY_CREATION, &creation_key(r))?;
        self.tx
            .remove_prefix(ACTIONS, &format!("{}\u{1f}", r.arn))?;
        self.tx.remove(RECORDS, &r.arn)
    }

    /// The OPEN incident holding a dedupe string.
    pub fn open_incident_by_dedupe(&self, dedupe: &str) -> Result<Option<String>, StoreError> {
        if dedupe.is_empty() {
            return Ok(None);
        }
        self.tx.get(OPEN_DEDUPE, dedupe)
    }

    pub fn incident_by_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        self.tx.get(TOKENS, token)
    }

    pub fn put_incident_token(&self, token: &str, arn: &str) -> Result<(), StoreError> {
        self.tx.put(TOKENS, token, &arn)
    }

    /// Records a delivered message id; false when it was seen before (a replay).
    pub fn first_sight(&self, key: &str, at: jiff::Timestamp) -> Result<bool, StoreError> {
        if self.tx.get::<jiff::Timestamp>(SEEN, key)?.is_some() {
            return Ok(false);
        }
        self.tx.put(SEEN, key, &at)?;
        Ok(true)
    }

    pub fn push_incident_action(&self, key: &str, a: &IncidentAction) -> Result<(), StoreError> {
        self.tx.put(ACTIONS, key, a)
    }

    pub fn take_incident_action(&self, key: &str) -> Result<bool, StoreError> {
        self.tx.remove(ACTIONS, key)
    }

    pub fn incident_actions(&self) -> Result<Vec<(String, IncidentAction)>, StoreError> {
        self.tx.scan(ACTIONS, "")
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::json;

    use super::IncidentAction;
    use crate::incident::{self, NewIncident, ResponsePlan, TriggerInfo};
    use crate::store::{Store, StoreError};

    fn open(id: &str) -> (incident::IncidentRecord, Vec<crate::engage::TimelineEntry>) {
        open_at(id, Timestamp::UNIX_EPOCH)
    }

    fn open_at(
        id: &str,
        at: Timestamp,
    ) -> (incident::IncidentRecord, Vec<crate::engage::TimelineEntry>) {
        let plan: ResponsePlan = serde_json::from_value(json!({
            "name": "p", "incidentTemplate": {"title": "T", "impact": 2}
        }))
        .unwrap();
        let trigger = TriggerInfo {
            source: "api".into(),
            timestamp: Timestamp::UNIX_EPOCH,
            trigger_arn: None,
            raw_data: json!({"n": id}),
            identity: Some(id.into()),
        };
        let new = NewIncident {
            id: id.into(),
            arn_prefix: "arn:aws:ssm-incidents::1".into(),
            title: None,
            impact: None,
            related_items: Vec::new(),
            trigger,
            created_by: "test".into(),
        };
        incident::open(&plan, new, at).unwrap()
    }

    #[test]
    fn deleting_an_incident_takes_its_timeline_and_follow_ups_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let (a, a_events) = open("a");
        let (b, b_events) = open("b");
        store
            .engage_write(|tx| {
                for (rec, events) in [(&a, &a_events), (&b, &b_events)] {
                    tx.put_incident(rec)?;
                    for e in events {
                        tx.add_timeline(e)?;
                    }
                    let action = IncidentAction::StopEngagements {
                        incident: rec.arn.clone(),
                    };
                    tx.push_incident_action(&format!("{}\u{1f}stop", rec.arn), &action)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert!(
            !store
                .engage_read(|tx| tx.timeline(&a.arn))
                .unwrap()
                .is_empty()
        );
        store.engage_write(|tx| tx.delete_incident(&a)).unwrap();
        store
            .engage_read(|tx| {
                assert!(tx.incident(&a.arn)?.is_none());
                assert!(tx.timeline(&a.arn)?.is_empty());
                assert_eq!(tx.timeline(&b.arn)?.len(), b_events.len());
                let pending: Vec<String> =
                    tx.incident_actions()?.into_iter().map(|(k, _)| k).collect();
                assert_eq!(pending, vec![format!("{}\u{1f}stop", b.arn)]);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn pages_are_newest_first_and_a_token_survives_new_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let at = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
        let add = |id: &str, s: i64| {
            let (rec, _) = open_at(id, at(s));
            store.engage_write(|tx| tx.add_incident(&rec)).unwrap();
        };
        for (i, id) in ["i1", "i2", "i3", "i4", "i5"].iter().enumerate() {
            add(id, i as i64);
        }
        let ids = |recs: &[incident::IncidentRecord]| -> Vec<String> {
            recs.iter().map(|r| r.id().to_owned()).collect()
        };
        let page = |after: Option<&str>, keep: fn(&incident::IncidentRecord) -> bool| {
            store
                .engage_read(|tx| tx.incidents_newest_first(after, 2, keep))
                .unwrap()
        };
        let (first, token) = page(None, |_| true);
        assert_eq!(ids(&first), ["i5", "i4"]);
        // A newer incident does not shift the next page.
        add("i6", 10);
        let (second, token) = page(token.as_deref(), |_| true);
        assert_eq!(ids(&second), ["i3", "i2"]);
        let (last, token) = page(token.as_deref(), |_| true);
        assert_eq!(ids(&last), ["i1"]);
        assert!(token.is_none(), "no token after the last page");
        // A filter skips records; a full page with nothing after it has no token.
        let (odd, token) = page(None, |r| r.id() != "i6" && r.id() != "i4" && r.id() != "i2");
        assert_eq!(ids(&odd), ["i5", "i3"]);
        let (rest, token) = page(token.as_deref(), |r| {
            r.id() != "i6" && r.id() != "i4" && r.id() != "i2"
        });
        assert_eq!(ids(&rest), ["i1"]);
        assert!(token.is_none());
        // Deleted records leave the index; an index-less store is backfilled once.
        let (i3, _) = open_at("i3", at(2));
        store.engage_write(|tx| tx.delete_incident(&i3)).unwrap();
        let (all, _) = store
            .engage_read(|tx| tx.incidents_newest_first(None, 100, |_| true))
            .unwrap();
        assert_eq!(ids(&all), ["i6", "i5", "i4", "i2", "i1"]);
        assert_eq!(
            store
                .engage_write(|tx| tx.backfill_incident_index())
                .unwrap(),
            0,
            "an indexed store is left alone"
        );
    }
}
