//! Helpers shared by the schedule tests.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use invguard_schedule::Schedule;

/// Parses a UTC time written in RFC 3339.
pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"))
}

/// Returns the first `count` run times after `from` as local RFC 3339 times.
pub fn runs(expression: &str, zone: Tz, from: &str, count: usize) -> Vec<String> {
    let schedule = Schedule::parse(expression, zone)
        .unwrap_or_else(|e| panic!("cannot parse {expression:?}: {e}"));
    schedule.upcoming(utc(from)).take(count).map(|t| t.with_timezone(&zone).to_rfc3339()).collect()
}
