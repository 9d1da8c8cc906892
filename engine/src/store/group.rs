//! Group commit: concurrent writers of engagement/incident state share one transaction and one
//! fsync. Writes are queued to one writer thread, which runs every queued closure in one write
//! transaction and commits once; while it commits, the next batch queues. If any closure fails,
//! that transaction is abandoned and each closure runs again alone (closures are `Fn`, so a
//! re-run is the same decision), so one bad request never undoes or fails another. Nothing is
//! answered before the commit that holds it. Async callers await the answer without occupying a
//! blocking thread; a dedicated thread instead of a leader lock means no convoy of waiting
//! threads handing a lock to each other.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use redb::Database;
use tokio::sync::oneshot;

use super::oncall::{Inner, OncallTx};
use super::{EngageTx, Store, StoreError, io};

/// A queued write: `run` may be called more than once (only the last run's writes are
/// committed); `finish` is called once with the commit outcome (`None` = on disk).
struct Entry {
    run: Box<dyn Fn(&EngageTx<'_>) -> bool + Send>,
    finish: Box<dyn FnOnce(Option<String>) + Send>,
}

/// Most closures in one transaction.
const MAX_BATCH: usize = 512;

/// The queue to the writer thread; dropping it ends the thread and waits for it.
pub(super) struct GroupCommit {
    queue: Option<mpsc::Sender<Entry>>,
    writer: Option<JoinHandle<()>>,
}

impl GroupCommit {
    pub(super) fn start(db: Arc<Database>) -> Result<GroupCommit, StoreError> {
        let (queue, rx) = mpsc::channel::<Entry>();
        let writer = std::thread::Builder::new()
            .name("tocsin-store-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(e) => batch.push(e),
                            Err(_) => break,
                        }
                    }
                    run_batch(&db, batch);
                }
            })
            .map_err(|e| io("start the store writer thread")(e.to_string()))?;
        Ok(GroupCommit {
            queue: Some(queue),
            writer: Some(writer),
        })
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Store {
    /// Like [`Store::engage_write`], but batched with concurrent callers into one transaction
    /// (one fsync for many). `f` runs on the writer thread, and may run twice. Blocks: call it
    /// from a blocking context (see [`Store::engage_write_grouped_async`]).
    pub fn engage_write_grouped<T, E>(
        &self,
        f: impl Fn(&EngageTx<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        answer(self.submit(f).blocking_recv())
    }

    /// [`Store::engage_write_grouped`] for async callers: awaits the commit.
    pub async fn engage_write_grouped_async<T, E>(
        &self,
        f: impl Fn(&EngageTx<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        answer(self.submit(f).await)
    }

    fn submit<T, E>(
        &self,
        f: impl Fn(&EngageTx<'_>) -> Result<T, E> + Send + 'static,
    ) -> oneshot::Receiver<Result<T, E>>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (send, recv) = oneshot::channel::<Result<T, E>>();
        let slot: Arc<Mutex<Option<Result<T, E>>>> = Arc::default();
        let out = slot.clone();
        let entry = Entry {
            run: Box::new(move |tx| {
                let r = f(tx);
                let ok = r.is_ok();
                *out.lock().expect("group slot poisoned") = Some(r);
                ok
            }),
            finish: Box::new(move |commit| {
                let r = slot.lock().expect("group slot poisoned").take();
                let r = match (r, commit) {
                    (Some(Ok(v)), None) => Ok(v),
                    (Some(Ok(_)), Some(e)) => Err(E::from(io("group commit")(e))),
                    (Some(Err(e)), _) => Err(e),
                    (None, _) => Err(E::from(io("group commit")(
                        "the write closure panicked; nothing of it was written".into(),
                    ))),
                };
                let _ = send.send(r);
            }),
        };
        if let Some(q) = &self.group.queue {
            // A send fails only when the writer is gone; the receiver then reports it.
            let _ = q.send(entry);
        }
        recv
    }
}

fn answer<T, E: From<StoreError>>(
    r: Result<Result<T, E>, oneshot::error::RecvError>,
) -> Result<T, E> {
    r.unwrap_or_else(|_| {
        Err(E::from(io("group commit")(
            "the store writer thread is gone; the write did not run".into(),
        )))
    })
}

/// Runs entries in one transaction: `Ok(outcome)` when all succeeded (committed or not),
/// `Err(())` when one failed (the transaction was abandoned).
fn try_together(db: &Database, entries: &[Entry]) -> Result<Option<String>, ()> {
    let tx = match db.begin_write() {
        Ok(tx) => tx,
        Err(e) => return Ok(Some(e.to_string())),
    };
    for e in entries {
        let view = EngageTx {
            tx: OncallTx {
                inner: Inner::Write(&tx),
            },
        };
        let ok = catch_unwind(AssertUnwindSafe(|| (e.run)(&view))).unwrap_or(false);
        if !ok {
            let _ = tx.abort();
            return Err(());
        }
    }
    Ok(tx.commit().err().map(|e| e.to_string()))
}

fn run_batch(db: &Database, batch: Vec<Entry>) {
    match try_together(db, &batch) {
        Ok(outcome) => {
            for e in batch {
                (e.finish)(outcome.clone());
            }
        }
        Err(()) => {
            // Someone failed: everyone runs alone, so each gets its own outcome.
            for e in batch {
                let outcome = try_together(db, std::slice::from_ref(&e)).unwrap_or(None);
                (e.finish)(outcome);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engage::TimelineEntry;
    use crate::store::{Store, StoreError};

    #[test]
    fn concurrent_writers_share_commits_and_a_failed_one_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.redb")).unwrap());
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store.engage_write_grouped(move |tx| {
                        let e = TimelineEntry::auto(
                            "inc",
                            jiff::Timestamp::UNIX_EPOCH,
                            &format!("event {i}"),
                            serde_json::json!(i),
                        );
                        tx.add_timeline(&e)?;
                        if i % 8 == 7 {
                            // Written, then refused: must leave no trace.
                            return Err(StoreError::Io {
                                op: "test",
                                message: format!("refuse {i}"),
                            });
                        }
                        Ok(i)
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let errors: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        let events = store.engage_read(|tx| tx.timeline("inc")).unwrap();
        assert_eq!(events.len(), 28);
        assert!(
            events
                .iter()
                .all(|e| e.event_data.as_u64().unwrap() % 8 != 7)
        );
        drop(store);
        // And it is on disk.
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        assert_eq!(
            store.engage_read(|tx| tx.timeline("inc")).unwrap().len(),
            28
        );
    }
}
