//! Engagement state: engagements, pages, receipts, durable timers, the notification outbox,
//! rate-limit windows and incident timeline entries. Written through [`EngageTx`], which also
//! reads on-call state inside the same transaction (a stage resolves schedules as it commits).
//!
//! Tables (text keys and JSON values unless said):
//! - `eng_engagements`: id → `Engagement`; `eng_tokens`: idempotency token → id
//! - `eng_pages`: page id (`<engagement>-p<n>`) → `Page`; `eng_pages_by_contact`: `<alias>/<page>` → ""
//! - `eng_receipts`: `<page>/<seq:016>` → `Receipt`
//! - `eng_timers`: (due unix ms, timer id) → `TimerKind`; `eng_timer_ids`: timer id → due ms
//!   (so the same decision never makes two timers, and a timer is removed exactly once)
//! - `eng_outbox`: `<key>@<attempt>` → `Notification` (committed, not yet answered by the plugin)
//! - `eng_rate`: contact method → `MethodState`; `eng_rate_channel`: method → the first held
//!   `Notification` (the channel a summary goes out through)
//! - `timeline`: `<incident>\u{1f}<seq:016>` → `TimelineEntry`
//! - `eng_meta`: name → bytes (the link-signing key, sequence counters)

use jiff::Timestamp;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::oncall::{Def, Inner, OncallTx};
use super::{Store, StoreError, io};
use crate::engage::rate::MethodState;
use crate::engage::{Engagement, Notification, Page, Receipt, TimelineEntry, Timer, TimerKind};

const ENGAGEMENTS: Def = TableDefinition::new("eng_engagements");
const TOKENS: Def = TableDefinition::new("eng_tokens");
const PAGES: Def = TableDefinition::new("eng_pages");
const PAGES_BY_CONTACT: Def = TableDefinition::new("eng_pages_by_contact");
const RECEIPTS: Def = TableDefinition::new("eng_receipts");
const OUTBOX: Def = TableDefinition::new("eng_outbox");
const RATE: Def = TableDefinition::new("eng_rate");
const RATE_CHANNEL: Def = TableDefinition::new("eng_rate_channel");
const TIMELINE: Def = TableDefinition::new("timeline");
const META: Def = TableDefinition::new("eng_meta");
const TIMERS: TableDefinition<'static, (u64, &'static str), &'static [u8]> =
    TableDefinition::new("eng_timers");
const TIMER_IDS: TableDefinition<'static, &'static str, u64> =
    TableDefinition::new("eng_timer_ids");

/// Engagement reads and writes inside one transaction (see [`Store::engage_write`]).
pub struct EngageTx<'a> {
    pub(super) tx: OncallTx<'a>,
}

fn ms(t: Timestamp) -> u64 {
    t.as_millisecond().max(0) as u64
}

fn err(op: &'static str) -> impl Fn(String) -> StoreError {
    io(op)
}

