//! The report of one monitoring run: JSON in the shape of the original `monitor.py`, a text
//! table for people, and Nagios plugin lines.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use crate::{CheckResult, Level, Metric};

/// The results of one run of the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// When the run started.
    pub timestamp: DateTime<Utc>,
    /// One result per check, in report order.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// Returns the worst level of all checks (`OK` when there are none).
    pub fn level(&self) -> Level {
        self.checks.iter().map(|check| check.level).max().unwrap_or(Level::Ok)
    }

    /// `healthy` when every check is OK, `unhealthy` otherwise (the original's
    /// `overall_status`).
    pub fn overall_status(&self) -> &'static str {
        if self.level() == Level::Ok { "healthy" } else { "unhealthy" }
    }

    /// Renders the report as JSON, with times shown in `timezone`.
    ///
    /// The keys of the original report stay: `timestamp`, `checks.<name>` with the original
    /// fields, `alert` and `message`, `overall_status` and `alerts`. Added: `level` (OK,
    /// WARNING, CRITICAL or UNKNOWN) overall and per check, and per check `summary` and
    /// `thresholds`. `api_health.status` keeps its original `healthy`/`unhealthy` meaning.
    pub fn to_json(&self, timezone: Tz) -> Value {
        let mut checks = Map::new();
        for check in &self.checks {
            checks.insert(check.name.to_string(), check.to_json(timezone));
        }
        let alerts: Vec<String> = self
            .checks
            .iter()
            .filter(|check| check.level.is_failure())
            .map(|check| format!("{}: {}", check.name, check.summary))
            .collect();

        json!({
            "timestamp": format_time(self.timestamp, timezone),
            "checks": checks,
            "overall_status": self.overall_status(),
            "level": self.level(),
            "alerts": alerts,
        })
    }

    /// Renders the report as a table, with ANSI colours when `color` is set.
    pub fn to_text(&self, timezone: Tz, color: bool) -> String {
        let name_width = self.checks.iter().map(|c| c.name.as_str().len()).max().unwrap_or(5);
        let mut text = String::new();
        let time = self.timestamp.with_timezone(&timezone).format("%Y-%m-%d %H:%M:%S %Z");
        let _ = writeln!(text, "InvGuard monitor report, {time}");
        let _ = writeln!(text);
        let _ = writeln!(text, "{:name_width$}  {:8}  SUMMARY", "CHECK", "LEVEL");
        for check in &self.checks {
            let level = paint(check.level, &format!("{:8}", check.level.as_str()), color);
            let _ =
                writeln!(text, "{:name_width$}  {level}  {}", check.name.as_str(), check.summary);
        }
        let _ = writeln!(text);
        let overall = paint(self.level(), self.level().as_str(), color);
        let _ = writeln!(text, "Overall: {} ({overall})", self.overall_status());
        text
    }
}

impl CheckResult {
    /// Renders this result as one entry of the JSON report's `checks` object.
    pub fn to_json(&self, timezone: Tz) -> Value {
        let mut object = self.details.clone();
        object.insert("level".into(), json!(self.level));
        object.insert("summary".into(), json!(self.summary));
        object.insert("alert".into(), json!(self.level.is_failure()));
        if self.level.is_failure() {
            object.insert("message".into(), json!(self.summary));
        }
        object.insert("thresholds".into(), Value::Object(self.thresholds.clone()));
        object.insert("timestamp".into(), json!(format_time(self.checked_at, timezone)));
        Value::Object(object)
    }

    /// Renders the Nagios plugin output line: `NAME LEVEL - summary | perfdata`.
    pub fn to_nagios(&self) -> String {
        let name = self.name.as_str().to_ascii_uppercase();
        // A `|` in the summary would start the performance data early.
        let summary = self.summary.replace('|', "/");
        let mut line = format!("{name} {} - {summary}", self.level);
        if !self.metrics.is_empty() {
            let perfdata: Vec<String> = self.metrics.iter().map(perfdata).collect();
            line.push_str(" | ");
            line.push_str(&perfdata.join(" "));
        }
        line
    }
}

/// Formats one performance data item: `'label'=value[UOM];[warn];[crit];[min];[max]`, with
/// trailing empty fields left out.
fn perfdata(metric: &Metric) -> String {
    // A plain threshold N alerts above N; `N:` alerts below N (Nagios plugin range syntax).
    let limit = |value: f64| {
        if metric.alert_below { format!("{}:", format_number(value)) } else { format_number(value) }
    };
    let thresholds = [metric.warn, metric.crit].map(|value| value.map(limit).unwrap_or_default());
    let bounds = [metric.min, metric.max].map(|value| value.map(format_number).unwrap_or_default());
    let fields: Vec<String> = thresholds.into_iter().chain(bounds).collect();
    let used = fields.iter().rposition(|field| !field.is_empty()).map_or(0, |last| last + 1);
    let label = metric.label.replace('\'', "");
    let mut item = format!("'{label}'={}{}", format_number(metric.value), metric.unit);
    for field in &fields[..used] {
        item.push(';');
        item.push_str(field);
    }
    item
}

/// Formats a number without trailing zeros: `5000`, `41.2`, `0.025`.
fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Formats a time as ISO 8601 with microseconds and offset, such as `2026-12-04T10:00:00.123456+00:00`.
pub(crate) fn format_time(time: DateTime<Utc>, timezone: Tz) -> String {
    time.with_timezone(&timezone).to_rfc3339_opts(SecondsFormat::Micros, false)
}

fn paint(level: Level, text: &str, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match level {
        Level::Ok => "32",
        Level::Warning => "33",
        Level::Unknown => "35",
        Level::Critical => "31;1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckName;

    #[test]
    fn to_nagios_formats_perfdata() {
        let result = CheckResult::new(CheckName::ApiHealth, Level::Warning, "slow | very")
            .metric(Metric::new("response_time", 41.25, "ms").warn(5000.0).range(Some(0.0), None));
        assert_eq!(
            result.to_nagios(),
            "API_HEALTH WARNING - slow / very | 'response_time'=41.25ms;5000;;0"
        );
    }

    #[test]
    fn to_nagios_writes_lower_limits_as_ranges() {
        let free = Metric::new("backup_free", 5e9, "B").warn(1e9).alert_below();
        let result = CheckResult::new(CheckName::DiskSpace, Level::Ok, "fine")
            .metric(free.range(Some(0.0), Some(2e10)));
        assert_eq!(
            result.to_nagios(),
            "DISK_SPACE OK - fine | 'backup_free'=5000000000B;1000000000:;;0;20000000000"
        );
    }

    #[test]
    fn format_number_trims_zeros() {
        assert_eq!(format_number(5000.0), "5000");
        assert_eq!(format_number(0.0250), "0.025");
        assert_eq!(format_number(2.0004), "2");
    }

    #[test]
    fn report_level_is_worst_check() {
        let report = Report {
            timestamp: Utc::now(),
            checks: vec![
                CheckResult::new(CheckName::ApiHealth, Level::Ok, "fine"),
                CheckResult::new(CheckName::LowStock, Level::Unknown, "odd"),
                CheckResult::new(CheckName::Database, Level::Warning, "big"),
            ],
        };
        assert_eq!(report.level(), Level::Unknown);
        assert_eq!(report.overall_status(), "unhealthy");
    }
}
