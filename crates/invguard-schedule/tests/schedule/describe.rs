//! Descriptions of schedules, as `backup_cron schedule` users read them.

use chrono_tz::Tz;
use invguard_schedule::Schedule;

#[test]
fn describe_common_expressions() {
    let expressions = [
        "0 2 * * *",
        "0 3 * * 0",
        "0 4 1 * *",
        "30 4 1,15 * 5",
        "0 0 */2 * 3",
        "*/15 * * * *",
        "0 * * * *",
        "0 9-17 * * mon-fri",
        "0,30 8,20 * * *",
        "0 0 1 jan,jul *",
        "*/10 * * * * *",
        "50 * * * * *",
        "0,30 * * * * *",
        "30 */5 * * * *",
        "*/10 0 * * * *",
        "30 0 2 * * *",
        "0 0 2 * * *",
        "@weekly",
        "@every 5m",
    ];
    let mut report = String::new();
    for expression in expressions {
        let schedule = Schedule::parse(expression, chrono_tz::Europe::Berlin).unwrap();
        report.push_str(&format!("{expression:<20} {}\n", schedule.describe()));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn describe_names_the_time_zone() {
    let schedule = Schedule::parse("0 2 * * *", Tz::America__New_York).unwrap();
    assert_eq!(schedule.describe(), "at 02:00 every day (America/New_York)");
}
