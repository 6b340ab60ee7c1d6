//! Syntax check of cron expressions, so a typo in a schedule fails at load time.
//!
//! The check covers the fields, names, ranges and steps of Vixie cron; the schedule crate
//! computes the run times.

/// One field of a cron expression: its name, its range and the names it accepts.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    first_name_value: u32,
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[], first_name_value: 0 },
    Field { name: "hour", min: 0, max: 23, names: &[], first_name_value: 0 },
    Field { name: "day of month", min: 1, max: 31, names: &[], first_name_value: 0 },
    Field { name: "month", min: 1, max: 12, names: &MONTHS, first_name_value: 1 },
    // Both 0 and 7 are Sunday.
    Field { name: "day of week", min: 0, max: 7, names: &DAYS, first_name_value: 0 },
];

/// The optional leading field of the 6-field form, for tests and fine-grained jobs.
const SECONDS: Field = Field { name: "second", min: 0, max: 59, names: &[], first_name_value: 0 };

/// The macros of crontab(5) that have run times.
const MACROS: [&str; 7] =
    ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/// Checks a cron expression of five fields, six with a leading seconds field, or a macro;
/// the error names the invalid part.
pub(crate) fn check(expression: &str) -> Result<(), String> {
    let trimmed = expression.trim();
    if trimmed.starts_with('@') {
        if MACROS.iter().any(|name| name.eq_ignore_ascii_case(trimmed)) {
            return Ok(());
        }
        return Err(format!("{trimmed:?} is not one of the macros {}", MACROS.join(", ")));
    }

    let mut parts: Vec<&str> = trimmed.split_whitespace().collect();
    if parts.len() == FIELDS.len() + 1 {
        for item in parts.remove(0).split(',') {
            check_item(item, &SECONDS)?;
        }
    }
    if parts.len() != FIELDS.len() {
        return Err(format!("it has {} fields", parts.len()));
    }

    for (text, field) in parts.iter().zip(&FIELDS) {
        for item in text.split(',') {
            check_item(item, field)?;
        }
    }
    Ok(())
}

/// Checks one comma-separated item: `*`, `N`, `N-M`, each with an optional `/STEP`.
fn check_item(item: &str, field: &Field) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };

    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(step) if step > 0 => {}
            _ => return Err(format!("{} step {step:?} is not a positive number", field.name)),
        }
    }
    if range == "*" {
        return Ok(());
    }

    let (start, end) = match range.split_once('-') {
        Some((start, end)) => (value(start, field)?, value(end, field)?),
        None => {
            let single = value(range, field)?;
            (single, single)
        }
    };
    if start > end {
        return Err(format!("{} range {range:?} runs backwards", field.name));
    }
    Ok(())
}

/// Parses a number or a name of a field and checks its range.
fn value(text: &str, field: &Field) -> Result<u32, String> {
    let by_name = field.names.iter().position(|name| name.eq_ignore_ascii_case(text));
    if let Some(index) = by_name {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        return Ok(field.first_name_value + index);
    }

    let Ok(number) = text.parse::<u32>() else {
        return Err(format!("{} {text:?} is not a number", field.name));
    };
    if number < field.min || number > field.max {
        return Err(format!("{} {number} is out of range {}-{}", field.name, field.min, field.max));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_accepts_valid_expressions() {
        for expression in [
            "0 2 * * *",
            "0 3 * * 0",
            "0 4 1 * *",
            "*/15 * * * *",
            "0 9-17/2 * * mon-fri",
            "30 1 1,15 jan,JUL 7",
            "*/5 * * * * *",
            "@daily",
            "@HOURLY",
        ] {
            assert_eq!(check(expression), Ok(()), "{expression}");
        }
    }

    #[test]
    fn check_rejects_invalid_expressions() {
        let cases = [
            ("0 2 * *", "it has 4 fields"),
            ("0 24 * * *", "hour 24 is out of range 0-23"),
            ("0 2 0 * *", "day of month 0 is out of range 1-31"),
            ("*/0 * * * *", "minute step \"0\" is not a positive number"),
            ("0 2 * foo *", "month \"foo\" is not a number"),
            ("0 5-2 * * *", "hour range \"5-2\" runs backwards"),
            ("0 2 * * 8", "day of week 8 is out of range 0-7"),
            ("0 2 ,1 * *", "day of month \"\" is not a number"),
            ("60 0 2 * * *", "second 60 is out of range 0-59"),
            ("0 0 0 2 * * *", "it has 7 fields"),
        ];
        for (expression, reason) in cases {
            assert_eq!(check(expression), Err(reason.to_owned()), "{expression}");
        }
    }
}
