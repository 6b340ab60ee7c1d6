//! `[jobs.<name>]` and `[daemon]`: the scheduler daemon's jobs.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono_tz::Tz;

use crate::Secret;

/// All jobs by name (`backup`, `health`, `maintenance`, `full-check`) and daemon settings.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// The jobs, by name.
    pub jobs: BTreeMap<String, JobConfig>,
    /// Time a running job gets to finish after SIGTERM before it is cancelled (default 8 s).
    pub grace_period: Duration,
}

/// When a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSchedule {
    /// A cron expression, as written by the operator.
    Cron(String),
    /// A fixed interval.
    Interval(Duration),
}

/// One scheduled job.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Whether the daemon runs this job.
    pub enabled: bool,
    /// When it runs.
    pub schedule: JobSchedule,
    /// Time zone of the schedule; `None` means the top-level `timezone`.
    pub timezone: Option<Tz>,
    /// Run time after which the job is stopped.
    pub max_runtime: Duration,
    /// How far back a missed run is caught up at start-up; zero catches nothing up.
    pub catch_up: Duration,
    /// Retries after a failed run.
    pub retries: u32,
    /// Delay before the first retry; it doubles for each further retry.
    pub retry_backoff: Duration,
    /// Healthchecks-style ping URL (`URL/start`, `URL`, `URL/fail`).
    pub ping_url: Option<Secret>,
}
