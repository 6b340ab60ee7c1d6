//! Notices and their delivery to the configured notifiers.
//!
//! Every notifier gets the notice in its own thread, with a timeout per attempt and retries
//! with exponential backoff, so a slow or failing notifier delays and blocks no other.
//! Failures are logged with the notifier's label (such as `slack[1]`), never its URL or
//! token.

mod command;
mod payload;

use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use invguard_config::NotifierConfig;
use serde::Serialize;

use crate::alerts::Incident;
use crate::http::{HttpClient, HttpLimits};
use crate::{CheckResult, Level};

pub use payload::WEBHOOK_FORMAT_VERSION;

/// The event a notice announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// An alert reached its failure threshold.
    Firing,
    /// An alert is still firing after the reminder interval.
    Reminder,
    /// A firing alert recovered.
    Resolved,
    /// A test sent by `monitor test-notify`.
    Test,
}

impl NoticeKind {
    /// Upper-case name for message titles.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Firing => "FIRING",
            NoticeKind::Reminder => "REMINDER",
            NoticeKind::Resolved => "RESOLVED",
            NoticeKind::Test => "TEST",
        }
    }
}

/// One notice about one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// FIRING, REMINDER, RESOLVED or TEST.
    pub kind: NoticeKind,
    /// Check name, such as `api_health`.
    pub check: String,
    /// Level of the latest run (OK for a RESOLVED notice).
    pub level: Level,
    /// Summary of the latest run.
    pub summary: String,
    /// Identifier shared by all notices of one incident.
    pub incident_id: String,
    /// When the incident started.
    pub incident_started: DateTime<Utc>,
    /// When the notice was created.
    pub time: DateTime<Utc>,
    /// Failures in a row so far (0 for RESOLVED).
    pub consecutive_failures: u32,
}

impl Notice {
    pub(crate) fn new(
        kind: NoticeKind,
        result: &CheckResult,
        incident: &Incident,
        consecutive_failures: u32,
        now: DateTime<Utc>,
    ) -> Notice {
        Notice {
            kind,
            check: result.name.to_string(),
            level: result.level,
            summary: result.summary.clone(),
            incident_id: incident.id.clone(),
            incident_started: incident.started,
            time: now,
            consecutive_failures,
        }
    }

    /// Creates a test notice that exercises every notifier.
    pub fn test(now: DateTime<Utc>) -> Notice {
        Notice {
            kind: NoticeKind::Test,
            check: "test".to_owned(),
            level: Level::Ok,
            summary: "test notice from monitor test-notify".to_owned(),
            incident_id: format!("test-{}", now.format("%Y%m%dT%H%M%SZ")),
            incident_started: now,
            time: now,
            consecutive_failures: 0,
        }
    }
}

/// Timeouts and retries of notifier deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts per notifier and notice, at least 1.
    pub attempts: u32,
    /// Delay before the second attempt; it doubles for each further attempt.
    pub backoff: Duration,
    /// Connect and read timeout of one HTTP attempt, and run time limit of a command.
    pub timeout: Duration,
    /// Longest `retry_after` honoured after an HTTP 429; longer waits give up.
    pub max_retry_after: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            attempts: 3,
            backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The outcome of delivering one notice to one notifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The notifier's label: its kind and position in the list, such as `slack[1]`.
    pub notifier: String,
    /// Attempts made.
    pub attempts: u32,
    /// `None` on success, else why the last attempt failed (no URL or token in it).
    pub error: Option<String>,
}

