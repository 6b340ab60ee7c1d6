//! A parsed cron expression: field sets, matching in local time, and the translation that the
//! `cron` crate iterates.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, Timelike, Utc};

use crate::error::{CronField, ScheduleError};
use crate::parse::{FieldSet, parse_field};

/// A cron expression with Vixie cron semantics, independent of any time zone.
#[derive(Debug, Clone)]
pub(crate) struct CronExpr {
    pub(crate) seconds: FieldSet,
    pub(crate) minutes: FieldSet,
    pub(crate) hours: FieldSet,
    pub(crate) days_of_month: FieldSet,
    pub(crate) months: FieldSet,
    pub(crate) days_of_week: FieldSet,
    /// Whether the expression had the leading seconds field.
    pub(crate) has_seconds: bool,
    /// The local slots as the `cron` crate iterates them: one schedule, or two whose union is
    /// the day-of-month OR day-of-week rule.
    slot_schedules: Vec<cron::Schedule>,
}

impl CronExpr {
    /// Parses a 5- or 6-field expression, or a macro other than `@every`.
    pub(crate) fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let trimmed = expression.trim();
        let fields_text = match trimmed.strip_prefix('@') {
            Some(name) => expand_macro(expression, name)?,
            None => trimmed,
        };
        let fields: Vec<&str> = fields_text.split_whitespace().collect();

        let (has_seconds, seconds, rest) = match fields.len() {
            5 => (false, FieldSet::single(0), &fields[..]),
            6 => (true, parse_field(expression, CronField::Second, fields[0])?, &fields[1..]),
            found => {
                return Err(ScheduleError::FieldCount { expression: expression.to_owned(), found });
            }
        };
        let mut expr = CronExpr {
            seconds,
            minutes: parse_field(expression, CronField::Minute, rest[0])?,
            hours: parse_field(expression, CronField::Hour, rest[1])?,
            days_of_month: parse_field(expression, CronField::DayOfMonth, rest[2])?,
            months: parse_field(expression, CronField::Month, rest[3])?,
            days_of_week: parse_field(expression, CronField::DayOfWeek, rest[4])?,
            has_seconds,
            slot_schedules: Vec::new(),
        };

        if !expr.matches_some_date() {
            return Err(ScheduleError::NeverMatches { expression: expression.to_owned() });
        }
        expr.slot_schedules = expr.translate(expression)?;
        Ok(expr)
    }

    /// Whether the job runs at fixed times of the day: no seconds, minute or hour field starts
    /// with `*`. Vixie cron treats such jobs specially when the clock jumps.
    pub(crate) fn is_fixed_time(&self) -> bool {
        !(self.seconds.starts_with_star()
            || self.minutes.starts_with_star()
            || self.hours.starts_with_star())
    }

    /// Whether the expression matches a local wall-clock time (seconds included).
    pub(crate) fn matches(&self, local: NaiveDateTime) -> bool {
        self.seconds.contains(local.second())
            && self.minutes.contains(local.minute())
            && self.hours.contains(local.hour())
            && self.date_matches(local.date())
    }

    /// Whether the month, day-of-month and day-of-week fields match a date.
    ///
    /// Vixie cron: when either day field starts with `*`, the day must match both fields;
    /// otherwise matching one of them is enough.
    pub(crate) fn date_matches(&self, date: NaiveDate) -> bool {
        let day_of_month = self.days_of_month.contains(date.day());
        let day_of_week = self.days_of_week.contains(date.weekday().num_days_from_sunday());
        let day = if self.days_are_anded() {
            day_of_month && day_of_week
        } else {
            day_of_month || day_of_week
        };
        day && self.months.contains(date.month())
    }

    pub(crate) fn days_are_anded(&self) -> bool {
        self.days_of_month.starts_with_star() || self.days_of_week.starts_with_star()
    }

    /// The matching local slots strictly after `start`, in increasing order.
    pub(crate) fn slots_after(&self, start: NaiveDateTime) -> SlotIter {
        let start = start.and_utc();
        let mut iterators: Vec<_> =
            self.slot_schedules.iter().map(|s| s.after_owned(start).peekable()).collect();
        iterators.shrink_to_fit();
        SlotIter { iterators }
    }

    /// Whether any date in a 28-year cycle, which holds every combination of leap year and
    /// weekday, matches the day and month fields.
    fn matches_some_date(&self) -> bool {
        let Some(start) = NaiveDate::from_ymd_opt(2000, 1, 1) else { return false };
        (0..28 * 366)
            .filter_map(|d| start.checked_add_days(Days::new(d)))
            .any(|date| self.date_matches(date))
    }

    /// Builds the `cron` crate schedules whose union is this expression's local slots.
    ///
    /// Every field is written out as an explicit list, so no crontab syntax reaches the `cron`
    /// crate unchanged: it numbers weekdays from 1 (Sunday) and always ANDs the two day fields.
    fn translate(&self, expression: &str) -> Result<Vec<cron::Schedule>, ScheduleError> {
        let time = format!(
            "{} {} {}",
            list(self.seconds, CronField::Second),
            list(self.minutes, CronField::Minute),
            list(self.hours, CronField::Hour)
        );
        let months = list(self.months, CronField::Month);
        let days_of_month = list(self.days_of_month, CronField::DayOfMonth);
        let days_of_week = cron_weekdays(self.days_of_week);

        let translated = if self.days_are_anded() {
            vec![format!("{time} {days_of_month} {months} {days_of_week}")]
        } else {
            vec![
                format!("{time} {days_of_month} {months} *"),
                format!("{time} * {months} {days_of_week}"),
            ]
        };
        translated
            .into_iter()
            .map(|text| {
                cron::Schedule::from_str(&text).map_err(|source| ScheduleError::Translate {
                    expression: expression.to_owned(),
                    translated: text,
                    source,
                })
            })
            .collect()
    }
}

