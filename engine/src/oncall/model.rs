//! The on-call data types, mirroring the `ssm-contacts` shapes (Contact, ContactChannel, Plan/Stage,
//! Rotation, RecurrenceSettings, RotationShift, RotationOverride) in camelCase serde.
//!
//! Wire decision: these types are the native/YAML form. Member names are the AWS member names in
//! lowerCamelCase (`timeZoneId`, `recurrenceMultiplier`, `shiftCoverages`, ...), contacts are
//! referenced by alias instead of ARN, instants are RFC 3339 strings and hand-off times are
//! `"HH:MM"` strings. The AWS adapter maps PascalCase/ARNs/epoch seconds onto these mechanically.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Free-form key/value tags (AWS `Tags`, as a map).
pub type Tags = BTreeMap<String, String>;

/// AWS `ContactType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContactType {
    Personal,
    Escalation,
    OncallSchedule,
}

/// A responder (PERSONAL), an escalation plan (ESCALATION) or an on-call schedule (ONCALL_SCHEDULE).
/// Only PERSONAL contacts carry channels and an engagement plan; the other kinds carry their
/// content elsewhere (escalation plans: next issue; schedules: [`OnCallSchedule`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    /// Unique, `^[a-z0-9_-]+$`, 1–255 characters.
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub contact_type: ContactType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ContactChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_plan: Option<EngagementPlan>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

impl Contact {
    /// The display name, or the alias when there is none.
    pub fn name(&self) -> &str {
        match &self.display_name {
            Some(n) if !n.trim().is_empty() => n,
            _ => &self.alias,
        }
    }

    pub fn channel(&self, name: &str) -> Option<&ContactChannel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// AWS `ChannelType` plus channel types declared by plugins (e.g. `"slack-dm"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelType {
    Email,
    Sms,
    Voice,
    /// A type declared by a plugin; serialized as its own name.
    Plugin(String),
}

impl ChannelType {
    pub fn as_str(&self) -> &str {
        match self {
            ChannelType::Email => "EMAIL",
            ChannelType::Sms => "SMS",
            ChannelType::Voice => "VOICE",
            ChannelType::Plugin(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "EMAIL" => ChannelType::Email,
            "SMS" => ChannelType::Sms,
            "VOICE" => ChannelType::Voice,
            other => ChannelType::Plugin(other.to_owned()),
        }
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ChannelType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChannelType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ChannelType::parse(&s))
    }
}

/// AWS `ActivationStatus`. A channel is engaged only when ACTIVATED.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivationStatus {
    Activated,
    #[default]
    NotActivated,
}

/// One way to reach a PERSONAL contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactChannel {
    /// Unique within the contact; referenced by the engagement plan.
    pub name: String,
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    /// EMAIL: an address; SMS/VOICE: E.164 (`+` then 8–14 digits); plugin types: opaque text.
    pub delivery_address: String,
    /// Defaults to NOT_ACTIVATED: an operator may create a channel ACTIVATED explicitly.
    #[serde(default)]
    pub activation_status: ActivationStatus,
    /// The plugin instance that delivers to this channel (action `notify` with
    /// `{message, recipient}`). Absent: the `console` instance for EMAIL/SMS/VOICE, and the
    /// instance named like the type for a plugin-declared type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

impl ContactChannel {
    /// The plugin instance that delivers to this channel (see [`ContactChannel::plugin`]).
    pub fn plugin_instance(&self) -> &str {
        match (&self.plugin, &self.channel_type) {
            (Some(p), _) => p,
            (None, ChannelType::Plugin(t)) => t,
            (None, _) => "console",
        }
    }
}

/// The engagement plan of a PERSONAL contact: which channel to engage how long after the
/// engagement starts (the seed's "minutes from the start of the engagement").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngagementPlan {
    pub stages: Vec<EngagementStage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngagementStage {
    /// Name of one of the contact's channels.
    pub channel: String,
    /// 0..=1440.
    #[serde(default)]
    pub minutes_after_start: u32,
    /// Beyond AWS: a finer offset (0..=86400 s) instead of `minutesAfterStart`, for tight
    /// escalations and for tests that run on a real clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_start: Option<u32>,
}

impl EngagementStage {
    /// When this channel is engaged, in seconds after the page starts.
    pub fn offset_seconds(&self) -> u32 {
        self.seconds_after_start
            .unwrap_or(self.minutes_after_start.saturating_mul(60))
    }
}

/// AWS `DayOfWeek`, Monday first (ISO order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DayOfWeek {
    #[serde(rename = "MON")]
    Mon,
    #[serde(rename = "TUE")]
    Tue,
    #[serde(rename = "WED")]
    Wed,
    #[serde(rename = "THU")]
    Thu,
    #[serde(rename = "FRI")]
    Fri,
    #[serde(rename = "SAT")]
    Sat,
    #[serde(rename = "SUN")]
    Sun,
}

