//! `[monitor]`: thresholds of the checks, alert state rules and notifiers.

use std::path::PathBuf;
use std::time::Duration;

use crate::Secret;

/// Monitoring thresholds and notifiers. Defaults mirror the original `monitor.py`.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Seconds between monitoring cycles (`HEALTH_CHECK_INTERVAL`, default 300).
    pub interval: Duration,
    /// API response time above which `api_health` warns, in milliseconds (default 5000).
    pub api_response_time_ms: u64,
    /// Ratio of low-stock items above which `low_stock` warns (default 0.1).
    pub low_stock_percentage: f64,
    /// Maximum number of low-stock items listed in a report (default 50).
    pub low_stock_max_items: usize,
    /// Age in hours of the newest verified backup above which `backup_status` is critical
    /// (default 25, which allows for DST days of 23 to 25 hours).
    pub backup_failure_hours: f64,
    /// Free space in GB below which `disk_space` warns (default 1).
    pub disk_space_gb: f64,
    /// Used percentage above which `disk_space` warns (default 90).
    pub disk_usage_percentage: f64,
    /// Size of the database's `-wal` file above which `database` warns (default 1 GiB).
    pub wal_warning_bytes: u64,
    /// Consecutive failures before an alert fires (default 2).
    pub failure_threshold: u32,
    /// Consecutive successes before an alert resolves (default 1).
    pub success_threshold: u32,
    /// Interval of reminders while an alert keeps firing (default 6 h).
    pub reminder_interval: Duration,
    /// Where alerts are sent.
    pub notifiers: Vec<NotifierConfig>,
}

/// One notifier. URLs and tokens are secrets because webhook URLs carry their token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NotifierConfig {
    /// Generic JSON webhook.
    Webhook {
        /// Target URL.
        url: Secret,
    },
    /// Slack incoming webhook.
    Slack {
        /// Webhook URL.
        url: Secret,
    },
    /// Discord webhook.
    Discord {
        /// Webhook URL.
        url: Secret,
    },
    /// Microsoft Teams Workflows webhook (Adaptive Card).
    Teams {
        /// Webhook URL.
        url: Secret,
    },
    /// ntfy topic.
    Ntfy {
        /// Topic URL.
        url: Secret,
        /// Optional access token.
        token: Option<Secret>,
    },
    /// A program run without a shell, with the alert as JSON on stdin.
    Command {
        /// Program path.
        program: PathBuf,
        /// Arguments.
        args: Vec<String>,
    },
}
