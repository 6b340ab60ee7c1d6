//! Calendar periods (hour, day, ISO week, month, year) that the bucket rules count.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

/// A calendar period of a bucket rule such as `keep_daily`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// One hour, day, ISO week, month or year in the configured time zone, ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Bucket {
    year: i32,
    month_or_week: u32,
    day: u32,
    hour: u32,
}

impl Period {
    /// Returns the bucket of `time`, read as a local time in `timezone`.
    ///
    /// When a daylight saving time change repeats a local hour, both UTC hours fall into the
    /// one local hour bucket.
    pub(crate) fn bucket(self, time: DateTime<Utc>, timezone: Tz) -> Bucket {
        let local = time.with_timezone(&timezone);
        let date = local.date_naive();

        match self {
            Period::Hour => Bucket::new(date.year(), date.month(), date.day(), local.hour()),
            Period::Day => Bucket::new(date.year(), date.month(), date.day(), 0),
            Period::Week => {
                let week = date.iso_week();
                Bucket::new(week.year(), week.week(), 0, 0)
            }
            Period::Month => Bucket::new(date.year(), date.month(), 0, 0),
            Period::Year => Bucket::new(date.year(), 0, 0, 0),
        }
    }

    /// Formats `bucket` the way people write that period: `2026-12-04 02h`, `2026-12-04`,
    /// `2026-W49`, `2026-12`, `2026`.
    pub(crate) fn label(self, bucket: Bucket) -> String {
        let Bucket { year, month_or_week, day, hour } = bucket;
        match self {
            Period::Hour => format!("{year:04}-{month_or_week:02}-{day:02} {hour:02}h"),
            Period::Day => format!("{year:04}-{month_or_week:02}-{day:02}"),
            Period::Week => format!("{year:04}-W{month_or_week:02}"),
            Period::Month => format!("{year:04}-{month_or_week:02}"),
            Period::Year => format!("{year:04}"),
        }
    }
}

impl Bucket {
    fn new(year: i32, month_or_week: u32, day: u32, hour: u32) -> Self {
        Bucket { year, month_or_week, day, hour }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn bucket_uses_local_date_not_utc_date() {
        let time = utc("2026-03-01T23:30:00Z");

        let berlin = Period::Day.label(Period::Day.bucket(time, chrono_tz::Europe::Berlin));
        let new_york = Period::Day.label(Period::Day.bucket(time, chrono_tz::America::New_York));

        assert_eq!(berlin, "2026-03-02");
        assert_eq!(new_york, "2026-03-01");
    }

    #[test]
    fn bucket_merges_repeated_hour_at_dst_end() {
        // Berlin leaves summer time on 2026-10-25: 02:00-03:00 local happens twice.
        let first = Period::Hour.bucket(utc("2026-10-25T00:30:00Z"), chrono_tz::Europe::Berlin);
        let second = Period::Hour.bucket(utc("2026-10-25T01:30:00Z"), chrono_tz::Europe::Berlin);

        assert_eq!(first, second);
        assert_eq!(Period::Hour.label(first), "2026-10-25 02h");
    }

    #[test]
    fn bucket_week_uses_iso_week_year() {
        // 2027-01-01 is a Friday, so it belongs to ISO week 53 of 2026.
        let bucket = Period::Week.bucket(utc("2027-01-01T12:00:00Z"), chrono_tz::UTC);

        assert_eq!(Period::Week.label(bucket), "2026-W53");
    }
}
