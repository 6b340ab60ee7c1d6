//! English descriptions of cron expressions, such as `at 02:00 every day`.

use crate::error::CronField;
use crate::expr::CronExpr;
use crate::parse::{FieldSet, bounds};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const EVERY_DAY: &str = "every day";

/// The largest number of run times in a day listed one by one, as in `at 02:00 and 14:00`.
const MAX_LISTED_TIMES: usize = 4;

/// Describes when a cron expression runs, without the time zone.
pub(crate) fn describe_cron(expr: &CronExpr) -> String {
    let (mut text, listed) = describe_time(expr);
    let days = describe_days(expr);
    // "every 15 minutes" needs no "every day"; "at 02:00" does.
    if listed || days != EVERY_DAY {
        text.push(' ');
        text.push_str(&days);
    }
    if !expr.months.is_full(CronField::Month) {
        let names =
            expr.months.values().iter().map(|&m| MONTHS[m as usize - 1].to_owned()).collect();
        text.push_str(" in ");
        text.push_str(&join_words(names));
    }
    text
}

/// Describes the time of day, and whether it did so by listing the times.
fn describe_time(expr: &CronExpr) -> (String, bool) {
    let count =
        expr.seconds.values().len() * expr.minutes.values().len() * expr.hours.values().len();
    if count <= MAX_LISTED_TIMES {
        return (format!("at {}", join_words(list_times(expr))), true);
    }

    let mut parts = Vec::new();
    // Whether the last part lists minutes, as in `at minute 0`, which needs `of every hour`.
    let lists_minutes;
    if has_second_field(expr) {
        // The seconds come first, then the minutes they fall in.
        let seconds = describe_unit(expr.seconds, CronField::Second, "second");
        let minutes_full = expr.minutes.is_full(CronField::Minute);
        lists_minutes = !minutes_full && full_step(expr.minutes, CronField::Minute).is_none();
        if !minutes_full {
            let minutes = describe_numbers(expr.minutes, CronField::Minute, "minute");
            parts.push(format!("{seconds} of {minutes}"));
        } else if seconds.starts_with("at ") {
            parts.push(format!("{seconds} of every minute"));
        } else {
            parts.push(seconds);
        }
    } else {
        let minutes = describe_unit(expr.minutes, CronField::Minute, "minute");
        lists_minutes = minutes.starts_with("at ");
        parts.push(minutes);
    }

    if !expr.hours.is_full(CronField::Hour) {
        parts.push(format!("past {}", describe_numbers(expr.hours, CronField::Hour, "hour")));
    } else if lists_minutes {
        parts.push("of every hour".to_owned());
    }
    (parts.join(" "), false)
}

/// Whether the seconds field contains more than `0`: a 6-field expression whose leading field is
/// `0` runs at the same times as its 5-field form and is described as one.
fn has_second_field(expr: &CronExpr) -> bool {
    expr.has_seconds && expr.seconds.values() != [0]
}

fn list_times(expr: &CronExpr) -> Vec<String> {
    let with_seconds = has_second_field(expr);
    let mut times = Vec::new();
    for hour in expr.hours.values() {
        for minute in expr.minutes.values() {
            for second in expr.seconds.values() {
                times.push(if with_seconds {
                    format!("{hour:02}:{minute:02}:{second:02}")
                } else {
                    format!("{hour:02}:{minute:02}")
                });
            }
        }
    }
    times
}

/// Describes the seconds or minute field: `every minute`, `every 15 minutes` or
/// `at minute 0 and 30`.
fn describe_unit(set: FieldSet, field: CronField, unit: &str) -> String {
    if set.is_full(field) {
        return format!("every {unit}");
    }
    if let Some(step) = full_step(set, field) {
        return format!("every {step} {unit}s");
    }
    format!("at {}", describe_numbers(set, field, unit))
}

/// Describes a set of numbers as `hour 9-17` or `hours 1, 3 and 5`.
fn describe_numbers(set: FieldSet, field: CronField, unit: &str) -> String {
    let values = set.values();
    if let Some(step) = full_step(set, field) {
        return format!("every {}{unit}", ordinal_step(step));
    }
    let plural = if values.len() > 1 { "s" } else { "" };
    format!("{unit}{plural} {}", join_words(ranges(&values)))
}

