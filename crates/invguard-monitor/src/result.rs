//! The outcome of one check: level, summary, measured values and thresholds.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::MonitorError;

/// The level of a check result, with the Nagios plugin meaning.
///
/// The derived order is by severity: `Ok < Warning < Unknown < Critical`. An undecided check
/// (`Unknown`) ranks above a warning, because the state of the system is not known, and
/// below a confirmed critical failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Everything within thresholds.
    Ok,
    /// A threshold is exceeded but the system still works.
    Warning,
    /// The check could not decide, for example because the backend returned an unexpected
    /// shape.
    Unknown,
    /// The system is failing or about to fail.
    Critical,
}

impl Level {
    /// Returns the Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Warning => 1,
            Level::Critical => 2,
            Level::Unknown => 3,
        }
    }

    /// Returns the upper-case name used in reports and Nagios lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Unknown => "UNKNOWN",
            Level::Critical => "CRITICAL",
        }
    }

    /// Returns whether this level counts as a failure for alerting (anything but OK).
    pub fn is_failure(self) -> bool {
        self != Level::Ok
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The checks the monitor runs, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// `GET {API_URL}/health`.
    ApiHealth,
    /// Low-stock ratio from `/analytics/low-stock` and `/items`.
    LowStock,
    /// Age and verification result of the newest backup, from the manifests.
    BackupStatus,
    /// Free space and inodes of the backup and database file systems.
    DiskSpace,
    /// The live database file and its write-ahead log.
    Database,
}

impl CheckName {
    /// Every check, in report order.
    pub const ALL: [CheckName; 5] = [
        CheckName::ApiHealth,
        CheckName::LowStock,
        CheckName::BackupStatus,
        CheckName::DiskSpace,
        CheckName::Database,
    ];

    /// Returns the snake_case name used in reports, state files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::ApiHealth => "api_health",
            CheckName::LowStock => "low_stock",
            CheckName::BackupStatus => "backup_status",
            CheckName::DiskSpace => "disk_space",
            CheckName::Database => "database",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckName {
    type Err = MonitorError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let normalized = name.trim().to_ascii_lowercase().replace('-', "_");
        CheckName::ALL.into_iter().find(|check| check.as_str() == normalized).ok_or_else(|| {
            let expected: Vec<&str> = CheckName::ALL.iter().map(|check| check.as_str()).collect();
            MonitorError::UnknownCheck { name: name.to_owned(), expected: expected.join(", ") }
        })
    }
}

/// One measured value with its thresholds, the source of Nagios performance data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Label, such as `response_time`.
    pub label: String,
    /// The measured value.
    pub value: f64,
    /// Nagios unit of measure, one the Nagios plugin guidelines define: `s`, `ms`, `%`, `B`,
    /// `c`, or empty for a plain number.
    pub unit: &'static str,
    /// Warning threshold, if the check has one for this value.
    pub warn: Option<f64>,
    /// Critical threshold, if the check has one for this value.
    pub crit: Option<f64>,
    /// Smallest possible value.
    pub min: Option<f64>,
    /// Largest possible value.
    pub max: Option<f64>,
    /// Whether the thresholds are lower limits, as for free space: the value alerts when it
    /// falls below them. Performance data then writes them as Nagios ranges `N:`.
    pub alert_below: bool,
}

impl Metric {
    /// Creates a metric without thresholds or bounds.
    pub fn new(label: &str, value: f64, unit: &'static str) -> Metric {
        Metric {
            label: label.to_owned(),
            value,
            unit,
            warn: None,
            crit: None,
            min: None,
            max: None,
            alert_below: false,
        }
    }

    /// Makes the thresholds lower limits (see [`Metric::alert_below`]).
    pub fn alert_below(mut self) -> Metric {
        self.alert_below = true;
        self
    }

    /// Sets the warning threshold.
    pub fn warn(mut self, value: f64) -> Metric {
        self.warn = Some(value);
        self
    }

    /// Sets the critical threshold.
    pub fn crit(mut self, value: f64) -> Metric {
        self.crit = Some(value);
        self
    }

    /// Sets the lower and upper bounds.
    pub fn range(mut self, min: Option<f64>, max: Option<f64>) -> Metric {
        self.min = min;
        self.max = max;
        self
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// The check that produced it.
    pub name: CheckName,
    /// OK, WARNING, CRITICAL or UNKNOWN.
    pub level: Level,
    /// One line for people, such as `3 of 120 items (2.5%) are low on stock`.
    pub summary: String,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
    /// Values for performance data.
    pub metrics: Vec<Metric>,
    /// Thresholds used, by configuration key.
    pub thresholds: Map<String, Value>,
    /// Check-specific report fields, keyed as in the original `monitor.py` report.
    pub details: Map<String, Value>,
}

impl CheckResult {
    /// Creates a result with no metrics, thresholds or details yet.
    pub fn new(name: CheckName, level: Level, summary: impl Into<String>) -> CheckResult {
        CheckResult {
            name,
            level,
            summary: summary.into(),
            checked_at: Utc::now(),
            metrics: Vec::new(),
            thresholds: Map::new(),
            details: Map::new(),
        }
    }

    /// Adds a report field.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> CheckResult {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Records a threshold that was applied.
    pub fn threshold(mut self, key: &str, value: impl Into<Value>) -> CheckResult {
        self.thresholds.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a metric.
    pub fn metric(mut self, metric: Metric) -> CheckResult {
        self.metrics.push(metric);
        self
    }

    /// Sets the time the check ran.
    pub fn at(mut self, checked_at: DateTime<Utc>) -> CheckResult {
        self.checked_at = checked_at;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_order_ranks_unknown_below_critical() {
        assert!(Level::Ok < Level::Warning);
        assert!(Level::Warning < Level::Unknown);
        assert!(Level::Unknown < Level::Critical);
    }

    #[test]
    fn level_exit_code_follows_nagios() {
        let codes: Vec<u8> = [Level::Ok, Level::Warning, Level::Critical, Level::Unknown]
            .into_iter()
            .map(Level::exit_code)
            .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn check_name_parse_accepts_dashes() {
        assert_eq!("disk-space".parse::<CheckName>().unwrap(), CheckName::DiskSpace);
        assert_eq!("API_HEALTH".parse::<CheckName>().unwrap(), CheckName::ApiHealth);
    }

    #[test]
    fn check_name_parse_lists_known_names() {
        let error = "disk".parse::<CheckName>().unwrap_err().to_string();
        assert!(error.contains("api_health, low_stock, backup_status, disk_space, database"));
    }
}
