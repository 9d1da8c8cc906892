//! The machine's view of the on-call world, read inside the engagement's own transaction.

use jiff::Timestamp;

use super::PagingPolicy;
use crate::engage::Directory;
use crate::oncall::{ChannelType, Contact, ContactChannel, EscalationPlan, schedule_on_call};
use crate::store::EngageTx;

pub struct TxDirectory<'a, 't> {
    tx: &'a EngageTx<'t>,
    policy: &'a PagingPolicy,
}

impl<'a, 't> TxDirectory<'a, 't> {
    pub fn new(tx: &'a EngageTx<'t>, policy: &'a PagingPolicy) -> Self {
        TxDirectory { tx, policy }
    }
}

impl Directory for TxDirectory<'_, '_> {
    fn contact(&self, alias: &str) -> Option<Contact> {
        self.tx.oncall().contact(alias).ok().flatten()
    }

    fn plan(&self, alias: &str) -> Option<EscalationPlan> {
        self.tx.oncall().plan(alias).ok().flatten()
    }

    fn is_schedule(&self, alias: &str) -> bool {
        matches!(self.tx.oncall().schedule(alias), Ok(Some(_)))
    }

    fn on_call(&self, schedule: &str, at: Timestamp) -> Result<Vec<String>, String> {
        let tx = self.tx.oncall();
        let s = tx
            .schedule(schedule)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no on-call schedule {schedule:?}"))?;
        let overrides = tx.overrides(schedule).map_err(|e| e.to_string())?;
        schedule_on_call(&s, &overrides, at)
            .map(|o| o.contacts)
            .map_err(|e| e.to_string())
    }

    fn route(&self, channel: &ContactChannel) -> String {
        if let Some(p) = &channel.plugin {
            return p.clone();
        }
        if let Some(instance) = self.policy.routes.get(channel.channel_type.as_str()) {
            return instance.clone();
        }
        match &channel.channel_type {
            ChannelType::Plugin(t) => t.clone(),
            _ => "console".into(),
        }
    }

    fn accept_code(&self) -> String {
        format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000)
    }
}