impl Delivery {
    /// Returns whether the notifier accepted the notice.
    pub fn is_delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// Whether an attempt may be repeated.
#[derive(Debug)]
enum AttemptError {
    /// Worth another attempt, after the backoff or the given delay.
    Retry { reason: String, after: Option<Duration> },
    /// Another attempt would fail the same way, such as HTTP 400.
    Permanent(String),
}

/// Sends `notice` to every notifier in parallel and returns one result per notifier.
pub(crate) fn deliver_all(
    notifiers: &[NotifierConfig],
    notice: &Notice,
    policy: DeliveryPolicy,
) -> Vec<Delivery> {
    let http = HttpClient::new(HttpLimits {
        connect_timeout: policy.timeout,
        read_timeout: policy.timeout,
        max_body_bytes: 1024 * 1024,
    });
    let host = payload::host_name();
    // Notifier threads log through the caller's subscriber, which may be scoped to its thread.
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    thread::scope(|scope| {
        let handles: Vec<_> = notifiers
            .iter()
            .enumerate()
            .map(|(index, notifier)| {
                let label = format!("{}[{index}]", kind_name(notifier));
                let (http, host) = (&http, host.as_str());
                let dispatch = &dispatch;
                scope.spawn(move || {
                    tracing::dispatcher::with_default(dispatch, || {
                        deliver_one(label, notifier, notice, policy, http, host)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| Delivery {
                    notifier: "unknown".into(),
                    attempts: 0,
                    error: Some("notifier thread panicked".into()),
                })
            })
            .collect()
    })
}

fn deliver_one(
    label: String,
    notifier: &NotifierConfig,
    notice: &Notice,
    policy: DeliveryPolicy,
    http: &HttpClient,
    host: &str,
) -> Delivery {
    let attempts = policy.attempts.max(1);
    let mut delay = policy.backoff;
    for attempt in 1..=attempts {
        let outcome = attempt_delivery(notifier, notice, policy, http, host);
        let (reason, after) = match outcome {
            Ok(()) => {
                tracing::debug!(notifier = %label, kind = ?notice.kind, attempt, "notice delivered");
                return Delivery { notifier: label, attempts: attempt, error: None };
            }
            Err(AttemptError::Permanent(reason)) => {
                tracing::debug!(notifier = %label, attempt, %reason, "notice rejected");
                return Delivery { notifier: label, attempts: attempt, error: Some(reason) };
            }
            Err(AttemptError::Retry { reason, after }) => (reason, after),
        };

        if attempt == attempts {
            tracing::debug!(notifier = %label, attempt, %reason, "notice not delivered, giving up");
            return Delivery { notifier: label, attempts: attempt, error: Some(reason) };
        }
        let wait = match after {
            Some(after) if after > policy.max_retry_after => {
                let reason = format!("{reason}; retry_after {after:?} exceeds the limit");
                return Delivery { notifier: label, attempts: attempt, error: Some(reason) };
            }
            Some(after) => after,
            None => delay,
        };
        tracing::debug!(notifier = %label, attempt, %reason, ?wait, "notice not delivered, retrying");
        thread::sleep(wait);
        delay = delay.saturating_mul(2);
    }
    Delivery { notifier: label, attempts, error: Some("no attempt made".into()) }
}

fn attempt_delivery(
    notifier: &NotifierConfig,
    notice: &Notice,
    policy: DeliveryPolicy,
    http: &HttpClient,
    host: &str,
) -> Result<(), AttemptError> {
    if let NotifierConfig::Command { program, args } = notifier {
        let input = payload::webhook_json(notice, host);
        return command::run(program, args, &input, policy.timeout);
    }

    let request = payload::http_request(notifier, notice, host).ok_or_else(|| {
        AttemptError::Permanent("this notifier kind is not supported by this build".into())
    })?;
    let response = http
        .send(&request.as_request())
        .map_err(|failure| AttemptError::Retry { reason: failure.to_string(), after: None })?;

    match response.status {
        200..=299 => Ok(()),
        429 => Err(AttemptError::Retry {
            reason: "HTTP 429 (rate limited)".into(),
            after: payload::retry_after(&response),
        }),
        408 | 500..=599 => {
            Err(AttemptError::Retry { reason: format!("HTTP {}", response.status), after: None })
        }
        status => Err(AttemptError::Permanent(format!("HTTP {status}"))),
    }
}

fn kind_name(notifier: &NotifierConfig) -> &'static str {
    match notifier {
        NotifierConfig::Webhook { .. } => "webhook",
        NotifierConfig::Slack { .. } => "slack",
        NotifierConfig::Discord { .. } => "discord",
        NotifierConfig::Teams { .. } => "teams",
        NotifierConfig::Ntfy { .. } => "ntfy",
        NotifierConfig::Command { .. } => "command",
        _ => "notifier",
    }
}
