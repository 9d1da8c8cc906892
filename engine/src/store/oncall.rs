//! On-call state: contacts (with their channels and activation status), schedules (with their
//! rotations), overrides and pending channel-activation codes. Callers read and write through
//! [`OncallTx`] inside one transaction: a closure that returns `Err` writes nothing.
//!
//! Tables (text keys, JSON values, so they stay expressible in SQL):
//! - `oncall_contacts`: alias → `Contact` (PERSONAL and ESCALATION contacts)
//! - `oncall_schedules`: alias → `OnCallSchedule` (the ONCALL_SCHEDULE contacts)
//! - `oncall_overrides`: `<schedule>/<id>` → `RotationOverride` (aliases never hold `/`)
//! - `oncall_activation_codes`: `<alias>/<channel>` → [`PendingCode`]
//! - `oncall_escalation_plans`: alias → `EscalationPlan` (the plan of an ESCALATION contact)

use jiff::Timestamp;
use redb::{
    ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableError, TableHandle,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, io};
use crate::oncall::{Contact, EscalationPlan, OnCallSchedule, RotationOverride};

pub(super) type Def = TableDefinition<'static, &'static str, &'static [u8]>;

const CONTACTS: Def = TableDefinition::new("oncall_contacts");
const SCHEDULES: Def = TableDefinition::new("oncall_schedules");
const OVERRIDES: Def = TableDefinition::new("oncall_overrides");
const CODES: Def = TableDefinition::new("oncall_activation_codes");
const PLANS: Def = TableDefinition::new("oncall_escalation_plans");

/// An activation code sent to a channel and not yet used. Only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingCode {
    pub code_sha256: String,
    pub sent_at: Timestamp,
    /// Wrong codes tried so far.
    pub failed_attempts: u32,
}

pub(super) enum Inner<'a> {
    Read(ReadTransaction),
    Write(&'a WriteTransaction),
}

/// Reads and writes of on-call state inside one redb transaction. Writes fail on a read view.
pub struct OncallTx<'a> {
    pub(super) inner: Inner<'a>,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| io("encode on-call row")(e.to_string()))
}

fn decode<T: DeserializeOwned>(table: &str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Io {
        op: "decode on-call row",
        message: format!("{table}[{key}]: {e}"),
    })
}

fn get_in<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match t
        .get(key)
        .map_err(|e| io("read on-call row")(e.to_string()))?
    {
        Some(v) => Ok(Some(decode(name, key, v.value())?)),
        None => Ok(None),
    }
}

fn range_in<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
    prefix: &str,
) -> Result<Vec<(String, T)>, StoreError> {
    let mut out = Vec::new();
    let iter = t
        .range(prefix..)
        .map_err(|e| io("scan on-call table")(e.to_string()))?;
    for row in iter {
        let (k, v) = row.map_err(|e| io("scan on-call table")(e.to_string()))?;
        let key = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        out.push((key.to_owned(), decode(name, key, v.value())?));
    }
    Ok(out)
}

/// Keys below `before` (all when `None`), greatest first, while `f` says go on.
fn keys_rev_in(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    before: Option<&str>,
    f: &mut dyn FnMut(&str) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let iter = match before {
        Some(b) => t.range(..b),
        None => t.range::<&str>(..),
    }
    .map_err(|e| io("scan on-call table")(e.to_string()))?;
    for row in iter.rev() {
        let (k, _) = row.map_err(|e| io("scan on-call table")(e.to_string()))?;
        if !f(k.value())? {
            break;
        }
    }
    Ok(())
}

