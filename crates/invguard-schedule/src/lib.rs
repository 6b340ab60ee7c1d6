//! Cron and interval schedules with Vixie cron semantics, in any IANA time zone.
//!
//! [`Schedule::parse`] reads the crontab(5) syntax that Vixie cron and cronie accept: five
//! fields (`minute hour day-of-month month day-of-week`) with lists, ranges, steps, month and
//! day names, `0` and `7` for Sunday, and the macros `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight` and `@hourly`. Two extensions exist: a 6-field form with
//! a leading seconds field, for tests and fine-grained jobs, and `@every DURATION` (for
//! example `@every 5m`), an interval schedule that follows real elapsed time.
//!
//! [`Schedule::next_after`] and [`Schedule::upcoming`] take the current time as a parameter,
//! so callers (and tests) control the clock.
//!
//! # Example
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use invguard_schedule::Schedule;
//!
//! let schedule = Schedule::parse("0 2 * * *", chrono_tz::Europe::Berlin)?;
//! assert_eq!(schedule.describe(), "at 02:00 every day (Europe/Berlin)");
//!
//! // On 2025-03-30 the clocks in Berlin jump from 02:00 to 03:00, so the job runs at 03:00.
//! let from: DateTime<Utc> = "2025-03-29T12:00:00Z".parse()?;
//! let runs: Vec<String> = schedule.upcoming(from).take(2).map(|t| t.to_rfc3339()).collect();
//! assert_eq!(runs, ["2025-03-30T01:00:00+00:00", "2025-03-31T00:00:00+00:00"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Vixie cron rules
//!
//! - **Day of month and day of week.** When either field starts with `*` (including a step
//!   such as `*/2`, which still restricts), a day must match both. Otherwise a day matching
//!   either field is enough: `30 4 1,15 * 5` runs on the 1st, the 15th and every Friday.
//! - **Fixed-time jobs** have no `*` at the start of their seconds, minute or hour field.
//!   A run whose local time falls into a spring-forward gap runs once at the end of the gap
//!   (02:30 becomes 03:00 that day). A run in a repeated fall-back hour runs once, at the
//!   first occurrence. Several slots that land on the same instant run once.
//! - **Other jobs** (hourly, every N minutes) follow real elapsed time: slots in a gap do not
//!   exist, and slots in a repeated hour run in both passes.
//!
//! Vixie cron gets these rules from its clock-jump handling, which skips the missed fixed-time
//! runs when the local clock jumps forward by more than three hours. This crate shifts them to
//! the end of the gap whatever its size; only time zones that skip a whole day (Pacific/Apia
//! on 2011-12-30) differ.
//!
//! # Design
//!
//! The crate parses each field into a set of values itself, keeping the "starts with `*`" flag
//! that the rules above need. The `cron` crate (0.17) then iterates the matching local
//! wall-clock times of a translated expression. The translation writes every field as an
//! explicit list and numbers weekdays the way `cron` does (1 = Sunday); when the day fields
//! are ORed, it builds two `cron` schedules, one per day field, and merges their slots,
//! because `cron` always ANDs them. No user expression reaches `cron` unchanged. This crate
//! maps each local slot to UTC instants with `chrono-tz` and applies the daylight saving rules
//! itself, since `cron` skips runs in a gap and repeats fixed-time runs in a repeated hour.
//!
//! Interval schedules run at the multiples of the interval since 1970-01-01T00:00:00Z.
//!
//! # Limits
//!
//! Run times end in 2100, the last year the `cron` crate iterates. Fall-back transitions
//! longer than three hours are not handled; since 1970 the tz database has one, in
//! Antarctica/Vostok in 1994.
//!
//! This crate starts no threads, reads no clock and does no I/O.
#![deny(missing_docs)]

mod describe;
mod dst;
mod error;
mod expr;
mod parse;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

pub use error::{CronField, ScheduleError};
use expr::CronExpr;

/// When a job runs: a cron expression in a time zone, or a fixed interval.
#[derive(Clone)]
pub struct Schedule {
    expression: String,
    timezone: Tz,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Cron(CronExpr),
    Interval(Duration),
}

impl Schedule {
    /// Parses a cron expression, a macro or `@every DURATION`, in the time zone `timezone`.
    ///
    /// # Errors
    ///
    /// Returns a [`ScheduleError`] that names the expression, the wrong field and what it
    /// accepts.
    pub fn parse(expression: &str, timezone: Tz) -> Result<Schedule, ScheduleError> {
        let trimmed = expression.trim();
        let every = trimmed.get(..6).filter(|prefix| prefix.eq_ignore_ascii_case("@every"));
        if every.is_some() {
            let value = trimmed[6..].trim();
            let interval = humantime::parse_duration(value)
                .map_err(|_| ScheduleError::Interval { value: value.to_owned() })?;
            return Schedule::every(interval, timezone)
                .map(|schedule| Schedule { expression: trimmed.to_owned(), ..schedule });
        }

        let cron = CronExpr::parse(expression)?;
        Ok(Schedule { expression: trimmed.to_owned(), timezone, kind: Kind::Cron(cron) })
    }

