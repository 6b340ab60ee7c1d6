//! One run of a job on its own thread: the steps as child processes, retries with backoff,
//! pings, and a report to the main loop when it ends.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use invguard_config::Loaded;

use crate::daemon::child::{self, ChildEnd, Invocation};
use crate::daemon::jobs::ScheduledJob;
use crate::daemon::ping::{self, Ping};
use crate::daemon::{Event, rfc3339};
use crate::exit::Exit;

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step exited with status 0.
    Success,
    /// Every step finished, and one reported warnings (a monitoring cycle whose worst check
    /// is WARNING); the message names the step.
    Warning(String),
    /// A step failed on the last attempt; the message describes the failure.
    Failed(String),
    /// A step found the backup directory locked by a process outside the daemon (exit 75) on
    /// the last attempt, such as an operator's manual backup; the run is skipped, not failed.
    Busy(String),
    /// A step ran past `max_runtime` on the last attempt and was stopped.
    TimedOut,
    /// The daemon shut down and stopped the run.
    Cancelled,
}

impl Outcome {
    /// Returns the name that the state file and the log use.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Warning(_) => "warning",
            Outcome::Failed(_) => "failed",
            Outcome::Busy(_) => "skipped",
            Outcome::TimedOut => "timed-out",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Returns a short explanation of a failure.
    pub fn message(&self, max_runtime: Duration) -> Option<String> {
        match self {
            Outcome::Success => None,
            Outcome::Failed(message) | Outcome::Warning(message) | Outcome::Busy(message) => {
                Some(message.clone())
            }
            Outcome::TimedOut => {
                Some(format!("stopped after max_runtime {}", humantime_seconds(max_runtime)))
            }
            Outcome::Cancelled => Some("cancelled at shutdown".to_owned()),
        }
    }
}

/// Report of a finished run, sent to the main loop.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Job name.
    pub job: String,
    /// The scheduled time the run stood for.
    pub slot: DateTime<Utc>,
    /// Wall-clock start.
    pub started: DateTime<Utc>,
    /// Wall-clock end.
    pub ended: DateTime<Utc>,
    /// Elapsed time, retries and backoff included.
    pub duration: Duration,
    /// The result.
    pub outcome: Outcome,
    /// Attempts made.
    pub attempts: u32,
}

/// A run in progress.
#[derive(Debug)]
pub struct RunHandle {
    cancel: Sender<()>,
    thread: JoinHandle<()>,
}

impl RunHandle {
    /// Asks the run to stop its child (SIGTERM, then SIGKILL) and report `cancelled`.
    pub fn cancel(&self) {
        let _ = self.cancel.send(());
    }

    /// Waits for the worker thread, which has sent its report.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("a job worker thread panicked");
        }
    }
}

/// Starts a run of `job` for `slot` on a new thread with the configuration `loaded`; it sends
/// [`Event::Finished`] at the end.
pub fn start(
    job: ScheduledJob,
    slot: DateTime<Utc>,
    loaded: Arc<Loaded>,
    invocation: Invocation,
    events: Sender<Event>,
) -> std::io::Result<RunHandle> {
    let (cancel, cancelled) = mpsc::channel();
    let thread =
        std::thread::Builder::new().name(format!("job-{}", job.name)).spawn(move || {
            let report = run(&job, slot, &loaded, &invocation, &cancelled);
            let _ = events.send(Event::Finished(report));
        })?;
    Ok(RunHandle { cancel, thread })
}

