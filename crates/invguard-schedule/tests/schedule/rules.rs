//! Field rules of crontab(5): day-of-month with day-of-week, Sunday, short months, macros.

use chrono_tz::Tz;
use invguard_schedule::Schedule;

use crate::support::{runs, utc};

#[test]
fn next_after_days_ored_without_star() {
    // 2025-05-01 is a Thursday: the 1st, the 15th and every Friday match.
    let actual = runs("30 4 1,15 * 5", Tz::UTC, "2025-04-30T12:00:00Z", 5);
    let expected = [
        "2025-05-01T04:30:00+00:00",
        "2025-05-02T04:30:00+00:00",
        "2025-05-09T04:30:00+00:00",
        "2025-05-15T04:30:00+00:00",
        "2025-05-16T04:30:00+00:00",
    ];
    assert_eq!(actual, expected);
}

#[test]
fn next_after_days_anded_with_star_step() {
    // Wednesdays that are odd days of the month.
    let actual = runs("0 0 */2 * 3", Tz::UTC, "2024-12-31T00:00:00Z", 5);
    let expected = [
        "2025-01-01T00:00:00+00:00",
        "2025-01-15T00:00:00+00:00",
        "2025-01-29T00:00:00+00:00",
        "2025-02-05T00:00:00+00:00",
        "2025-02-19T00:00:00+00:00",
    ];
    assert_eq!(actual, expected);
}

#[test]
fn next_after_days_ored_with_full_range() {
    // 1-31 does not start with `*`, so it is ORed with Monday and matches every day.
    let actual = runs("0 0 1-31 * 1", Tz::UTC, "2025-06-01T12:00:00Z", 2);
    assert_eq!(actual, ["2025-06-02T00:00:00+00:00", "2025-06-03T00:00:00+00:00"]);
}

#[test]
fn next_after_sunday_as_zero_seven_and_name() {
    let expected = ["2025-06-01T02:00:00+00:00", "2025-06-08T02:00:00+00:00"];
    for expression in ["0 2 * * 0", "0 2 * * 7", "0 2 * * sun", "0 2 * * SUN"] {
        assert_eq!(runs(expression, Tz::UTC, "2025-05-27T00:00:00Z", 2), expected, "{expression}");
    }
}

#[test]
fn next_after_weekday_range_through_seven() {
    // 5-7 is Friday to Sunday; 2025-06-06 is a Friday.
    let actual = runs("0 12 * * 5-7", Tz::UTC, "2025-06-05T00:00:00Z", 4);
    let expected = [
        "2025-06-06T12:00:00+00:00",
        "2025-06-07T12:00:00+00:00",
        "2025-06-08T12:00:00+00:00",
        "2025-06-13T12:00:00+00:00",
    ];
    assert_eq!(actual, expected);
}

#[test]
fn next_after_february_29() {
    let actual = runs("0 0 29 2 *", Tz::UTC, "2025-01-01T00:00:00Z", 2);
    assert_eq!(actual, ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]);
}

#[test]
fn next_after_day_31_skips_short_months() {
    let actual = runs("0 0 31 * *", Tz::UTC, "2025-01-01T00:00:00Z", 7);
    let expected = [
        "2025-01-31T00:00:00+00:00",
        "2025-03-31T00:00:00+00:00",
        "2025-05-31T00:00:00+00:00",
        "2025-07-31T00:00:00+00:00",
        "2025-08-31T00:00:00+00:00",
        "2025-10-31T00:00:00+00:00",
        "2025-12-31T00:00:00+00:00",
    ];
    assert_eq!(actual, expected);
}

#[test]
fn parse_macros_match_their_expansions() {
    let from = "2025-06-03T10:30:00Z";
    for (name, expansion) in [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ] {
        assert_eq!(runs(name, Tz::UTC, from, 3), runs(expansion, Tz::UTC, from, 3), "{name}");
    }
}

#[test]
fn parse_month_names_and_steps() {
    let actual = runs("0 6 1 jan-dec/3 *", Tz::UTC, "2025-01-02T00:00:00Z", 3);
    let expected =
        ["2025-04-01T06:00:00+00:00", "2025-07-01T06:00:00+00:00", "2025-10-01T06:00:00+00:00"];
    assert_eq!(actual, expected);
}

#[test]
fn is_fixed_time_by_first_characters() {
    let fixed = |expression| Schedule::parse(expression, Tz::UTC).unwrap().is_fixed_time();
    assert!(fixed("0 2 * * *"));
    assert!(fixed("@daily"));
    assert!(!fixed("@hourly"));
    assert!(!fixed("*/15 * * * *"));
    assert!(!fixed("0 */6 * * *"));
    assert!(!fixed("* 2 * * *"));
    let interval = Schedule::parse("@every 10m", Tz::UTC).unwrap();
    assert!(!interval.is_fixed_time());
}

#[test]
fn upcoming_interval_follows_elapsed_time() {
    // Ten-minute intervals ignore the Berlin fall-back: six runs per real hour.
    let schedule = Schedule::parse("@every 10m", chrono_tz::Europe::Berlin).unwrap();
    let runs: Vec<_> = schedule.upcoming(utc("2025-10-26T00:55:00Z")).take(3).collect();
    assert_eq!(
        runs,
        [utc("2025-10-26T01:00:00Z"), utc("2025-10-26T01:10:00Z"), utc("2025-10-26T01:20:00Z")]
    );
}