impl<'a> EngageTx<'a> {
    /// The on-call state, in the same transaction.
    pub fn oncall(&self) -> &OncallTx<'a> {
        &self.tx
    }

    pub fn engagement(&self, id: &str) -> Result<Option<Engagement>, StoreError> {
        self.tx.get(ENGAGEMENTS, id)
    }

    pub fn put_engagement(&self, e: &Engagement) -> Result<(), StoreError> {
        if let Some(t) = &e.idempotency_token {
            self.tx.put(TOKENS, t, &e.engagement_id)?;
        }
        self.tx.put(ENGAGEMENTS, &e.engagement_id, e)
    }

    pub fn engagement_by_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        self.tx.get(TOKENS, token)
    }

    pub fn engagements(&self) -> Result<Vec<Engagement>, StoreError> {
        Ok(self
            .tx
            .scan(ENGAGEMENTS, "")?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    pub fn page(&self, id: &str) -> Result<Option<Page>, StoreError> {
        self.tx.get(PAGES, id)
    }

    /// Pages of an engagement, in creation order.
    pub fn pages_of(&self, engagement: &str) -> Result<Vec<Page>, StoreError> {
        let mut pages: Vec<Page> = self
            .tx
            .scan(PAGES, &format!("{engagement}-p"))?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        pages.sort_by_key(|p: &Page| page_number(&p.page_id));
        Ok(pages)
    }

    /// Pages sent to a contact, oldest first.
    pub fn pages_of_contact(&self, alias: &str) -> Result<Vec<Page>, StoreError> {
        let mut out = Vec::new();
        for (key, ()) in self.tx.scan::<()>(PAGES_BY_CONTACT, &format!("{alias}/"))? {
            if let Some(p) = self.page(&key[alias.len() + 1..])? {
                out.push(p);
            }
        }
        out.sort_by_key(|p: &Page| p.created_time);
        Ok(out)
    }

    pub fn put_page(&self, p: &Page) -> Result<(), StoreError> {
        self.tx.put(
            PAGES_BY_CONTACT,
            &format!("{}/{}", p.contact_id, p.page_id),
            &(),
        )?;
        self.tx.put(PAGES, &p.page_id, p)
    }

    pub fn receipts(&self, page: &str) -> Result<Vec<Receipt>, StoreError> {
        Ok(self
            .tx
            .scan(RECEIPTS, &format!("{page}/"))?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    fn next_seq(&self, name: &str) -> Result<u64, StoreError> {
        let n: u64 = self.tx.get(META, name)?.unwrap_or(0) + 1;
        self.tx.put(META, name, &n)?;
        Ok(n)
    }

    pub fn add_receipt(&self, r: &Receipt) -> Result<(), StoreError> {
        let seq = self.next_seq("receipt_seq")?;
        self.tx
            .put(RECEIPTS, &format!("{}/{seq:016}", r.page_id), r)
    }

    /// Appends an event; returns its id.
    pub fn add_timeline(&self, e: &TimelineEntry) -> Result<String, StoreError> {
        let seq = self.next_seq("timeline_seq")?;
        let mut e = e.clone();
        e.event_id = format!("{seq:016}");
        e.event_updated_time.get_or_insert(e.event_time);
        self.tx.put(
            TIMELINE,
            &format!("{}\u{1f}{}", e.incident_id, e.event_id),
            &e,
        )?;
        Ok(e.event_id)
    }

    pub fn timeline_event(
        &self,
        incident: &str,
        id: &str,
    ) -> Result<Option<TimelineEntry>, StoreError> {
        self.tx.get(TIMELINE, &format!("{incident}\u{1f}{id}"))
    }

    /// Replaces an event (same id).
    pub fn put_timeline_event(&self, e: &TimelineEntry) -> Result<(), StoreError> {
        self.tx.put(
            TIMELINE,
            &format!("{}\u{1f}{}", e.incident_id, e.event_id),
            e,
        )
    }

    pub fn delete_timeline_event(&self, incident: &str, id: &str) -> Result<bool, StoreError> {
        self.tx.remove(TIMELINE, &format!("{incident}\u{1f}{id}"))
    }

    /// Removes an incident's whole timeline; returns how many events it held.
    pub fn delete_timeline(&self, incident: &str) -> Result<usize, StoreError> {
        self.tx
            .remove_prefix(TIMELINE, &format!("{incident}\u{1f}"))
    }

    pub fn timeline(&self, incident: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        Ok(self
            .tx
            .scan(TIMELINE, &format!("{incident}\u{1f}"))?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// Adds a timer unless one with the same id exists (decisions are deterministic, so a
    /// replayed decision names the same timer). Returns whether it was added.
    pub fn add_timer(&self, t: &Timer) -> Result<bool, StoreError> {
        let w = self.tx.writer()?;
        let mut ids = w
            .open_table(TIMER_IDS)
            .map_err(|e| err("open timers")(e.to_string()))?;
        if ids
            .get(t.id.as_str())
            .map_err(|e| err("read timers")(e.to_string()))?
            .is_some()
        {
            return Ok(false);
        }
        ids.insert(t.id.as_str(), ms(t.due))
            .map_err(|e| err("write timers")(e.to_string()))?;
        let body = serde_json::to_vec(&t.kind).map_err(|e| err("encode timer")(e.to_string()))?;
        let mut timers = w
            .open_table(TIMERS)
            .map_err(|e| err("open timers")(e.to_string()))?;
        timers
            .insert((ms(t.due), t.id.as_str()), body.as_slice())
            .map_err(|e| err("write timers")(e.to_string()))?;
        Ok(true)
    }

    /// Removes a timer; `None` when it was already fired or removed (so it fires once).
    pub fn take_timer(&self, id: &str) -> Result<Option<Timer>, StoreError> {
        let w = self.tx.writer()?;
        let mut ids = w
            .open_table(TIMER_IDS)
            .map_err(|e| err("open timers")(e.to_string()))?;
        let Some(due) = ids
            .remove(id)
            .map_err(|e| err("write timers")(e.to_string()))?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let mut timers = w
            .open_table(TIMERS)
            .map_err(|e| err("open timers")(e.to_string()))?;
        let body = timers
            .remove((due, id))
            .map_err(|e| err("write timers")(e.to_string()))?
            .map(|v| v.value().to_vec());
        let Some(body) = body else { return Ok(None) };
        let kind: TimerKind =
            serde_json::from_slice(&body).map_err(|e| err("decode timer")(e.to_string()))?;
        Ok(Some(Timer {
            due: Timestamp::from_millisecond(due as i64).unwrap_or(Timestamp::UNIX_EPOCH),
            id: id.to_owned(),
            kind,
        }))
    }

    pub fn put_outbox(&self, n: &Notification) -> Result<(), StoreError> {
        self.tx.put(OUTBOX, &outbox_key(n), n)
    }

    /// Removes an outbox entry; false when its outcome was already recorded.
    pub fn take_outbox(&self, n: &Notification) -> Result<bool, StoreError> {
        self.tx.remove(OUTBOX, &outbox_key(n))
    }

    pub fn rate(&self, method: &str) -> Result<MethodState, StoreError> {
        Ok(self.tx.get(RATE, method)?.unwrap_or_default())
    }

    pub fn put_rate(&self, method: &str, s: &MethodState) -> Result<(), StoreError> {
        self.tx.put(RATE, method, s)
    }

    pub fn put_outbox_channel(&self, method: &str, n: &Notification) -> Result<(), StoreError> {
        self.tx.put(RATE_CHANNEL, method, n)
    }

    pub fn outbox_channel(&self, method: &str) -> Result<Option<Notification>, StoreError> {
        self.tx.get(RATE_CHANNEL, method)
    }

    /// The key that signs links, made on first use and kept in the database.
    pub fn link_key(&self) -> Result<Vec<u8>, StoreError> {
        if let Some(k) = self.tx.get::<String>(META, "link_key")? {
            return hex::decode(k).map_err(|e| err("decode link key")(e.to_string()));
        }
        let key: Vec<u8> = (0..2)
            .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
            .collect();
        self.tx.put(META, "link_key", &hex::encode(&key))?;
        Ok(key)
    }
}

fn outbox_key(n: &Notification) -> String {
    format!("{}@{}", n.key, n.attempt)
}

fn page_number(id: &str) -> u64 {
    id.rsplit_once("-p")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

impl<'a> OncallTx<'a> {
    /// The engagement and incident tables in this same (write) transaction.
    pub fn engage(&self) -> Result<EngageTx<'_>, StoreError> {
        Ok(EngageTx {
            tx: OncallTx {
                inner: Inner::Write(self.writer()?),
            },
        })
    }
}

impl Store {
    /// Runs `f` in one write transaction; commits (durably) only when it returns `Ok`.
    pub fn engage_write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&EngageTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.oncall_write(|tx| {
            let view = EngageTx {
                tx: OncallTx {
                    inner: Inner::Write(tx.writer()?),
                },
            };
            f(&view)
        })
    }

    /// Runs `f` over a consistent read-only view.
    pub fn engage_read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&EngageTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        f(&EngageTx {
            tx: OncallTx {
                inner: Inner::Read(tx),
            },
        })
    }

    /// Timers due before `before`, earliest first, at most `limit` (the scheduler's window).
    pub fn timers_due(&self, before: Timestamp, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = match tx.open_table(TIMERS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(err("open timers")(e.to_string())),
        };
        let mut out = Vec::new();
        for row in table
            .range((0u64, "")..(ms(before), ""))
            .map_err(|e| err("scan timers")(e.to_string()))?
        {
            let (k, v) = row.map_err(|e| err("scan timers")(e.to_string()))?;
            let (due, id) = k.value();
            let kind: TimerKind = serde_json::from_slice(v.value())
                .map_err(|e| err("decode timer")(e.to_string()))?;
            out.push(Timer {
                due: Timestamp::from_millisecond(due as i64).unwrap_or(Timestamp::UNIX_EPOCH),
                id: id.to_owned(),
                kind,
            });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// How many timers are pending.
    pub fn timer_count(&self) -> Result<u64, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        match tx.open_table(TIMER_IDS) {
            Ok(t) => t.len().map_err(|e| err("count timers")(e.to_string())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(err("open timers")(e.to_string())),
        }
    }

    /// Every notification committed but not answered (re-sent after a restart).
    pub fn outbox(&self) -> Result<Vec<Notification>, StoreError> {
        self.engage_read(|tx| {
            Ok::<_, StoreError>(
                tx.tx
                    .scan::<Notification>(OUTBOX, "")?
                    .into_iter()
                    .map(|(_, n)| n)
                    .collect(),
            )
        })
    }
}
