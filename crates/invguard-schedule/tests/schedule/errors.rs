//! Messages of invalid expressions, as an operator reads them.

use chrono_tz::Tz;
use invguard_schedule::{CronField, Schedule, ScheduleError};

#[test]
fn parse_invalid_expressions_messages() {
    let expressions = [
        "",
        "0 2 * *",
        "0 0 2 * * * *",
        "60 2 * * *",
        "0 24 * * *",
        "0 2 0 * *",
        "0 2 * 13 *",
        "0 2 * * 8",
        "0 2 * * monday",
        "0 2 * foo *",
        "5/15 * * * *",
        "*/0 * * * *",
        "0 5-1 * * *",
        "0,,30 2 * * *",
        "0 2 30 2 *",
        "0 2 31 4,6,9,11 *",
        "60 0 2 * * *",
        "@reboot",
        "@fortnightly",
        "@every 0s",
        "@every later",
    ];
    let mut report = String::new();
    for expression in expressions {
        let error = Schedule::parse(expression, Tz::UTC).expect_err(expression);
        report.push_str(&format!("{expression:?}\n  {error}\n"));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn parse_invalid_field_names_the_field() {
    let error = Schedule::parse("0 2 * * 9", Tz::UTC).unwrap_err();
    let ScheduleError::Field { field, value, .. } = error else {
        panic!("expected a field error, got {error:?}");
    };
    assert_eq!(field, CronField::DayOfWeek);
    assert_eq!(value, "9");
}
