//! The audit log, append-only: no update or delete exists. Tables (text keys):
//! - `audit_log`: `<unix-nanos:020>-<seq:04>` of the record's time → `AuditRecord` (JSON)
//! - `audit_by_resource`: `<name>\u{1f}<key>` → empty (the names of
//!   [`AuditRecord::index_keys`])
//!
//! Keys sort by time; `seq` separates records of the same nanosecond.

use jiff::Timestamp;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::oncall::{Def, OncallTx};
use super::{Store, StoreError, io};
use crate::audit::{AuditPage, AuditQuery, AuditRecord};

const LOG: Def = TableDefinition::new("audit_log");
const BY_RESOURCE: Def = TableDefinition::new("audit_by_resource");
const SEP: char = '\u{1f}';

fn nanos(t: Timestamp) -> u64 {
    u64::try_from(t.as_nanosecond().max(0)).unwrap_or(u64::MAX)
}

/// The smallest key at `t`.
fn key_floor(t: Timestamp) -> String {
    format!("{:020}-", nanos(t))
}

/// Past every key at `t` (`.` sorts after `-`).
fn key_ceiling(t: Timestamp) -> String {
    format!("{:020}.", nanos(t))
}

impl OncallTx<'_> {
    /// Appends a record in this transaction; returns its key. An existing key is never replaced.
    pub fn append_audit(&self, record: &AuditRecord) -> Result<String, StoreError> {
        let w = self.writer()?;
        let mut log = w
            .open_table(LOG)
            .map_err(|e| io("open audit log")(e.to_string()))?;
        let base = nanos(record.time);
        let mut seq = 0u32;
        let key = loop {
            let key = format!("{base:020}-{seq:04}");
            if log
                .get(key.as_str())
                .map_err(|e| io("read audit log")(e.to_string()))?
                .is_none()
            {
                break key;
            }
            seq += 1;
        };
        let mut stored = record.clone();
        stored.id = key.clone();
        let body =
            serde_json::to_vec(&stored).map_err(|e| io("encode audit record")(e.to_string()))?;
        log.insert(key.as_str(), body.as_slice())
            .map_err(|e| io("write audit log")(e.to_string()))?;
        let mut index = w
            .open_table(BY_RESOURCE)
            .map_err(|e| io("open audit index")(e.to_string()))?;
        for name in stored.index_keys() {
            index
                .insert(format!("{name}{SEP}{key}").as_str(), &[][..])
                .map_err(|e| io("write audit index")(e.to_string()))?;
        }
        Ok(key)
    }
}

impl Store {
    /// Appends records durably, sharing the commit of concurrent engagement/incident writers
    /// (group commit); returns their keys.
    pub async fn append_audit(
        &self,
        records: std::sync::Arc<[AuditRecord]>,
    ) -> Result<Vec<String>, StoreError> {
        self.engage_write_grouped_async(move |tx| {
            records
                .iter()
                .map(|r| tx.oncall().append_audit(r))
                .collect()
        })
        .await
    }

