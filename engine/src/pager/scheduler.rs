//! Durable timers, in memory only for the near future: the index holds the timers due before
//! `horizon` (at most `MAX_INDEXED`); the rest stay on disk until the horizon moves past them.
//! 100,000 pending timers therefore cost a B-tree on disk, not memory.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{MAX_SLEEP, Pager};
use crate::engage::Timer;

/// How far ahead the index looks.
const WINDOW: SignedDuration = SignedDuration::from_secs(60);
/// Most timers held in memory at once.
const MAX_INDEXED: usize = 10_000;
/// Timers fired per transaction (group commit when many are due together).
const BATCH: usize = 64;

#[derive(Default)]
pub struct TimerIndex {
    due: Mutex<BTreeSet<(u64, String)>>,
    /// Timers due before this instant (unix ms) are in `due`; later ones are only on disk.
    horizon: AtomicU64,
    wake: tokio::sync::Notify,
}

fn ms(t: Timestamp) -> u64 {
    t.as_millisecond().max(0) as u64
}

impl TimerIndex {
    /// A timer was committed: index it if it falls inside the window.
    pub fn offer(&self, t: &Timer) {
        let due = ms(t.due);
        if due < self.horizon.load(Ordering::Acquire) {
            let mut set = self.due.lock().expect("timer index poisoned");
            let earliest = set.first().map(|(d, _)| *d);
            set.insert((due, t.id.clone()));
            if earliest.is_none_or(|e| due < e) {
                self.wake.notify_one();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.due.lock().expect("timer index poisoned").len()
    }
}

pub fn spawn(pager: Pager) {
    let rt = pager.inner.rt.clone();
    rt.spawn(async move {
        loop {
            let p = pager.clone();
            let next = tokio::task::spawn_blocking(move || p.tick()).await;
            let sleep = match next {
                Ok(Ok(d)) => d,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "firing timers failed; retrying");
                    Duration::from_millis(200)
                }
                Err(e) => {
                    tracing::error!(error = %e, "timer task panicked; retrying");
                    Duration::from_millis(200)
                }
            };
            if sleep.is_zero() {
                continue;
            }
            let index = &pager.inner.timers;
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = index.wake.notified() => {}
            }
        }
    });
}

impl Pager {
    /// Refill the index when the window has moved, fire what is due; returns how long to sleep.
    fn tick(&self) -> Result<Duration, super::PagerError> {
        let index = &self.inner.timers;
        let now = Timestamp::now();
        let horizon = index.horizon.load(Ordering::Acquire);
        // Refill halfway through the window so the index never runs dry before the horizon.
        if ms(now) + (WINDOW.as_millis() as u64) / 2 >= horizon {
            let until = now.checked_add(WINDOW).unwrap_or(now);
            let loaded = self.inner.store.timers_due(until, MAX_INDEXED)?;
            let new_horizon = if loaded.len() >= MAX_INDEXED {
                // Just past the last loaded timer, so a millisecond holding more timers than the
                // index does still makes progress (the rest load at the next refill).
                loaded.last().map_or(ms(until), |t| ms(t.due) + 1)
            } else {
                ms(until)
            };
            let mut set = index.due.lock().expect("timer index poisoned");
            set.retain(|(d, _)| *d < new_horizon);
            for t in loaded {
                if ms(t.due) < new_horizon {
                    set.insert((ms(t.due), t.id));
                }
            }
            index.horizon.store(new_horizon, Ordering::Release);
        }
        let due: Vec<String> = {
            let mut set = index.due.lock().expect("timer index poisoned");
            let mut out = Vec::new();
            while out.len() < BATCH {
                match set.first() {
                    Some((d, _)) if *d <= ms(now) => {
                        out.push(set.pop_first().expect("first exists").1);
                    }
                    _ => break,
                }
            }
            out
        };
        if !due.is_empty() {
            self.fire_batch(&due)?;
            return Ok(Duration::ZERO);
        }
        let set = index.due.lock().expect("timer index poisoned");
        let next = set.first().map(|(d, _)| *d);
        let until_next = next.map_or(MAX_SLEEP, |d| {
            Duration::from_millis(d.saturating_sub(ms(now)))
        });
        Ok(until_next.min(MAX_SLEEP))
    }
}

/// Recent timer lateness (fire time minus due time), for metrics and the bench.
static LATENESS: Mutex<Vec<SignedDuration>> = Mutex::new(Vec::new());

pub(crate) fn record_lateness(d: SignedDuration) {
    crate::metrics::timer_lateness(d.as_secs_f64());
    let mut v = LATENESS.lock().expect("lateness poisoned");
    if v.len() >= 100_000 {
        v.drain(..50_000);
    }
    v.push(d);
}

/// The recorded lateness samples (and clears them).
pub fn take_lateness() -> Vec<SignedDuration> {
    std::mem::take(&mut *LATENESS.lock().expect("lateness poisoned"))
}
