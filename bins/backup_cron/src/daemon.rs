//! The scheduler daemon: runs the configured jobs as child processes at their scheduled times.
//!
//! The main loop sleeps on a channel until the next due time, in slices of at most
//! [`MAX_SLEEP`] so that clock steps and suspends are noticed within a minute. Signals and
//! finished runs arrive on the same channel and wake it at once. Each run happens on a worker
//! thread that starts the job's one-shot subcommands as children and reports back.
//!
//! Each run's children get the configuration in force through a pipe (see [`child::spawn`]), so
//! an edited or rejected configuration file never reaches a job before a successful reload.
//!
//! Invariants: one daemon runs per state directory ([`lock`]). At most one run per job is
//! active at a time, and a run that falls due meanwhile is skipped and logged once. At most one
//! run of the jobs that take the backup directory lock (backup, maintenance, full-check) is
//! active at a time: such a job that falls due meanwhile waits for it, logged once, and then
//! runs, so the daemon's own jobs never fail on each other's lock. The health job never waits.
//! A scheduled time never runs twice, even when the clock steps back. The state file records each job's latest handled time, so a restart catches up the
//! downtime with at most one run per job.

mod child;
mod due;
pub mod jobs;
pub mod lock;
mod ping;
pub mod state;
mod worker;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use invguard_config::{Config, LoadOptions, Loaded};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub use child::{Invocation, JOB_ENV};
use due::{ClockMove, Decision};
use jobs::ScheduledJob;
use lock::DaemonLock;
pub use lock::DaemonLocked;
use state::{DaemonState, JobState};
use worker::{RunHandle, RunReport};

/// Maximum time the main loop sleeps before it reads the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Extra time, after [`child::STOP_GRACE`], that shutdown waits for cancelled runs to report.
const CANCEL_REPORT_SLACK: Duration = Duration::from_secs(2);

/// An event that wakes the main loop.
#[derive(Debug)]
pub enum Event {
    /// A signal arrived.
    Signal(i32),
    /// A run ended.
    Finished(RunReport),
}

/// One job's runtime state in the main loop.
#[derive(Debug)]
struct JobSlot {
    job: ScheduledJob,
    /// The next scheduled time not yet handled; `None` after the year 2100.
    next_due: Option<DateTime<Utc>>,
}

/// A run in progress, with the count of runs skipped because it was still running.
#[derive(Debug)]
struct Running {
    handle: RunHandle,
    skipped: u32,
    takes_backup_lock: bool,
}

/// A run that is due and waits for another job's run that holds the backup directory lock.
#[derive(Debug)]
struct Waiting {
    job: String,
    slot: DateTime<Utc>,
    /// Runs of the same job skipped because this one was still waiting.
    skipped: u32,
}

/// The daemon.
#[derive(Debug)]
pub struct Daemon {
    /// The configuration in force; children get it through [`child::spawn`].
    loaded: Arc<Loaded>,
    config_file: Option<PathBuf>,
    /// Held for the daemon's lifetime.
    lock: DaemonLock,
    invocation: Invocation,
    jobs: Vec<JobSlot>,
    running: BTreeMap<String, Running>,
    /// Due runs of backup directory jobs, in the order they fell due.
    waiting: VecDeque<Waiting>,
    state: DaemonState,
    events: Receiver<Event>,
    sender: Sender<Event>,
    last_check: DateTime<Utc>,
}

/// Runs the daemon with the configuration `loaded` until SIGTERM or SIGINT; returns after a
/// clean shutdown. `config_file` is the file that SIGHUP reloads.
///
/// # Errors
///
/// [`DaemonLocked`] when another daemon runs on the same state directory; an error when the
/// state directory or the jobs cannot be set up.
pub fn run(
    loaded: Loaded,
    config_file: Option<PathBuf>,
    invocation: Invocation,
) -> anyhow::Result<()> {
    let (sender, events) = mpsc::channel();
    forward_signals(sender.clone())?;

    let mut daemon = Daemon::start(loaded, config_file, invocation, sender, events)?;
    daemon.main_loop()
}

