//! The error type of schedule parsing.

use std::fmt;

/// A field of a cron expression, named as in crontab(5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    /// The optional leading seconds field of the 6-field form (0-59).
    Second,
    /// Minute (0-59).
    Minute,
    /// Hour (0-23).
    Hour,
    /// Day of the month (1-31).
    DayOfMonth,
    /// Month (1-12 or `jan`-`dec`).
    Month,
    /// Day of the week (0-7, where 0 and 7 are Sunday, or `sun`-`sat`).
    DayOfWeek,
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        };
        f.write_str(name)
    }
}

/// A schedule that could not be parsed.
///
/// Every message names the expression as written, the part that is wrong and the expected form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The expression has neither 5 nor 6 fields.
    #[error(
        "invalid cron expression {expression:?}: found {found} fields, expected 5 \
         (minute hour day-of-month month day-of-week), 6 with a leading seconds field, \
         or a macro such as @daily"
    )]
    FieldCount {
        /// The expression as written.
        expression: String,
        /// The number of fields found.
        found: usize,
    },

    /// One field has a wrong value.
    #[error("invalid cron expression {expression:?}: {field} field {value:?}: expected {expected}")]
    Field {
        /// The expression as written.
        expression: String,
        /// The field that is wrong.
        field: CronField,
        /// The wrong part of the field.
        value: String,
        /// What the field accepts at that place.
        expected: String,
    },

    /// The expression starts with `@` but names no known macro.
    #[error(
        "invalid cron expression {expression:?}: unknown macro {name:?}, expected one of \
         @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every DURATION"
    )]
    UnknownMacro {
        /// The expression as written.
        expression: String,
        /// The macro as written.
        name: String,
    },

    /// `@reboot`, which has no run times.
    #[error(
        "invalid cron expression {expression:?}: @reboot has no run times, expected a time \
         schedule such as @daily or 0 2 * * *"
    )]
    Reboot {
        /// The expression as written.
        expression: String,
    },

    /// The day-of-month and month fields never meet, as in `0 0 30 2 *`.
    #[error(
        "invalid cron expression {expression:?}: no date matches it, expected a day-of-month \
         that occurs in one of the months (February has at most 29 days)"
    )]
    NeverMatches {
        /// The expression as written.
        expression: String,
    },

    /// An interval that is not a positive whole number of seconds.
    #[error(
        "invalid interval {value:?}: expected a duration of at least 1 second, such as 300s or 5m"
    )]
    Interval {
        /// The interval as written.
        value: String,
    },

    /// The `cron` crate rejected the translated expression; this is a bug in this crate.
    #[error(
        "cron expression {expression:?} was translated to {translated:?}, \
         which the cron crate rejected"
    )]
    Translate {
        /// The expression as written.
        expression: String,
        /// The expression passed to the `cron` crate.
        translated: String,
        /// The `cron` crate's error.
        #[source]
        source: cron::error::Error,
    },
}
