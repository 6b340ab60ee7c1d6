//! The daemon's jobs: their schedules from the configuration and the one-shot subcommands
//! each run starts.

use anyhow::Context as _;
use invguard_config::{Config, JobConfig, JobSchedule};
use invguard_schedule::Schedule;

use crate::exit::UsageError;

/// One child process of a run: the subcommand and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Arguments after the global options, such as `["verify", "--all", "--full"]`.
    pub args: &'static [&'static str],
    /// Whether the step exits with [`Exit::Warning`](crate::exit::Exit::Warning) when it finished with warnings, which
    /// makes the run a `warning` rather than a failure.
    pub reports_warnings: bool,
}

impl Step {
    const fn new(args: &'static [&'static str]) -> Step {
        Step { args, reports_warnings: false }
    }
}

/// Returns the steps of a job, run in order until one fails.
pub fn steps(name: &str) -> Option<&'static [Step]> {
    const BACKUP: &[Step] = &[
        // `backup` verifies the new backup before it writes the manifest.
        Step::new(&["backup"]),
        Step::new(&["cleanup"]),
    ];
    const HEALTH: &[Step] = &[Step { args: &["job-step", "monitor"], reports_warnings: true }];
    const MAINTENANCE: &[Step] = &[
        Step::new(&["cleanup"]),
        Step { args: &["job-step", "maintenance"], reports_warnings: true },
    ];
    const FULL_CHECK: &[Step] = &[Step::new(&["verify", "--all", "--full"])];

    match name {
        "backup" => Some(BACKUP),
        "health" => Some(HEALTH),
        "maintenance" => Some(MAINTENANCE),
        "full-check" => Some(FULL_CHECK),
        _ => None,
    }
}

/// A job with its parsed schedule.
#[derive(Debug, Clone)]
pub struct ScheduledJob {
    /// Job name, as in `[jobs.<name>]`.
    pub name: String,
    /// When it runs.
    pub schedule: Schedule,
    /// Its settings.
    pub config: JobConfig,
    /// The child processes of one run.
    pub steps: &'static [Step],
    /// Whether a run takes the backup directory lock, so that the daemon runs it only while
    /// no other such job of its own runs.
    pub takes_backup_lock: bool,
}

/// Returns whether the job's steps take the exclusive backup directory lock: `backup`,
/// `maintenance` and `full-check` do, `health` only reads.
pub fn takes_backup_lock(name: &str) -> bool {
    matches!(name, "backup" | "maintenance" | "full-check")
}

/// Builds the enabled jobs of `config`, in name order.
///
/// # Errors
///
/// A schedule that does not parse, or a job this build does not know.
pub fn scheduled_jobs(config: &Config) -> anyhow::Result<Vec<ScheduledJob>> {
    let mut jobs = Vec::new();
    for (name, job) in &config.jobs.jobs {
        if !job.enabled {
            continue;
        }
        let steps = steps(name).with_context(|| format!("unknown job {name:?}"))?;
        jobs.push(ScheduledJob {
            name: name.clone(),
            schedule: schedule(config, name, job)?,
            config: job.clone(),
            steps,
            takes_backup_lock: takes_backup_lock(name),
        });
    }
    Ok(jobs)
}

/// Parses the schedule of one job in its time zone.
fn schedule(config: &Config, name: &str, job: &JobConfig) -> anyhow::Result<Schedule> {
    let timezone = job.timezone.unwrap_or(config.timezone);
    let schedule = match &job.schedule {
        JobSchedule::Cron(expression) => Schedule::parse(expression, timezone),
        JobSchedule::Interval(interval) => Schedule::every(*interval, timezone),
    };
    // The configuration loader checks the syntax only, so an expression can still fail here
    // (a day that never occurs, a step longer than its field): that is a configuration error.
    schedule.map_err(|error| {
        UsageError(format!("invalid schedule of job {name:?} ([jobs.{name}] schedule): {error}"))
            .into()
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn scheduled_jobs_defaults() {
        let config = Config::for_tests(Path::new("/srv/db.sqlite"), Path::new("/srv/backups"));
        let jobs = scheduled_jobs(&config).unwrap();

        let names: Vec<_> = jobs.iter().map(|job| job.name.as_str()).collect();
        assert_eq!(names, ["backup", "full-check", "health", "maintenance"]);
        let expressions: Vec<_> = jobs.iter().map(|job| job.schedule.expression()).collect();
        assert_eq!(expressions, ["0 2 * * *", "0 4 1 * *", "@every 5m", "0 3 * * 0"]);
    }

    #[test]
    fn scheduled_jobs_reject_date_that_never_occurs() {
        let mut config = Config::for_tests(Path::new("/srv/db.sqlite"), Path::new("/srv/backups"));
        let backup = config.jobs.jobs.get_mut("backup").unwrap();
        backup.schedule = JobSchedule::Cron("0 2 30 2 *".to_owned());

        let error = scheduled_jobs(&config).unwrap_err();
        assert!(error.is::<UsageError>(), "{error:#}");
        assert!(error.to_string().contains("[jobs.backup] schedule"), "{error:#}");
    }

    #[test]
    fn scheduled_jobs_mark_lock_takers() {
        let config = Config::for_tests(Path::new("/srv/db.sqlite"), Path::new("/srv/backups"));
        let jobs = scheduled_jobs(&config).unwrap();
        let takers: Vec<_> =
            jobs.iter().filter(|job| job.takes_backup_lock).map(|job| job.name.as_str()).collect();
        assert_eq!(takers, ["backup", "full-check", "maintenance"]);
    }

    #[test]
    fn scheduled_jobs_skip_disabled() {
        let mut config = Config::for_tests(Path::new("/srv/db.sqlite"), Path::new("/srv/backups"));
        config.jobs.jobs.get_mut("health").unwrap().enabled = false;
        let jobs = scheduled_jobs(&config).unwrap();
        assert!(jobs.iter().all(|job| job.name != "health"));
    }
}
