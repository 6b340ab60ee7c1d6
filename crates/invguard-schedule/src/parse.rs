//! Parsing of crontab(5) fields into sets of values, with the Vixie cron rules.

use crate::error::{CronField, ScheduleError};

const MONTH_NAMES: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// The values one field matches, and whether it was written starting with `*`.
///
/// Vixie cron keeps that flag beside the values because it changes two rules: the
/// day-of-month/day-of-week combination and the daylight saving handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSet {
    bits: u64,
    starts_with_star: bool,
}

impl FieldSet {
    /// A set of one value, as the implicit seconds field of a 5-field expression.
    pub(crate) fn single(value: u32) -> Self {
        FieldSet { bits: 1 << value, starts_with_star: false }
    }

    pub(crate) fn contains(self, value: u32) -> bool {
        value < 64 && self.bits & (1 << value) != 0
    }

    pub(crate) fn starts_with_star(self) -> bool {
        self.starts_with_star
    }

    /// The values in increasing order.
    pub(crate) fn values(self) -> Vec<u32> {
        (0..64).filter(|&v| self.contains(v)).collect()
    }

    /// Whether the set contains every value of `field`.
    pub(crate) fn is_full(self, field: CronField) -> bool {
        let (low, high) = bounds(field);
        let high = if field == CronField::DayOfWeek { 6 } else { high };
        (low..=high).all(|v| self.contains(v))
    }
}

/// The smallest and largest value a field accepts.
pub(crate) fn bounds(field: CronField) -> (u32, u32) {
    match field {
        CronField::Second | CronField::Minute => (0, 59),
        CronField::Hour => (0, 23),
        CronField::DayOfMonth => (1, 31),
        CronField::Month => (1, 12),
        CronField::DayOfWeek => (0, 7),
    }
}

/// Parses one field: a comma-separated list of `*`, `N`, `N-M`, `*/S` and `N-M/S`.
///
/// In the day-of-week field 7 is folded into 0, so both mean Sunday.
pub(crate) fn parse_field(
    expression: &str,
    field: CronField,
    text: &str,
) -> Result<FieldSet, ScheduleError> {
    let mut bits = 0u64;
    for element in text.split(',') {
        bits |= parse_element(expression, field, element)?;
    }

    if field == CronField::DayOfWeek && bits & (1 << 7) != 0 {
        bits = (bits & !(1 << 7)) | 1;
    }

    Ok(FieldSet { bits, starts_with_star: text.starts_with('*') })
}

fn parse_element(expression: &str, field: CronField, element: &str) -> Result<u64, ScheduleError> {
    let error = |value: &str, expected: String| ScheduleError::Field {
        expression: expression.to_owned(),
        field,
        value: value.to_owned(),
        expected,
    };
    if element.is_empty() {
        return Err(error(element, "a value between the commas".to_owned()));
    }

    let (range_text, step_text) = match element.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (element, None),
    };
    let (low, high) = if range_text == "*" {
        bounds(field)
    } else if let Some((start, end)) = range_text.split_once('-') {
        let start = parse_value(expression, field, start)?;
        let end = parse_value(expression, field, end)?;
        if start > end {
            let expected = "a range from low to high such as 1-5 (ranges do not wrap around)";
            return Err(error(range_text, expected.to_owned()));
        }
        (start, end)
    } else {
        let value = parse_value(expression, field, range_text)?;
        if step_text.is_some() {
            let (_, max) = bounds(field);
            let expected = format!("`*` or a range before the step, such as {value}-{max}/S");
            return Err(error(element, expected));
        }
        (value, value)
    };

    let step = match step_text {
        Some(text) => parse_step(text, field).ok_or_else(|| {
            let (low, high) = bounds(field);
            error(element, format!("a step from 1 to {} after `/`", high - low))
        })?,
        None => 1,
    };
    Ok((low..=high).step_by(step as usize).fold(0, |bits, v| bits | 1 << v))
}

