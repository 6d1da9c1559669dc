//! A bot's business hours: when a human can take over.
//!
//! Hours are weekly slots in one fixed UTC offset (`+02:00`). A fixed offset rather than a time
//! zone keeps this free of a time-zone database; an operator in a zone with daylight saving
//! changes the offset twice a year (noted in the README).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, UtcOffset, Weekday};
use utoipa::ToSchema;

use crate::validate::ValidationError;

/// Opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// The offset the times are in, such as `+02:00` or `-05:00`.
    pub utc_offset: String,
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

const DAYS: [(&str, Weekday); 7] = [
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

struct Slot {
    day: Weekday,
    open: Time,
    close: Time,
}

impl BusinessHours {
    /// Checks the offset, days and times.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let field = "settings.business_hours";
        parse_offset(&self.utc_offset).ok_or_else(|| {
            ValidationError::new(
                format!("{field}.utc_offset"),
                format!("`{}` is not an offset such as +02:00", self.utc_offset),
            )
        })?;
        self.parsed()?;
        Ok(())
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
                    ValidationError::new(field, format!("`{}` is not a time such as 09:00", s.open))
                })?;
                let close = parse_time(&s.close).ok_or_else(|| {
                    ValidationError::new(
                        field,
                        format!("`{}` is not a time such as 18:00", s.close),
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

    fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(parse_offset(&self.utc_offset).unwrap_or(UtcOffset::UTC))
    }

    /// Whether a human is around at `at`.
    pub fn is_open(&self, at: OffsetDateTime) -> bool {
        let local = self.local(at);
        self.parsed()
            .unwrap_or_default()
            .iter()
            .any(|s| s.day == local.weekday() && local.time() >= s.open && local.time() < s.close)
    }

    /// The next opening after `at`, in the hours' offset (`None` when there are no slots).
    pub fn next_opening(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = self.local(at);
        let slots = self.parsed().ok()?;
        (0..8)
            .flat_map(|d| {
                let date = local.date() + Duration::days(d);
                slots
                    .iter()
                    .filter(move |s| s.day == date.weekday())
                    .map(move |s| date.with_time(s.open).assume_offset(local.offset()))
            })
            .filter(|t| *t > local)
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
            utc_offset: "+02:00".into(),
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
        hours.utc_offset = "CET".into();
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
}