fn describe_days(expr: &CronExpr) -> String {
    let all_days_of_month = expr.days_of_month.is_full(CronField::DayOfMonth);
    let all_weekdays = expr.days_of_week.is_full(CronField::DayOfWeek);
    let days_of_month = describe_days_of_month(expr.days_of_month);
    let weekdays = describe_weekdays(expr.days_of_week);

    match (all_days_of_month, all_weekdays, expr.days_are_anded()) {
        (true, true, _) => EVERY_DAY.to_owned(),
        (true, false, true) => format!("on {weekdays}"),
        (false, true, true) => format!("on {days_of_month}"),
        (_, _, true) => format!("on {days_of_month} if it is a {weekdays}"),
        (_, _, false) => format!("on {days_of_month} or on {weekdays}"),
    }
}

fn describe_days_of_month(set: FieldSet) -> String {
    if let Some(step) = full_step(set, CronField::DayOfMonth) {
        return format!("every {}day of the month", ordinal_step(step));
    }
    let values = set.values();
    let plural = if values.len() > 1 { "s" } else { "" };
    format!("day{plural} {} of the month", join_words(ranges(&values)))
}

fn describe_weekdays(set: FieldSet) -> String {
    let values = set.values();
    let names = ranges(&values)
        .into_iter()
        .map(|range| match range.split_once('-') {
            Some((start, end)) => format!("{}-{}", weekday(start), weekday(end)),
            None => weekday(&range).to_owned(),
        })
        .collect();
    join_words(names)
}

fn weekday(number: &str) -> &'static str {
    number.parse::<usize>().ok().and_then(|n| WEEKDAYS.get(n)).copied().unwrap_or("?")
}

/// Returns the step of a set written as `*/step`: every step-th value from the field's start.
fn full_step(set: FieldSet, field: CronField) -> Option<u32> {
    let (low, high) = bounds(field);
    let values = set.values();
    let step = values.get(1)?.checked_sub(*values.first()?)?;
    let expected: Vec<u32> = (low..=high).step_by(step as usize).collect();
    (step > 1 && values == expected && values.len() > 2).then_some(step)
}

fn ordinal_step(step: u32) -> String {
    let suffix = match (step % 10, step % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{step}{suffix} ")
}

/// Groups consecutive values into ranges: `[1, 2, 3, 5]` becomes `["1-3", "5"]`.
fn ranges(values: &[u32]) -> Vec<String> {
    let mut groups: Vec<(u32, u32)> = Vec::new();
    for &value in values {
        match groups.last_mut() {
            Some((_, end)) if *end + 1 == value => *end = value,
            _ => groups.push((value, value)),
        }
    }
    groups
        .into_iter()
        .flat_map(|(start, end)| match end - start {
            0 => vec![start.to_string()],
            1 => vec![start.to_string(), end.to_string()],
            _ => vec![format!("{start}-{end}")],
        })
        .collect()
}

/// Joins words as English does: `a`, `a and b`, `a, b and c`.
fn join_words(words: Vec<String>) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(expression: &str) -> String {
        describe_cron(&CronExpr::parse(expression).unwrap())
    }

    #[test]
    fn describe_cron_six_fields() {
        let cases = [
            ("50 * * * * *", "at second 50 of every minute"),
            ("0,30 * * * * *", "at seconds 0 and 30 of every minute"),
            ("* * * * * *", "every second"),
            ("*/2 * * * * *", "every 2 seconds"),
            ("0 * * * * *", "every minute"),
            ("0 */5 * * * *", "every 5 minutes"),
            ("30 */5 * * * *", "at second 30 of every 5th minute"),
            ("*/10 0 * * * *", "every 10 seconds of minute 0 of every hour"),
            ("15 10,40 * * * *", "at second 15 of minutes 10 and 40 of every hour"),
            ("* 0 2 * * *", "every second of minute 0 past hour 2"),
            ("50 * 9-17 * * 1-5", "at second 50 of every minute past hours 9-17 on Monday-Friday"),
            ("0 0 2 * * *", "at 02:00 every day"),
            ("30 0 2 * * *", "at 02:00:30 every day"),
            ("0 0 * * * *", "at minute 0 of every hour"),
        ];
        for (expression, expected) in cases {
            assert_eq!(describe(expression), expected, "{expression}");
        }
    }

    #[test]
    fn describe_cron_five_fields_unchanged_by_seconds_rule() {
        assert_eq!(describe("0 * * * *"), "at minute 0 of every hour");
        assert_eq!(describe("*/15 * * * *"), "every 15 minutes");
        assert_eq!(describe("5 9-17 * * *"), "at minute 5 past hours 9-17");
    }

    #[test]
    fn ranges_groups_consecutive_values() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), ["1-3", "5", "7", "8"]);
    }

    #[test]
    fn join_words_english_lists() {
        assert_eq!(join_words(vec!["a".into()]), "a");
        assert_eq!(join_words(vec!["a".into(), "b".into()]), "a and b");
        assert_eq!(join_words(vec!["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
