//! Health checks, alert state and notifiers for InvGuard.
//!
//! The checks replace the original `monitor.py`: `api_health`, `low_stock`, `backup_status`,
//! `disk_space` and `database`. Each returns a [`CheckResult`] with a Nagios [`Level`], a
//! one-line summary, measured values and the thresholds used. A check never reports a
//! failure as healthy: an unreachable backend is `CRITICAL`, an answer of an unexpected
//! shape is `UNKNOWN`.
//!
//! [`Monitor::cycle`] (or [`run_cycle`]) runs the checks, updates the persisted
//! [`AlertStore`] and sends FIRING, REMINDER and RESOLVED notices to the configured
//! notifiers (JSON webhook, Slack, Discord, Microsoft Teams, ntfy, a command).
//!
//! This crate never prints, never sets up logging, keeps no global state and logs at debug
//! and trace only. Tokens, passwords and webhook URLs stay in
//! [`Secret`](invguard_config::Secret)s and never reach a log line or an error message.
//!
//! # Example
//!
//! ```
//! use invguard_monitor::{CheckName, CheckResult, Level, Metric, Report};
//!
//! let result = CheckResult::new(CheckName::ApiHealth, Level::Ok, "backend answered in 41 ms")
//!     .metric(Metric::new("response_time", 41.0, "ms").warn(5000.0).range(Some(0.0), None));
//! assert_eq!(
//!     result.to_nagios(),
//!     "API_HEALTH OK - backend answered in 41 ms | 'response_time'=41ms;5000;;0"
//! );
//!
//! let report = Report { timestamp: chrono::Utc::now(), checks: vec![result] };
//! assert_eq!(report.overall_status(), "healthy");
//! assert_eq!(report.level().exit_code(), 0);
//! ```
#![deny(missing_docs)]

mod alerts;
mod auth;
mod catalog;
mod checks;
mod error;
mod http;
mod monitor;
mod notify;
mod report;
mod result;

pub use alerts::{
    ALERT_STATE_FORMAT_VERSION, AlertRules, AlertState, AlertStore, CheckState, Incident,
};
pub use catalog::{BackupCatalog, BackupSummary, DirectoryCatalog, Verification};
pub use error::MonitorError;
pub use http::{resolve_location, same_origin};
pub use monitor::{CycleReport, Monitor, SentNotice, run_cycle};
pub use notify::{Delivery, DeliveryPolicy, Notice, NoticeKind, WEBHOOK_FORMAT_VERSION};
pub use report::Report;
pub use result::{CheckName, CheckResult, Level, Metric};