fn run(
    job: &ScheduledJob,
    slot: DateTime<Utc>,
    loaded: &Loaded,
    invocation: &Invocation,
    cancelled: &Receiver<()>,
) -> RunReport {
    let started = Utc::now();
    let clock = Instant::now();
    tracing::info!(job = %job.name, scheduled = %rfc3339(slot), "job started");
    if let Some(url) = &job.config.ping_url {
        ping::send(&job.name, url, Ping::Start, "");
    }

    // Encoded once per run: every attempt and step gets the same configuration.
    let handoff = invguard_config::encode_handoff(loaded);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let outcome = match &handoff {
            Ok(handoff) => run_steps(job, handoff, invocation, cancelled),
            Err(error) => Outcome::Failed(format!("cannot hand the configuration over: {error}")),
        };
        let retries_left = job.config.retries + 1 - attempts;
        let done = matches!(outcome, Outcome::Success | Outcome::Warning(_) | Outcome::Cancelled);
        if done || retries_left == 0 {
            break outcome;
        }

        let backoff = job.config.retry_backoff.saturating_mul(1 << (attempts - 1).min(16));
        log_retry(job, &outcome, attempts, retries_left, backoff);
        match cancelled.recv_timeout(backoff) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break Outcome::Cancelled,
        }
    };

    let report = RunReport {
        job: job.name.clone(),
        slot,
        started,
        ended: Utc::now(),
        duration: clock.elapsed(),
        outcome,
        attempts,
    };
    log_end(&report, job.config.max_runtime);
    if let Some(url) = &job.config.ping_url {
        match &report.outcome {
            Outcome::Success => ping::send(&job.name, url, Ping::Success, ""),
            Outcome::Warning(message) => ping::send(&job.name, url, Ping::Success, message),
            other => {
                let body = other.message(job.config.max_runtime).unwrap_or_default();
                ping::send(&job.name, url, Ping::Fail, &body);
            }
        }
    }
    report
}

/// Runs the steps of one attempt in order, stopping at the first that does not succeed.
fn run_steps(
    job: &ScheduledJob,
    handoff: &[u8],
    invocation: &Invocation,
    cancelled: &Receiver<()>,
) -> Outcome {
    let deadline = Instant::now() + job.config.max_runtime;
    let mut warning = None;
    for step in job.steps {
        let command = step.args.join(" ");
        let mut process = match child::spawn(invocation, &job.name, step, handoff) {
            Ok(process) => process,
            Err(error) => return Outcome::Failed(format!("{error:#}")),
        };
        tracing::debug!(job = %job.name, step = %command, pid = process.id(), "step started");

        let end = match child::wait(&mut process, deadline, cancelled) {
            Ok(end) => end,
            Err(error) => return Outcome::Failed(format!("{error:#}")),
        };
        match end {
            ChildEnd::Exited(status) if status.success() => {}
            ChildEnd::Exited(status)
                if step.reports_warnings && status.code() == Some(Exit::Warning as i32) =>
            {
                warning = Some(format!("`backup_cron {command}` finished with warnings"));
            }
            ChildEnd::Exited(status) if status.code() == Some(Exit::Locked as i32) => {
                return Outcome::Busy(format!(
                    "`backup_cron {command}` found the backup directory locked by another \
                     process (exit 75)"
                ));
            }
            ChildEnd::Exited(status) => {
                return Outcome::Failed(format!("`backup_cron {command}` ended with {status}"));
            }
            ChildEnd::TimedOut => return Outcome::TimedOut,
            ChildEnd::Cancelled => return Outcome::Cancelled,
        }
    }
    warning.map_or(Outcome::Success, Outcome::Warning)
}

/// Logs an attempt that is retried after `backoff`: a failure, or a busy backup directory.
fn log_retry(
    job: &ScheduledJob,
    outcome: &Outcome,
    attempt: u32,
    retries_left: u32,
    backoff: Duration,
) {
    let error = outcome.message(job.config.max_runtime).unwrap_or_default();
    let backoff_s = backoff.as_secs();
    match outcome {
        Outcome::Busy(_) => tracing::warn!(
            job = %job.name, attempt, retries_left, backoff_s, error,
            "backup directory busy, retrying"
        ),
        _ => tracing::warn!(
            job = %job.name, attempt, retries_left, backoff_s, error,
            "job attempt failed, retrying"
        ),
    }
}

fn log_end(report: &RunReport, max_runtime: Duration) {
    let duration_ms = u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX);
    let result = report.outcome.as_str();
    let Some(message) = report.outcome.message(max_runtime) else {
        tracing::info!(
            job = %report.job,
            scheduled = %rfc3339(report.slot),
            result,
            duration_ms,
            attempts = report.attempts,
            "job finished"
        );
        return;
    };

    macro_rules! finished {
        ($level:ident) => {
            tracing::$level!(
                job = %report.job,
                scheduled = %rfc3339(report.slot),
                result,
                duration_ms,
                attempts = report.attempts,
                error = %message,
                "job finished"
            )
        };
    }
    // A warning is a run that did its work, and a busy run is skipped because another process
    // works on the backups; only a failed, stopped or cancelled run is an error.
    match report.outcome {
        Outcome::Warning(_) | Outcome::Busy(_) => finished!(warn),
        _ => finished!(error),
    }
}

fn humantime_seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}