impl DayOfWeek {
    pub const ALL: [DayOfWeek; 7] = [
        DayOfWeek::Mon,
        DayOfWeek::Tue,
        DayOfWeek::Wed,
        DayOfWeek::Thu,
        DayOfWeek::Fri,
        DayOfWeek::Sat,
        DayOfWeek::Sun,
    ];

    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"][self.index()]
    }

    pub fn from_jiff(w: jiff::civil::Weekday) -> Self {
        Self::ALL[usize::from(w.to_monday_zero_offset().unsigned_abs())]
    }
}

/// AWS `HandOffTime`: a wall-clock time of day in the rotation's zone. Serialized as `"HH:MM"`;
/// also accepts the AWS object form `{hourOfDay, minuteOfHour}` (or PascalCase) when reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandOffTime {
    pub hour_of_day: u8,
    pub minute_of_hour: u8,
}

impl HandOffTime {
    pub const fn new(hour_of_day: u8, minute_of_hour: u8) -> Self {
        Self {
            hour_of_day,
            minute_of_hour,
        }
    }

    /// Minutes after midnight (valid only for an in-range time).
    pub fn minutes(self) -> u32 {
        u32::from(self.hour_of_day) * 60 + u32::from(self.minute_of_hour)
    }

    pub fn is_valid(self) -> bool {
        self.hour_of_day <= 23 && self.minute_of_hour <= 59
    }

    /// Parses `HH:MM` (two digits each).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 5
            || b[2] != b':'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return None;
        }
        let h = (b[0] - b'0') * 10 + (b[1] - b'0');
        let m = (b[3] - b'0') * 10 + (b[4] - b'0');
        let t = Self::new(h, m);
        t.is_valid().then_some(t)
    }
}

impl fmt::Display for HandOffTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour_of_day, self.minute_of_hour)
    }
}

impl Serialize for HandOffTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HandOffTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Obj {
            #[serde(alias = "HourOfDay", rename = "hourOfDay")]
            hour_of_day: u8,
            #[serde(alias = "MinuteOfHour", rename = "minuteOfHour")]
            minute_of_hour: u8,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Obj(Obj),
        }
        match Repr::deserialize(d)? {
            Repr::Text(s) => HandOffTime::parse(&s).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "hand-off time {s:?} is not HH:MM with HH 00-23 and MM 00-59"
                ))
            }),
            Repr::Obj(o) => Ok(HandOffTime::new(o.hour_of_day, o.minute_of_hour)),
        }
    }
}

/// AWS `WeeklySetting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeeklySetting {
    pub day_of_week: DayOfWeek,
    pub hand_off_time: HandOffTime,
}

/// AWS `MonthlySetting`. A day past the end of a month means that month's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonthlySetting {
    pub day_of_month: u8,
    pub hand_off_time: HandOffTime,
}

/// AWS `CoverageTime`: a window of a covered day. `end` ≤ `start` ends on the next day;
/// `end == start` is 24-hour coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoverageTime {
    pub start: HandOffTime,
    pub end: HandOffTime,
}

impl CoverageTime {
    /// Wall-clock length in minutes (1..=1440).
    pub fn wall_minutes(self) -> u32 {
        let (s, e) = (self.start.minutes(), self.end.minutes());
        if e > s { e - s } else { e + 1440 - s }
    }
}

/// AWS `RecurrenceSettings`. Exactly one of the three settings lists is non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecurrenceSettings {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily_settings: Vec<HandOffTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekly_settings: Vec<WeeklySetting>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monthly_settings: Vec<MonthlySetting>,
    /// Contacts on call at once (1..=number of contacts).
    pub number_of_on_calls: u32,
    /// Hand-off points per shift (1..=100): "a shift lasts N days/weeks/months".
    pub recurrence_multiplier: u32,
    /// Absent: covered around the clock. Present: only the listed days and windows are covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_coverages: Option<BTreeMap<DayOfWeek, Vec<CoverageTime>>>,
}

/// A rotation (AWS `Rotation`), with contacts referenced by alias, in shift order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rotation {
    pub name: String,
    pub contacts: Vec<String>,
    pub start_time: Timestamp,
    pub time_zone_id: String,
    pub recurrence: RecurrenceSettings,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// An on-call schedule: an ONCALL_SCHEDULE contact with up to 8 rotations. Who is on call is the
/// union of its rotations (concurrent rotations add people; consecutive ones follow the sun).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnCallSchedule {
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub rotations: Vec<Rotation>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// AWS `RotationOverride`: between two absolute instants, `newContacts` replace whoever the
/// rotation has on call. When overrides overlap, the most recently created one wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationOverride {
    pub id: String,
    /// Name of the rotation it belongs to.
    pub rotation: String,
    pub new_contacts: Vec<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub create_time: Timestamp,
}

/// AWS `PreviewOverride`: an override of an unsaved rotation. Later entries win over earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewOverride {
    pub new_members: Vec<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
}

/// AWS `ShiftType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShiftType {
    Regular,
    Overridden,
}

/// AWS `RotationShift` (+ the rotation's name, for schedule-wide lists). Shifts are clipped to
/// the queried window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationShift {
    pub rotation: String,
    pub contacts: Vec<String>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    #[serde(rename = "type")]
    pub shift_type: ShiftType,
    /// AWS `ShiftDetails.OverriddenContactIds`: who the override replaced (OVERRIDDEN only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden_contacts: Vec<String>,
}