    /// Creates an interval schedule, which runs at every multiple of `interval` since the Unix
    /// epoch.
    /// The time zone only affects how run times are shown.
    ///
    /// # Errors
    ///
    /// Returns [`ScheduleError::Interval`] unless `interval` is a whole number of seconds,
    /// at least one.
    pub fn every(interval: Duration, timezone: Tz) -> Result<Schedule, ScheduleError> {
        if interval.as_secs() == 0 || interval.subsec_nanos() != 0 {
            let value = humantime::format_duration(interval).to_string();
            return Err(ScheduleError::Interval { value });
        }
        let expression = format!("@every {}", humantime::format_duration(interval));
        Ok(Schedule { expression, timezone, kind: Kind::Interval(interval) })
    }

    /// Returns the first run time strictly after `after`, or `None` after the year 2100.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(expr) => dst::next_run(expr, self.timezone, after),
            Kind::Interval(interval) => {
                let seconds = i64::try_from(interval.as_secs()).ok()?;
                let next = after.timestamp().div_euclid(seconds).checked_add(1)? * seconds;
                DateTime::from_timestamp(next, 0)
            }
        }
    }

    /// Returns the run times strictly after `from`, in increasing order.
    pub fn upcoming(&self, from: DateTime<Utc>) -> Upcoming<'_> {
        Upcoming { schedule: self, last: Some(from) }
    }

    /// Whether this is a cron schedule whose seconds, minute and hour fields all start with
    /// something other than `*`. Such jobs run once per local slot across daylight saving
    /// changes; other jobs follow real elapsed time.
    pub fn is_fixed_time(&self) -> bool {
        match &self.kind {
            Kind::Cron(expr) => expr.is_fixed_time(),
            Kind::Interval(_) => false,
        }
    }

    /// Returns the interval of an interval schedule.
    pub fn interval(&self) -> Option<Duration> {
        match self.kind {
            Kind::Interval(interval) => Some(interval),
            Kind::Cron(_) => None,
        }
    }

    /// Whether a cron schedule's fields match a local wall-clock time, seconds included.
    /// Always false for an interval schedule.
    pub fn matches_local(&self, local: NaiveDateTime) -> bool {
        match &self.kind {
            Kind::Cron(expr) => expr.matches(local),
            Kind::Interval(_) => false,
        }
    }

    /// Returns a sentence in English that says when the job runs, such as
    /// `at 02:00 every day (Europe/Berlin)`.
    pub fn describe(&self) -> String {
        let when = match &self.kind {
            Kind::Cron(expr) => describe::describe_cron(expr),
            Kind::Interval(interval) => {
                format!("every {}", humantime::format_duration(*interval))
            }
        };
        format!("{when} ({})", self.timezone.name())
    }

    /// Returns the expression as written, trimmed.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Returns the time zone of the schedule.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("expression", &self.expression)
            .field("timezone", &self.timezone.name())
            .finish()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

/// Iterator over the run times of a [`Schedule`], from [`Schedule::upcoming`].
#[derive(Debug)]
pub struct Upcoming<'a> {
    schedule: &'a Schedule,
    last: Option<DateTime<Utc>>,
}

impl Iterator for Upcoming<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        let next = self.schedule.next_after(self.last?);
        self.last = next;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn every_aligns_to_epoch_multiples() {
        let schedule = Schedule::every(Duration::from_secs(300), Tz::UTC).unwrap();
        let next = schedule.next_after(utc("2025-01-01T10:02:30.5Z"));
        assert_eq!(next, Some(utc("2025-01-01T10:05:00Z")));
        assert_eq!(
            schedule.next_after(utc("2025-01-01T10:05:00Z")),
            Some(utc("2025-01-01T10:10:00Z"))
        );
    }

    #[test]
    fn parse_every_macro() {
        let schedule = Schedule::parse("@every 5m", Tz::UTC).unwrap();
        assert_eq!(schedule.interval(), Some(Duration::from_secs(300)));
        assert_eq!(schedule.expression(), "@every 5m");
        assert!(Schedule::parse("@every 0s", Tz::UTC).is_err());
        assert!(Schedule::parse("@every 1500ms", Tz::UTC).is_err());
        assert!(Schedule::parse("@every soon", Tz::UTC).is_err());
    }

    #[test]
    fn next_after_skips_subsecond_part() {
        let schedule = Schedule::parse("* * * * * *", Tz::UTC).unwrap();
        let next = schedule.next_after(utc("2025-01-01T00:00:00.250Z"));
        assert_eq!(next, Some(utc("2025-01-01T00:00:01Z")));
    }

    #[test]
    fn next_after_none_after_2100() {
        let schedule = Schedule::parse("@yearly", Tz::UTC).unwrap();
        assert_eq!(schedule.next_after(utc("2100-06-01T00:00:00Z")), None);
    }
}