/// Starts a thread that forwards SIGTERM, SIGINT and SIGHUP to the main loop.
fn forward_signals(sender: Sender<Event>) -> anyhow::Result<()> {
    let mut signals =
        Signals::new([SIGTERM, SIGINT, SIGHUP]).context("cannot install the signal handlers")?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                if sender.send(Event::Signal(signal)).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

impl Daemon {
    fn start(
        loaded: Loaded,
        config_file: Option<PathBuf>,
        invocation: Invocation,
        sender: Sender<Event>,
        events: Receiver<Event>,
    ) -> anyhow::Result<Daemon> {
        let config = &loaded.config;
        let jobs = jobs::scheduled_jobs(config)?;
        state::create_dir(&config.state.dir)?;
        let lock = lock::acquire(&config.state.dir)?;
        let mut state = state::load(&config.state.dir)?
            .unwrap_or(DaemonState { format_version: state::FORMAT_VERSION, ..Default::default() });

        let now = Utc::now();
        state.daemon.pid = Some(std::process::id());
        state.daemon.started_utc = Some(now);
        state.daemon.stopped_utc = None;
        state.daemon.first_started_utc.get_or_insert(now);
        state::save(&config.state.dir, &state)?;

        let jobs = jobs
            .into_iter()
            .map(|job| {
                // Resume after the latest handled time, so that downtime is caught up below.
                let resume_from = state.jobs.get(&job.name).and_then(|s| s.last_scheduled_utc);
                let next_due = job.schedule.next_after(resume_from.unwrap_or(now));
                JobSlot { job, next_due }
            })
            .collect();

        let mut daemon = Daemon {
            loaded: Arc::new(loaded),
            config_file,
            lock,
            invocation,
            jobs,
            running: BTreeMap::new(),
            waiting: VecDeque::new(),
            state,
            events,
            sender,
            last_check: now,
        };
        tracing::info!(
            pid = std::process::id(),
            jobs = %daemon.job_names(),
            state_dir = %daemon.config().state.dir.display(),
            "daemon started"
        );

        // Runs missed while the daemon was down: each job runs at most once, within its
        // catch_up window.
        daemon.check_jobs(now, |job| Some(catch_up_window(job)));
        daemon.log_next_runs();
        Ok(daemon)
    }

    fn main_loop(&mut self) -> anyhow::Result<()> {
        loop {
            let now = Utc::now();
            self.on_clock(now);
            self.write_heartbeat(now);

            match self.events.recv_timeout(self.sleep_time(Utc::now())) {
                Ok(Event::Signal(SIGHUP)) => self.reload(),
                Ok(Event::Signal(signal)) => return self.shutdown(signal),
                Ok(Event::Finished(report)) => self.finish(report),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the daemon's event channel closed unexpectedly")
                }
            }
        }
    }

    /// Handles the wall clock at `now`: detects clock steps, then starts the due runs.
    fn on_clock(&mut self, now: DateTime<Utc>) {
        let previous = self.last_check;
        match due::clock_move(previous, now) {
            ClockMove::Normal => {
                self.last_check = now;
                self.check_jobs(now, |_| None);
            }
            ClockMove::LongForward(jump) => {
                tracing::warn!(
                    jump_s = jump.num_seconds(),
                    "wall clock jumped forward (clock correction or suspend); missed runs are \
                     caught up within each job's catch_up window"
                );
                self.last_check = now;
                self.check_jobs(now, |job| Some(catch_up_window(job)));
            }
            ClockMove::ShortBackward(step) => {
                tracing::warn!(
                    step_s = step.num_seconds(),
                    "wall clock stepped back; runs that already happened are not repeated"
                );
                // `last_check` stays, so the next check compares with the latest time seen.
            }
            ClockMove::LongBackward(step) => {
                tracing::warn!(
                    step_s = step.num_seconds(),
                    "wall clock stepped back (clock correction); fixed-time jobs wait for their \
                     next time, interval and `*` jobs are rescheduled from the new time"
                );
                self.last_check = now;
                for slot in &mut self.jobs {
                    if !slot.job.schedule.is_fixed_time() {
                        slot.next_due = slot.job.schedule.next_after(now);
                    }
                }
            }
        }
    }

    /// Starts or skips every job whose next time has come; `catch_up` gives the window for
    /// missed runs after downtime, `None` to run any due job.
    fn check_jobs(
        &mut self,
        now: DateTime<Utc>,
        catch_up: impl Fn(&ScheduledJob) -> Option<TimeDelta>,
    ) {
        for index in 0..self.jobs.len() {
            let slot = &self.jobs[index];
            let Some(next_due) = slot.next_due else { continue };
            let decision = due::decide(&slot.job.schedule, next_due, now, catch_up(&slot.job));

            match decision {
                Decision::Wait => continue,
                Decision::Missed { slot: missed } => {
                    tracing::warn!(
                        job = %self.jobs[index].job.name,
                        scheduled = %rfc3339(missed),
                        "missed run outside the catch_up window, skipped"
                    );
                    self.mark_handled(index, missed, now);
                }
                Decision::Run { slot: due_slot } => {
                    self.start_run(index, due_slot, now);
                }
            }
        }
    }

    fn start_run(&mut self, index: usize, due_slot: DateTime<Utc>, now: DateTime<Utc>) {
        let name = self.jobs[index].job.name.clone();
        self.mark_handled(index, due_slot, now);

        if let Some(running) = self.running.get_mut(&name) {
            if running.skipped == 0 {
                tracing::warn!(
                    job = %name,
                    scheduled = %rfc3339(due_slot),
                    "previous run still running, skipping this run (further skips are counted)"
                );
            }
            running.skipped += 1;
            return;
        }
        if let Some(waiting) = self.waiting.iter_mut().find(|waiting| waiting.job == name) {
            if waiting.skipped == 0 {
                tracing::warn!(
                    job = %name,
                    scheduled = %rfc3339(due_slot),
                    "previous run still waiting, skipping this run (further skips are counted)"
                );
            }
            waiting.skipped += 1;
            return;
        }
        if self.jobs[index].job.takes_backup_lock
            && let Some(holder) = self.backup_lock_holder()
        {
            tracing::info!(
                job = %name,
                scheduled = %rfc3339(due_slot),
                waiting_for = %holder,
                "job waits for the running job that uses the backup directory"
            );
            self.waiting.push_back(Waiting { job: name, slot: due_slot, skipped: 0 });
            return;
        }
        self.spawn_run(index, due_slot, now);
    }

    /// Returns the name of the running job that takes the backup directory lock, if any.
    fn backup_lock_holder(&self) -> Option<&str> {
        self.running
            .iter()
            .find(|(_, running)| running.takes_backup_lock)
            .map(|(name, _)| name.as_str())
    }

    /// Starts the waiting runs in turn, as long as no running job holds the backup directory
    /// lock. A waiting job that a reload removed is dropped.
    fn start_waiting(&mut self, now: DateTime<Utc>) {
        while self.backup_lock_holder().is_none() {
            let Some(waiting) = self.waiting.pop_front() else { return };
            if waiting.skipped > 0 {
                tracing::info!(
                    job = %waiting.job,
                    skipped = waiting.skipped,
                    "runs skipped while the previous run was waiting"
                );
            }
            let Some(index) = self.jobs.iter().position(|slot| slot.job.name == waiting.job) else {
                continue;
            };
            self.spawn_run(index, waiting.slot, now);
        }
    }

    /// Starts a run of the job at `index` for `due_slot` on a worker thread.
    fn spawn_run(&mut self, index: usize, due_slot: DateTime<Utc>, now: DateTime<Utc>) {
        let job = self.jobs[index].job.clone();
        let name = job.name.clone();
        let takes_backup_lock = job.takes_backup_lock;
        let started = worker::start(
            job,
            due_slot,
            Arc::clone(&self.loaded),
            self.invocation.clone(),
            self.sender.clone(),
        );
        match started {
            Ok(handle) => {
                let job_state = self.state.jobs.entry(name.clone()).or_default();
                job_state.last_start_utc = Some(now);
                self.save_state();
                self.running.insert(name, Running { handle, skipped: 0, takes_backup_lock });
            }
            Err(error) => {
                tracing::error!(job = %name, error = %error, "cannot start a worker thread")
            }
        }
    }

    /// Records `handled` as the job's latest handled time and schedules its next run after
    /// `now`.
    fn mark_handled(&mut self, index: usize, handled: DateTime<Utc>, now: DateTime<Utc>) {
        let slot = &mut self.jobs[index];
        slot.next_due = slot.job.schedule.next_after(now.max(handled));
        let job_state = self.state.jobs.entry(slot.job.name.clone()).or_default();
        job_state.last_scheduled_utc = Some(handled);
        self.save_state();
    }

    fn finish(&mut self, report: RunReport) {
        if let Some(running) = self.running.remove(&report.job) {
            if running.skipped > 0 {
                tracing::info!(
                    job = %report.job,
                    skipped = running.skipped,
                    "runs skipped while the previous run was still running"
                );
            }
            running.handle.join();
        }

        let max_runtime = self
            .jobs
            .iter()
            .find(|slot| slot.job.name == report.job)
            .map_or(Duration::ZERO, |slot| slot.job.config.max_runtime);
        let job_state: &mut JobState = self.state.jobs.entry(report.job.clone()).or_default();
        job_state.last_start_utc = Some(report.started);
        job_state.last_end_utc = Some(report.ended);
        job_state.last_result = Some(report.outcome.as_str().to_owned());
        job_state.last_duration_ms =
            Some(u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX));
        job_state.last_message = report.outcome.message(max_runtime);
        self.save_state();
        self.start_waiting(Utc::now());
    }

    /// Reloads the configuration; an invalid one is rejected and the current one stays.
    fn reload(&mut self) {
        tracing::info!("SIGHUP received, reloading the configuration");
        let options = LoadOptions { file: self.config_file.clone(), env: None };
        let loaded = match invguard_config::Config::load(&options) {
            Ok(loaded) => loaded,
            Err(error) => {
                log_rejected_reload(&error.into());
                return;
            }
        };
        let new_jobs = match jobs::scheduled_jobs(&loaded.config) {
            Ok(jobs) => jobs,
            Err(error) => {
                log_rejected_reload(&error);
                return;
            }
        };
        let new_state_dir = &loaded.config.state.dir;
        if *new_state_dir != self.config().state.dir {
            // The new directory needs the lock of its own, so that no other daemon uses it.
            match state::create_dir(new_state_dir).and_then(|()| lock::acquire(new_state_dir)) {
                Ok(lock) => self.lock = lock,
                Err(error) => {
                    log_rejected_reload(&error);
                    return;
                }
            }
        }
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }

        let now = Utc::now();
        let old_jobs = std::mem::take(&mut self.jobs);
        self.jobs = new_jobs
            .into_iter()
            .map(|job| {
                let unchanged = old_jobs.iter().find(|old| {
                    old.job.name == job.name
                        && old.job.schedule.expression() == job.schedule.expression()
                        && old.job.schedule.timezone() == job.schedule.timezone()
                });
                let next_due = match unchanged {
                    Some(old) => old.next_due,
                    None => job.schedule.next_after(now),
                };
                JobSlot { job, next_due }
            })
            .collect();
        self.loaded = Arc::new(loaded);
        self.save_state();
        tracing::info!(jobs = %self.job_names(), "configuration reloaded");
        self.log_next_runs();
    }

    /// Stops starting runs, lets running ones finish within the grace period, cancels the
    /// rest and records the clean stop.
    fn shutdown(&mut self, signal: i32) -> anyhow::Result<()> {
        let grace = self.config().jobs.grace_period;
        let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
        tracing::info!(
            signal = name,
            running = self.running.len(),
            grace_s = grace.as_secs_f64(),
            "shutting down: no new runs, waiting for running jobs"
        );

        for waiting in std::mem::take(&mut self.waiting) {
            tracing::info!(
                job = %waiting.job,
                scheduled = %rfc3339(waiting.slot),
                "shutting down: waiting run not started"
            );
        }
        let deadline = Instant::now() + grace;
        self.wait_for_runs(deadline, true);
        if !self.running.is_empty() {
            let running = self.running_names();
            tracing::warn!(running = %running, "grace period over, cancelling running jobs");
            for running in self.running.values() {
                running.handle.cancel();
            }
            self.wait_for_runs(Instant::now() + child::STOP_GRACE + CANCEL_REPORT_SLACK, false);
        }

        let now = Utc::now();
        self.state.daemon.stopped_utc = Some(now);
        self.save_state();
        self.write_heartbeat(now);
        tracing::info!("daemon stopped");
        Ok(())
    }

    /// Receives run reports until no run is left or `deadline` passes. With
    /// `second_signal_cancels`, another SIGTERM or SIGINT ends the wait early.
    fn wait_for_runs(&mut self, deadline: Instant, second_signal_cancels: bool) {
        while !self.running.is_empty() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return };
            match self.events.recv_timeout(left) {
                Ok(Event::Finished(report)) => self.finish(report),
                Ok(Event::Signal(SIGTERM | SIGINT)) if second_signal_cancels => {
                    tracing::warn!("second signal received, cancelling running jobs now");
                    return;
                }
                Ok(Event::Signal(_)) => {}
                Err(_) => return,
            }
        }
    }

    /// Returns how long to sleep: until the earliest next run, at most [`MAX_SLEEP`].
    fn sleep_time(&self, now: DateTime<Utc>) -> Duration {
        let earliest = self.jobs.iter().filter_map(|slot| slot.next_due).min();
        let until_due = earliest.map_or(MAX_SLEEP, |due| {
            // One extra millisecond so that the wake-up is not a hair before the due time.
            (due - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(1)
        });
        until_due.min(MAX_SLEEP)
    }

    fn save_state(&self) {
        if let Err(error) = state::save(&self.config().state.dir, &self.state) {
            tracing::error!(error = %format!("{error:#}"), "cannot write the daemon state");
        }
    }

    fn write_heartbeat(&self, now: DateTime<Utc>) {
        let heartbeat = state::Heartbeat { pid: std::process::id(), time_utc: now };
        if let Err(error) = state::save_heartbeat(&self.config().state.dir, &heartbeat) {
            tracing::error!(error = %format!("{error:#}"), "cannot write the heartbeat");
        }
    }

    /// Returns the configuration in force.
    fn config(&self) -> &Config {
        &self.loaded.config
    }

    fn log_next_runs(&self) {
        for slot in &self.jobs {
            let next =
                slot.next_due.map(|t| t.with_timezone(&slot.job.schedule.timezone()).to_rfc3339());
            tracing::info!(
                job = %slot.job.name,
                schedule = %slot.job.schedule.describe(),
                next_run = next.as_deref().unwrap_or("none"),
                "job scheduled"
            );
        }
    }

    fn job_names(&self) -> String {
        self.jobs.iter().map(|slot| slot.job.name.as_str()).collect::<Vec<_>>().join(",")
    }

    fn running_names(&self) -> String {
        self.running.keys().cloned().collect::<Vec<_>>().join(",")
    }
}

/// Formats a time for log fields, as RFC 3339 in UTC.
pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn log_rejected_reload(error: &anyhow::Error) {
    tracing::error!(
        error = %format!("{error:#}"),
        "configuration reload rejected, keeping the current configuration"
    );
}

/// Returns the catch-up window of a job as a chrono duration.
fn catch_up_window(job: &ScheduledJob) -> TimeDelta {
    TimeDelta::from_std(job.config.catch_up).unwrap_or(TimeDelta::MAX)
}
