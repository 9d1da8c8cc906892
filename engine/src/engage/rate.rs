//! Paging-storm protection: at most `max` notifications per contact method (channel type +
//! address) in any window of `per`; what would exceed it is held back and sent as one summary
//! when the window allows. Nothing is dropped silently: every hold is a SUPPRESSED receipt.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Notifications allowed per window (≥ 1).
    pub max: u32,
    /// The window, in minutes (1–1440).
    pub per_minutes: u32,
}

impl RateLimit {
    pub fn window(&self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.per_minutes))
    }
}

/// One page held back, to be listed in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    pub page_id: String,
    pub subject: String,
    pub accept_code: String,
    pub at: Timestamp,
}

/// What is remembered per contact method: recent sends and held pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodState {
    pub sent: Vec<Timestamp>,
    pub held: Vec<Held>,
    /// Summaries sent so far (names the summary's idempotency key).
    #[serde(default)]
    pub summaries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Send,
    /// Held back; the summary goes out at `flush_at` (a timer must exist for it).
    Hold {
        flush_at: Timestamp,
        new_timer: bool,
    },
}

impl MethodState {
    fn forget_before(&mut self, now: Timestamp, limit: &RateLimit) {
        let since = now.checked_sub(limit.window()).unwrap_or(now);
        self.sent.retain(|t| *t > since);
    }

    /// When the window next has room (the oldest send leaves it).
    fn room_at(&self, limit: &RateLimit) -> Option<Timestamp> {
        let oldest = self.sent.first()?;
        oldest.checked_add(limit.window()).ok()
    }

    /// Decide for one notification at `now`; records the send when admitted.
    pub fn admit(&mut self, now: Timestamp, limit: &RateLimit, held: Held) -> Admission {
        self.forget_before(now, limit);
        // Once pages are held, later ones join the summary rather than overtake it.
        if self.held.is_empty() && (self.sent.len() as u32) < limit.max {
            self.sent.push(now);
            return Admission::Send;
        }
        let new_timer = self.held.is_empty();
        self.held.push(held);
        Admission::Hold {
            flush_at: self.room_at(limit).unwrap_or(now),
            new_timer,
        }
    }

    /// The summary's time has come: take the held pages (if the window has room) and count
    /// the summary as one send. `Err(at)`: still no room, try again at `at`.
    pub fn flush(&mut self, now: Timestamp, limit: &RateLimit) -> Result<Vec<Held>, Timestamp> {
        self.forget_before(now, limit);
        if self.held.is_empty() {
            return Ok(Vec::new());
        }
        if (self.sent.len() as u32) >= limit.max {
            return Err(self.room_at(limit).unwrap_or(now));
        }
        self.sent.push(now);
        self.summaries += 1;
        Ok(std::mem::take(&mut self.held))
    }
}

/// The text of a summary of held pages.
pub fn summary_text(held: &[Held]) -> (String, String) {
    let subject = format!("{} pages held back by the paging rate limit", held.len());
    let mut body = String::from(
        "These pages were held back so this channel is not flooded. Reply with a code to acknowledge one:\n",
    );
    for h in held.iter().take(20) {
        body.push_str(&format!("- {} (code {})\n", h.subject, h.accept_code));
    }
    if held.len() > 20 {
        body.push_str(&format!("…and {} more\n", held.len() - 20));
    }
    (subject, body)
}