/// Expands a macro to its five fields, as crontab(5) defines them.
fn expand_macro(expression: &str, name: &str) -> Result<&'static str, ScheduleError> {
    match name.to_ascii_lowercase().as_str() {
        "yearly" | "annually" => Ok("0 0 1 1 *"),
        "monthly" => Ok("0 0 1 * *"),
        "weekly" => Ok("0 0 * * 0"),
        "daily" | "midnight" => Ok("0 0 * * *"),
        "hourly" => Ok("0 * * * *"),
        "reboot" => Err(ScheduleError::Reboot { expression: expression.to_owned() }),
        _ => Err(ScheduleError::UnknownMacro {
            expression: expression.to_owned(),
            name: format!("@{name}"),
        }),
    }
}

fn list(set: FieldSet, field: CronField) -> String {
    if set.is_full(field) {
        return "*".to_owned();
    }
    join(set.values())
}

/// Day-of-week values in the `cron` crate's numbering: 1 = Sunday to 7 = Saturday.
fn cron_weekdays(set: FieldSet) -> String {
    if set.is_full(CronField::DayOfWeek) {
        return "*".to_owned();
    }
    join(set.values().into_iter().map(|day| day + 1).collect())
}

fn join(values: Vec<u32>) -> String {
    values.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Local slots of one or two `cron` schedules, merged in order without duplicates.
pub(crate) struct SlotIter {
    iterators: Vec<std::iter::Peekable<cron::OwnedScheduleIterator<Utc>>>,
}

impl Iterator for SlotIter {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        let next: DateTime<Utc> =
            self.iterators.iter_mut().filter_map(|it| it.peek().copied()).min()?;
        for iterator in &mut self.iterators {
            iterator.next_if_eq(&next);
        }
        Some(next.naive_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn translate_weekdays_and_or_rule() {
        let expr = CronExpr::parse("30 4 1,15 * 5").unwrap();
        let sources: Vec<_> = expr.slot_schedules.iter().map(|s| s.source().to_owned()).collect();
        assert_eq!(sources, ["0 30 4 1,15 * *", "0 30 4 * * 6"]);

        let expr = CronExpr::parse("0 2 * * 7").unwrap();
        assert_eq!(expr.slot_schedules[0].source(), "0 0 2 * * 1");
    }

    #[test]
    fn slots_after_merges_without_duplicates() {
        // The 1st of June 2025 is a Sunday, so both halves of the OR produce it.
        let expr = CronExpr::parse("0 0 1 * 0").unwrap();
        let slots: Vec<_> = expr.slots_after(local("2025-05-31 00:00:00")).take(3).collect();
        assert_eq!(
            slots,
            [
                local("2025-06-01 00:00:00"),
                local("2025-06-08 00:00:00"),
                local("2025-06-15 00:00:00")
            ]
        );
    }

    #[test]
    fn fixed_time_depends_on_star_fields() {
        assert!(CronExpr::parse("0 2 * * *").unwrap().is_fixed_time());
        assert!(CronExpr::parse("0,30 2-4 * * *").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("*/15 * * * *").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("0 */2 * * *").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("@hourly").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("*/5 0 2 * * *").unwrap().is_fixed_time());
    }
}
