//! Generated backup histories shared by the retention tests.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use invguard_backup::retention::{Candidate, VerifyState};

/// Formats a backup file name the way the backup pipeline names them.
pub fn backup_name(created_utc: DateTime<Utc>) -> String {
    format!("inventory-{}.db.zst.gpg", created_utc.format("%Y%m%dT%H%M%SZ"))
}

fn candidate(created_utc: DateTime<Utc>, verification: VerifyState) -> Candidate {
    Candidate { name: backup_name(created_utc), created_utc, verification, legacy: false }
}

/// Two years (2025 and 2026) of daily backups at `utc_hour:30` UTC, chosen close to local
/// midnight so that daylight saving time moves backups across local dates.
///
/// - gaps: days 40-44, 200-202 and 500-509 have no backup;
/// - failures: every 11th day fails verification, every 17th has no verification result;
/// - the last six days all failed;
/// - extra backups every 20 minutes around each DST change of 2026 in `dst_changes_utc`
///   exercise the hourly buckets.
pub fn two_years(utc_hour: u32, dst_changes_utc: &[DateTime<Utc>]) -> Vec<Candidate> {
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let days = 730;
    let mut history = Vec::new();

    for day in 0..days {
        let gap = (40..45).contains(&day) || (200..203).contains(&day) || (500..510).contains(&day);
        if gap {
            continue;
        }
        let date = first + Duration::days(day);
        let created = Utc.from_utc_datetime(&date.and_hms_opt(utc_hour, 30, 0).unwrap());
        let verification = if day >= days - 6 || day % 11 == 0 {
            VerifyState::Failed
        } else if day % 17 == 0 {
            VerifyState::Unverified
        } else {
            VerifyState::Passed
        };
        history.push(candidate(created, verification));
    }

    for &change in dst_changes_utc {
        for step in -6..6 {
            let created = change + Duration::minutes(20 * step + 5);
            history.push(candidate(created, VerifyState::Passed));
        }
    }
    history
}

/// The DST changes of 2026 in Europe/Berlin (01:00 UTC on 29 March and 25 October).
pub fn berlin_dst_changes() -> Vec<DateTime<Utc>> {
    vec![utc("2026-03-29T01:00:00Z"), utc("2026-10-25T01:00:00Z")]
}

/// The DST changes of 2026 in America/New_York (07:00 UTC on 8 March, 06:00 UTC on
/// 1 November).
pub fn new_york_dst_changes() -> Vec<DateTime<Utc>> {
    vec![utc("2026-03-08T07:00:00Z"), utc("2026-11-01T06:00:00Z")]
}

/// Parses an RFC 3339 UTC time.
pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}