impl OncallTx<'_> {
    pub(super) fn get<T: DeserializeOwned>(
        &self,
        def: Def,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        match &self.inner {
            Inner::Read(tx) => match tx.open_table(def) {
                Ok(t) => get_in(&t, def.name(), key),
                Err(TableError::TableDoesNotExist(_)) => Ok(None),
                Err(e) => Err(io("open on-call table")(e.to_string())),
            },
            Inner::Write(tx) => {
                let t = tx
                    .open_table(def)
                    .map_err(|e| io("open on-call table")(e.to_string()))?;
                get_in(&t, def.name(), key)
            }
        }
    }

    pub(super) fn scan<T: DeserializeOwned>(
        &self,
        def: Def,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        match &self.inner {
            Inner::Read(tx) => match tx.open_table(def) {
                Ok(t) => range_in(&t, def.name(), prefix),
                Err(TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
                Err(e) => Err(io("open on-call table")(e.to_string())),
            },
            Inner::Write(tx) => {
                let t = tx
                    .open_table(def)
                    .map_err(|e| io("open on-call table")(e.to_string()))?;
                range_in(&t, def.name(), prefix)
            }
        }
    }

    /// Walks the keys of `def` below `before`, greatest first, while `f` says go on.
    pub(super) fn keys_rev(
        &self,
        def: Def,
        before: Option<&str>,
        mut f: impl FnMut(&str) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Read(tx) => match tx.open_table(def) {
                Ok(t) => keys_rev_in(&t, before, &mut f),
                Err(TableError::TableDoesNotExist(_)) => Ok(()),
                Err(e) => Err(io("open on-call table")(e.to_string())),
            },
            Inner::Write(tx) => {
                let t = tx
                    .open_table(def)
                    .map_err(|e| io("open on-call table")(e.to_string()))?;
                keys_rev_in(&t, before, &mut f)
            }
        }
    }

    pub(super) fn writer(&self) -> Result<&WriteTransaction, StoreError> {
        match &self.inner {
            Inner::Write(tx) => Ok(tx),
            Inner::Read(_) => Err(StoreError::Io {
                op: "write on-call row",
                message: "attempted a write in a read-only view (a bug in the caller)".into(),
            }),
        }
    }

    pub(super) fn put<T: Serialize>(
        &self,
        def: Def,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = encode(value)?;
        let mut t = self
            .writer()?
            .open_table(def)
            .map_err(|e| io("open on-call table")(e.to_string()))?;
        t.insert(key, bytes.as_slice())
            .map_err(|e| io("write on-call row")(e.to_string()))?;
        Ok(())
    }

    /// Removes every row whose key starts with `prefix`; returns how many.
    pub(super) fn remove_prefix(&self, def: Def, prefix: &str) -> Result<usize, StoreError> {
        let mut t = self
            .writer()?
            .open_table(def)
            .map_err(|e| io("open on-call table")(e.to_string()))?;
        let mut keys = Vec::new();
        for row in t
            .range(prefix..)
            .map_err(|e| io("scan on-call table")(e.to_string()))?
        {
            let (k, _) = row.map_err(|e| io("scan on-call table")(e.to_string()))?;
            if !k.value().starts_with(prefix) {
                break;
            }
            keys.push(k.value().to_owned());
        }
        for k in &keys {
            t.remove(k.as_str())
                .map_err(|e| io("delete on-call row")(e.to_string()))?;
        }
        Ok(keys.len())
    }

    pub(super) fn remove(&self, def: Def, key: &str) -> Result<bool, StoreError> {
        let mut t = self
            .writer()?
            .open_table(def)
            .map_err(|e| io("open on-call table")(e.to_string()))?;
        let old = t
            .remove(key)
            .map_err(|e| io("delete on-call row")(e.to_string()))?;
        Ok(old.is_some())
    }

    pub fn contact(&self, alias: &str) -> Result<Option<Contact>, StoreError> {
        self.get(CONTACTS, alias)
    }

    /// Every contact, by alias.
    pub fn contacts(&self) -> Result<Vec<Contact>, StoreError> {
        Ok(self
            .scan(CONTACTS, "")?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    pub fn put_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        self.put(CONTACTS, &contact.alias, contact)
    }

    /// Deletes a contact and its pending activation codes.
    pub fn delete_contact(&self, alias: &str) -> Result<bool, StoreError> {
        for (key, _) in self.scan::<PendingCode>(CODES, &format!("{alias}/"))? {
            self.remove(CODES, &key)?;
        }
        self.remove(CONTACTS, alias)
    }

    pub fn plan(&self, alias: &str) -> Result<Option<EscalationPlan>, StoreError> {
        self.get(PLANS, alias)
    }

    pub fn plans(&self) -> Result<Vec<EscalationPlan>, StoreError> {
        Ok(self.scan(PLANS, "")?.into_iter().map(|(_, p)| p).collect())
    }

    pub fn put_plan(&self, plan: &EscalationPlan) -> Result<(), StoreError> {
        self.put(PLANS, &plan.alias, plan)
    }

    pub fn delete_plan(&self, alias: &str) -> Result<bool, StoreError> {
        self.remove(PLANS, alias)
    }

    pub fn schedule(&self, alias: &str) -> Result<Option<OnCallSchedule>, StoreError> {
        self.get(SCHEDULES, alias)
    }

    /// Every schedule, by alias.
    pub fn schedules(&self) -> Result<Vec<OnCallSchedule>, StoreError> {
        Ok(self
            .scan(SCHEDULES, "")?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }

    pub fn put_schedule(&self, schedule: &OnCallSchedule) -> Result<(), StoreError> {
        self.put(SCHEDULES, &schedule.alias, schedule)
    }

    /// Deletes a schedule and all its overrides.
    pub fn delete_schedule(&self, alias: &str) -> Result<bool, StoreError> {
        for o in self.overrides(alias)? {
            self.delete_override(alias, &o.id)?;
        }
        self.remove(SCHEDULES, alias)
    }

    /// The overrides of a schedule's rotations, in id order.
    pub fn overrides(&self, schedule: &str) -> Result<Vec<RotationOverride>, StoreError> {
        Ok(self
            .scan(OVERRIDES, &format!("{schedule}/"))?
            .into_iter()
            .map(|(_, o)| o)
            .collect())
    }

    pub fn put_override(&self, schedule: &str, o: &RotationOverride) -> Result<(), StoreError> {
        self.put(OVERRIDES, &format!("{schedule}/{}", o.id), o)
    }

    pub fn delete_override(&self, schedule: &str, id: &str) -> Result<bool, StoreError> {
        self.remove(OVERRIDES, &format!("{schedule}/{id}"))
    }

    pub fn pending_code(
        &self,
        alias: &str,
        channel: &str,
    ) -> Result<Option<PendingCode>, StoreError> {
        self.get(CODES, &format!("{alias}/{channel}"))
    }

    pub fn put_pending_code(
        &self,
        alias: &str,
        channel: &str,
        code: &PendingCode,
    ) -> Result<(), StoreError> {
        self.put(CODES, &format!("{alias}/{channel}"), code)
    }

    pub fn delete_pending_code(&self, alias: &str, channel: &str) -> Result<bool, StoreError> {
        self.remove(CODES, &format!("{alias}/{channel}"))
    }
}

impl Store {
    /// Runs `f` over a consistent read-only view of the on-call state.
    pub fn oncall_read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&OncallTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| io("begin read")(e.to_string()))?;
        let view = OncallTx {
            inner: Inner::Read(tx),
        };
        f(&view)
    }

    /// Runs `f` in one write transaction and commits (durably) only when it returns `Ok`; on
    /// `Err` nothing of what `f` wrote is kept.
    pub fn oncall_write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&OncallTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .db
            .begin_write()
            .map_err(|e| io("begin write")(e.to_string()))?;
        let result = {
            let view = OncallTx {
                inner: Inner::Write(&tx),
            };
            f(&view)
        };
        match result {
            Ok(v) => {
                tx.commit().map_err(|e| io("commit")(e.to_string()))?;
                Ok(v)
            }
            Err(e) => {
                if let Err(abort) = tx.abort() {
                    tracing::warn!(error = %abort, "aborting an on-call transaction failed");
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
impl OncallTx<'_> {
    fn read_only_guard(&self) -> Result<(), StoreError> {
        self.writer().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oncall::ContactType;

    fn contact(alias: &str) -> Contact {
        Contact {
            alias: alias.into(),
            display_name: None,
            contact_type: ContactType::Personal,
            channels: vec![],
            engagement_plan: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn a_failed_closure_writes_nothing_and_a_good_one_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let store = Store::open(&path).unwrap();
            assert!(store.oncall_read(|tx| tx.contacts()).unwrap().is_empty());
            let r: Result<(), StoreError> = store.oncall_write(|tx| {
                tx.put_contact(&contact("a"))?;
                Err(StoreError::Io {
                    op: "test",
                    message: "no".into(),
                })
            });
            assert!(r.is_err());
            assert!(store.oncall_read(|tx| tx.contact("a")).unwrap().is_none());
            store
                .oncall_write(|tx| {
                    tx.put_contact(&contact("b"))?;
                    tx.put_override(
                        "sched",
                        &RotationOverride {
                            id: "o1".into(),
                            rotation: "r".into(),
                            new_contacts: vec!["b".into()],
                            start_time: Timestamp::UNIX_EPOCH,
                            end_time: Timestamp::UNIX_EPOCH,
                            create_time: Timestamp::UNIX_EPOCH,
                        },
                    )
                })
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert!(store.oncall_read(|tx| tx.contact("b")).unwrap().is_some());
        assert_eq!(
            store.oncall_read(|tx| tx.overrides("sched")).unwrap().len(),
            1
        );
        assert!(
            store
                .oncall_read(|tx| tx.overrides("sche"))
                .unwrap()
                .is_empty()
        );
        assert!(store.oncall_write(|tx| tx.read_only_guard()).is_ok());
    }
}
