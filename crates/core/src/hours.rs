//! A bot's business hours: when a human can take over.
//!
//! Hours are weekly slots in a time zone (`Europe/Paris`), so they follow its daylight saving, or
//! in one fixed UTC offset (`+02:00`) for hours that do not. The zone database is built into the
//! binary (`jiff`'s bundled copy), so hours read the same on a machine without tzdata.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};
use utoipa::ToSchema;

use crate::validate::ValidationError;

/// Opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// The time zone the times are in, an IANA name such as `Europe/Paris` or
    /// `America/New_York`; the hours follow its daylight saving. Give this or `utc_offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// A fixed offset the times are in, such as `+02:00` or `-05:00`, for hours that do not
    /// follow daylight saving. Give this or `time_zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
    /// Weekly opening slots.
    pub slots: Vec<OpeningSlot>,
}

/// One opening slot on a day of the week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningSlot {
    /// `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    pub day: String,
    /// `HH:MM`.
    pub open: String,
    /// `HH:MM`, after `open`.
    pub close: String,
}

/// The days of the week as slots name them, Monday first.
pub const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn parse_offset(value: &str) -> Option<UtcOffset> {
    let (sign, rest) = match value.as_bytes().first()? {
        b'+' => (1, &value[1..]),
        b'-' => (-1, &value[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

fn parse_time(value: &str) -> Option<Time> {
    let (h, m) = value.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

/// Every time zone name the built-in database knows, sorted (for a form's suggestions); listed
/// once per process.
pub fn time_zone_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        names.sort();
        names
    })
}

/// How local times map to instants.
enum Clock {
    Fixed(UtcOffset),
    Zone(jiff::tz::TimeZone),
}

impl Clock {
    /// The offset in force at an instant.
    fn offset_at(&self, at: OffsetDateTime) -> UtcOffset {
        match self {
            Clock::Fixed(offset) => *offset,
            Clock::Zone(zone) => jiff::Timestamp::from_second(at.unix_timestamp())
                .ok()
                .and_then(|t| UtcOffset::from_whole_seconds(zone.to_offset(t).seconds()).ok())
                .unwrap_or(UtcOffset::UTC),
        }
    }

    /// The instant a local time names. A time that a daylight-saving change skips is read in the
    /// offset before the change (02:30 on a spring-forward night is 03:30); a time it repeats is
    /// the first of the two.
    fn instant(&self, local: PrimitiveDateTime) -> OffsetDateTime {
        match self {
            Clock::Fixed(offset) => local.assume_offset(*offset),
            Clock::Zone(zone) => {
                let offset = jiff::civil::DateTime::new(
                    i16::try_from(local.year()).unwrap_or(1970),
                    i8::try_from(u8::from(local.month())).unwrap_or(1),
                    i8::try_from(local.day()).unwrap_or(1),
                    i8::try_from(local.hour()).unwrap_or(0),
                    i8::try_from(local.minute()).unwrap_or(0),
                    0,
                    0,
                )
                .ok()
                .and_then(|dt| zone.to_ambiguous_timestamp(dt).compatible().ok())
                .and_then(|t| UtcOffset::from_whole_seconds(zone.to_offset(t).seconds()).ok())
                .unwrap_or(UtcOffset::UTC);
                local.assume_offset(offset)
            }
        }
    }
}

struct Slot {
    day: Weekday,
    open: Time,
    close: Time,
}

impl BusinessHours {
    /// Checks the time zone or offset, the days and the times.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.clock()?;
        self.parsed()?;
        Ok(())
    }

    fn clock(&self) -> Result<Clock, ValidationError> {
        let field = "settings.business_hours";
        match (&self.time_zone, &self.utc_offset) {
            (Some(_), Some(_)) => Err(ValidationError::new(
                field,
                "give time_zone or utc_offset, not both",
            )),
            (None, None) => Err(ValidationError::new(
                field,
                "give the time_zone the hours are in, such as Europe/Paris \
                 (or a fixed utc_offset such as +02:00)",
            )),
            (Some(name), None) => jiff::tz::TimeZone::get(name).map(Clock::Zone).map_err(|_| {
                ValidationError::new(
                    format!("{field}.time_zone"),
                    format!(
                        "`{name}` is not a time zone; use an IANA name such as Europe/Paris \
                         or America/New_York"
                    ),
                )
            }),
            (None, Some(offset)) => parse_offset(offset).map(Clock::Fixed).ok_or_else(|| {
                ValidationError::new(
                    format!("{field}.utc_offset"),
                    format!("`{offset}` is not an offset such as +02:00"),
                )
            }),
        }
    }

    fn parsed(&self) -> Result<Vec<Slot>, ValidationError> {
        let field = "settings.business_hours.slots";
        self.slots
            .iter()
            .map(|s| {
                let day = DAYS
                    .iter()
                    .find(|(name, _)| *name == s.day)
                    .map(|(_, d)| *d)
                    .ok_or_else(|| {
                        ValidationError::new(
                            field,
                            format!(
                                "`{}` is not a day; use mon, tue, wed, thu, fri, sat or sun",
                                s.day
                            ),
                        )
                    })?;
                let open = parse_time(&s.open).ok_or_else(|| {
                    ValidationError::new(
                        field,
                        format!(
                            "{} opens at `{}`, which is not a time such as 09:00",
                            s.day, s.open
                        ),
                    )
                })?;
                let close = parse_time(&s.close).ok_or_else(|| {
                    ValidationError::new(
                        field,
                        format!(
                            "{} closes at `{}`, which is not a time such as 18:00",
                            s.day, s.close
                        ),
                    )
                })?;
                if close <= open {
                    return Err(ValidationError::new(
                        field,
                        format!(
                            "{} closes at {} before it opens at {}",
                            s.day, s.close, s.open
                        ),
                    ));
                }
                Ok(Slot { day, open, close })
            })
            .collect()
    }

    /// Whether a human is around at `at`.
    pub fn is_open(&self, at: OffsetDateTime) -> bool {
        let Ok(clock) = self.clock() else {
            return false;
        };
        let local = at.to_offset(clock.offset_at(at));
        self.parsed()
            .unwrap_or_default()
            .iter()
            .any(|s| s.day == local.weekday() && local.time() >= s.open && local.time() < s.close)
    }

    /// The next opening after `at`, in the offset in force then (`None` when there are no
    /// slots).
    pub fn next_opening(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let clock = self.clock().ok()?;
        let local = at.to_offset(clock.offset_at(at));
        let slots = self.parsed().ok()?;
        (0..8)
            .flat_map(|d| {
                let date = local.date() + Duration::days(d);
                slots
                    .iter()
                    .filter(move |s| s.day == date.weekday())
                    .map(move |s| date.with_time(s.open))
            })
            .map(|t| clock.instant(t))
            .filter(|t| *t > at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn weekdays() -> BusinessHours {
        let slots = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| OpeningSlot {
                day: (*d).into(),
                open: "09:00".into(),
                close: "18:00".into(),
            })
            .collect();
        BusinessHours {
            time_zone: None,
            utc_offset: Some("+02:00".into()),
            slots,
        }
    }

    #[test]
    fn open_hours_are_read_in_their_own_offset() {
        let hours = weekdays();
        // Wednesday 2026-11-18 07:30 UTC is 09:30 at +02:00.
        assert!(hours.is_open(datetime!(2026-11-18 07:30 UTC)));
        assert!(!hours.is_open(datetime!(2026-11-18 06:30 UTC)));
        assert!(!hours.is_open(datetime!(2026-11-21 10:00 UTC)), "Saturday");
    }

    #[test]
    fn the_next_opening_after_a_friday_evening_is_monday_morning() {
        let next = weekdays()
            .next_opening(datetime!(2026-11-20 17:00 UTC))
            .unwrap();
        assert_eq!(next, datetime!(2026-11-23 09:00 +02:00));
        assert_eq!(
            crate::texts::defaults("en").back_at(next),
            "on Monday at 09:00 (UTC+02:00)"
        );
    }

    #[test]
    fn bad_days_times_and_offsets_are_refused() {
        let mut hours = weekdays();
        hours.utc_offset = Some("CET".into());
        assert!(hours.validate().is_err());
        let mut hours = weekdays();
        hours.slots[0].day = "monday".into();
        assert!(hours.validate().unwrap_err().message.contains("not a day"));
        let mut hours = weekdays();
        hours.slots[0].close = "08:00".into();
        assert!(hours
            .validate()
            .unwrap_err()
            .message
            .contains("before it opens"));
    }

    fn paris_weekdays() -> BusinessHours {
        BusinessHours {
            time_zone: Some("Europe/Paris".into()),
            utc_offset: None,
            ..weekdays()
        }
    }

    #[test]
    fn hours_in_a_time_zone_follow_its_daylight_saving() {
        let hours = paris_weekdays();
        assert!(hours.validate().is_ok());
        // Summer (UTC+2): Wednesday 2026-07-15 07:30 UTC is 09:30 in Paris.
        assert!(hours.is_open(datetime!(2026-07-15 07:30 UTC)));
        assert!(!hours.is_open(datetime!(2026-07-15 06:30 UTC)));
        // Winter (UTC+1): Wednesday 2026-11-18 07:30 UTC is 08:30 in Paris, 08:30 UTC is 09:30.
        assert!(!hours.is_open(datetime!(2026-11-18 07:30 UTC)));
        assert!(hours.is_open(datetime!(2026-11-18 08:30 UTC)));
        // Friday 2026-10-23 evening, before the clocks go back on Sunday the 25th: Monday opens
        // at 09:00 in winter time.
        let next = hours.next_opening(datetime!(2026-10-23 17:00 UTC)).unwrap();
        assert_eq!(next, datetime!(2026-10-26 09:00 +01:00));
        assert_eq!(
            crate::texts::defaults("en").back_at(next),
            "on Monday at 09:00 (UTC+01:00)"
        );
    }

    #[test]
    fn a_zone_must_be_known_and_given_once() {
        let mut hours = paris_weekdays();
        hours.time_zone = Some("Europe/Pari".into());
        let e = hours.validate().unwrap_err();
        assert_eq!(e.field, "settings.business_hours.time_zone");
        assert!(e.message.contains("not a time zone"), "{}", e.message);
        hours.time_zone = Some("Europe/Paris".into());
        hours.utc_offset = Some("+01:00".into());
        assert!(hours.validate().unwrap_err().message.contains("not both"));
        hours.time_zone = None;
        hours.utc_offset = None;
        assert!(hours
            .validate()
            .unwrap_err()
            .message
            .contains("Europe/Paris"));
        assert!(time_zone_names().iter().any(|n| n == "America/New_York"));
    }
}