fn parse_step(text: &str, field: CronField) -> Option<u32> {
    let (low, high) = bounds(field);
    let step: u32 = parse_digits(text)?;
    (1..=high - low).contains(&step).then_some(step)
}

/// Parses one number or name, checked against the field's bounds.
fn parse_value(expression: &str, field: CronField, text: &str) -> Result<u32, ScheduleError> {
    let names: &[&str] = match field {
        CronField::Month => &MONTH_NAMES,
        CronField::DayOfWeek => &DAY_NAMES,
        _ => &[],
    };
    let (low, high) = bounds(field);

    let by_name = names.iter().position(|name| name.eq_ignore_ascii_case(text));
    let value = match by_name {
        // Month names count from 1, day names from 0 (Sunday).
        Some(index) if field == CronField::Month => Some(index as u32 + 1),
        Some(index) => Some(index as u32),
        None => parse_digits(text),
    };
    match value {
        Some(value) if (low..=high).contains(&value) => Ok(value),
        _ => Err(ScheduleError::Field {
            expression: expression.to_owned(),
            field,
            value: text.to_owned(),
            expected: expected_value(field),
        }),
    }
}

fn expected_value(field: CronField) -> String {
    let (low, high) = bounds(field);
    match field {
        CronField::Month => format!("a number from {low} to {high} or a month name (jan to dec)"),
        CronField::DayOfWeek => {
            format!("a number from {low} to {high} (0 and 7 are Sunday) or a day name (sun to sat)")
        }
        _ => format!("a number from {low} to {high}"),
    }
}

fn parse_digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(field: CronField, text: &str) -> Vec<u32> {
        parse_field("test", field, text).unwrap().values()
    }

    #[test]
    fn parse_field_lists_ranges_and_steps() {
        assert_eq!(parse(CronField::Minute, "0,15-17,*/20"), vec![0, 15, 16, 17, 20, 40]);
        assert_eq!(parse(CronField::Hour, "8-18/4"), vec![8, 12, 16]);
        assert_eq!(parse(CronField::DayOfMonth, "*/10"), vec![1, 11, 21, 31]);
    }

    #[test]
    fn parse_field_names_case_insensitive() {
        assert_eq!(parse(CronField::Month, "JAN,Jul-aug"), vec![1, 7, 8]);
        assert_eq!(parse(CronField::DayOfWeek, "mon-FRI"), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn parse_field_sunday_as_zero_and_seven() {
        assert_eq!(parse(CronField::DayOfWeek, "7"), vec![0]);
        assert_eq!(parse(CronField::DayOfWeek, "0"), vec![0]);
        assert_eq!(parse(CronField::DayOfWeek, "5-7"), vec![0, 5, 6]);
        assert_eq!(parse(CronField::DayOfWeek, "*/2"), vec![0, 2, 4, 6]);
    }

    #[test]
    fn parse_field_star_flag() {
        assert!(parse_field("t", CronField::DayOfMonth, "*/2").unwrap().starts_with_star());
        assert!(!parse_field("t", CronField::DayOfMonth, "1-31").unwrap().starts_with_star());
    }

    #[test]
    fn parse_field_rejects_wrong_values() {
        for (field, text) in [
            (CronField::Minute, "60"),
            (CronField::Minute, "-1"),
            (CronField::Minute, "1,,2"),
            (CronField::Minute, "5/15"),
            (CronField::Minute, "*/0"),
            (CronField::Hour, "5-1"),
            (CronField::DayOfMonth, "0"),
            (CronField::Month, "13"),
            (CronField::Month, "mon"),
            (CronField::DayOfWeek, "8"),
            (CronField::DayOfWeek, "monday"),
            (CronField::DayOfWeek, "*/mon"),
        ] {
            assert!(parse_field("t", field, text).is_err(), "{field} {text:?} was accepted");
        }
    }
}