    /// The records a query selects, newest first (see [`AuditQuery`]).
    pub fn audit_range(&self, q: &AuditQuery) -> Result<AuditPage, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| io("begin read")(e.to_string()))?;
        let log = match tx.open_table(LOG) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => {
                return Ok(AuditPage {
                    records: Vec::new(),
                    next_token: None,
                });
            }
            Err(e) => return Err(io("open audit log")(e.to_string())),
        };
        let lo = q.since.map(key_floor).unwrap_or_default();
        let mut hi = q.until.map_or_else(|| "~".to_owned(), key_ceiling);
        if let Some(before) = &q.before
            && *before < hi
        {
            hi = before.clone();
        }
        let want = q.limit.max(1);
        let mut keys: Vec<String> = Vec::new();
        if lo < hi {
            match &q.resource {
                None => {
                    for row in log
                        .range(lo.as_str()..hi.as_str())
                        .map_err(|e| io("scan audit log")(e.to_string()))?
                        .rev()
                        .take(want + 1)
                    {
                        let (k, _) = row.map_err(|e| io("scan audit log")(e.to_string()))?;
                        keys.push(k.value().to_owned());
                    }
                }
                Some(resource) => {
                    let index = match tx.open_table(BY_RESOURCE) {
                        Ok(t) => Some(t),
                        Err(TableError::TableDoesNotExist(_)) => None,
                        Err(e) => return Err(io("open audit index")(e.to_string())),
                    };
                    let names = crate::audit::lookup_keys(resource);
                    for (index, name) in
                        index.iter().flat_map(|i| names.iter().map(move |n| (i, n)))
                    {
                        let from = format!("{name}{SEP}{lo}");
                        let to = format!("{name}{SEP}{hi}");
                        for row in index
                            .range(from.as_str()..to.as_str())
                            .map_err(|e| io("scan audit index")(e.to_string()))?
                            .rev()
                            .take(want + 1)
                        {
                            let (k, _) = row.map_err(|e| io("scan audit index")(e.to_string()))?;
                            keys.push(k.value()[name.len() + SEP.len_utf8()..].to_owned());
                        }
                    }
                    keys.sort_unstable_by(|a, b| b.cmp(a));
                    keys.dedup();
                }
            }
        }
        let more = keys.len() > want;
        keys.truncate(want);
        let mut records = Vec::with_capacity(keys.len());
        for k in &keys {
            let Some(v) = log
                .get(k.as_str())
                .map_err(|e| io("read audit log")(e.to_string()))?
            else {
                continue;
            };
            records.push(
                serde_json::from_slice::<AuditRecord>(v.value()).map_err(|e| StoreError::Io {
                    op: "decode audit record",
                    message: format!("audit_log[{k}]: {e}"),
                })?,
            );
        }
        Ok(AuditPage {
            next_token: more.then(|| keys.last().cloned()).flatten(),
            records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditKind, AuditRecord};

    fn record(secs: i64, resource: Option<&str>) -> AuditRecord {
        AuditRecord {
            id: String::new(),
            time: Timestamp::from_second(secs).unwrap(),
            kind: AuditKind::ApiCall,
            who: "bob".into(),
            method: "POST".into(),
            path: "/v1/x".into(),
            resource: resource.map(str::to_owned),
            source_address: Some("127.0.0.1".into()),
            request_id: Some(format!("r{secs}")),
            status: Some(200),
            duration_ms: None,
            documents: Vec::new(),
            what: None,
        }
    }

    #[tokio::test]
    async fn appended_records_come_back_newest_first_by_time_and_resource() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let q =
            |since: Option<i64>, until: Option<i64>, resource: Option<&str>, limit| AuditQuery {
                since: since.map(|s| Timestamp::from_second(s).unwrap()),
                until: until.map(|s| Timestamp::from_second(s).unwrap()),
                resource: resource.map(str::to_owned),
                before: None,
                limit,
            };
        assert!(
            store
                .audit_range(&q(None, None, None, 10))
                .unwrap()
                .records
                .is_empty()
        );
        let arn = "arn:aws:ssm-incidents::1:incident-record/p/abc";
        let keys = store
            .append_audit(
                vec![
                    record(100, Some(arn)),
                    record(100, Some("abc")),
                    record(200, None),
                    record(300, Some("alice")),
                ]
                .into(),
            )
            .await
            .unwrap();
        // Same nanosecond: a second sequence number, never an overwrite.
        assert_eq!(keys[0], "00000000100000000000-0000");
        assert_eq!(keys[1], "00000000100000000000-0001");
        let ids = |p: AuditPage| -> Vec<String> {
            p.records
                .iter()
                .map(|r| r.request_id.clone().unwrap())
                .collect()
        };
        let all = store.audit_range(&q(None, None, None, 10)).unwrap();
        assert_eq!(all.records[0].id, keys[3]);
        assert_eq!(ids(all), ["r300", "r200", "r100", "r100"]);
        assert_eq!(
            ids(store
                .audit_range(&q(Some(200), Some(300), None, 10))
                .unwrap()),
            ["r300", "r200"]
        );
        assert_eq!(
            ids(store
                .audit_range(&q(Some(101), Some(299), None, 10))
                .unwrap()),
            ["r200"]
        );
        // An ARN and its id find each other.
        assert_eq!(
            store
                .audit_range(&q(None, None, Some(arn), 10))
                .unwrap()
                .records
                .len(),
            2
        );
        assert_eq!(
            store
                .audit_range(&q(None, None, Some("abc"), 10))
                .unwrap()
                .records
                .len(),
            2
        );
        assert_eq!(
            ids(store
                .audit_range(&q(None, Some(200), Some("alice"), 10))
                .unwrap()),
            Vec::<String>::new()
        );
        // Pages.
        let first = store.audit_range(&q(None, None, None, 3)).unwrap();
        assert_eq!(first.next_token.as_deref(), Some(keys[1].as_str()));
        let rest = store
            .audit_range(&AuditQuery {
                before: first.next_token,
                ..q(None, None, None, 3)
            })
            .unwrap();
        assert_eq!(rest.records.len(), 1);
        assert_eq!(rest.records[0].id, keys[0]);
        assert_eq!(rest.next_token, None);
    }
}
