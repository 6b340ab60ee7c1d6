//! The daemon's jobs: their schedules from the configuration and the one-shot subcommands
//! each run starts.

use anyhow::Context as _;
use invguard_config::{Config, JobConfig, JobSchedule};
use invguard_schedule::Schedule;

use crate::exit::UsageError;

/// The secret a step's child process gets through its standard input, because
/// [`invguard_config::secret_free_command`] removes secrets from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepSecret {
    /// No secret.
    None,
    /// The encryption passphrase, read by the child as `GPG_PASSPHRASE_FILE=/dev/stdin`.
    Passphrase,
    /// The API token, read by the child as `API_TOKEN_FILE=/dev/stdin`.
    ApiToken,
}

/// One child process of a run: the subcommand and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Arguments after the global options, such as `["verify", "--all", "--full"]`.
    pub args: &'static [&'static str],
    /// The secret the child needs.
    pub secret: StepSecret,
}

/// Returns the steps of a job, run in order until one fails.
pub fn steps(name: &str) -> Option<&'static [Step]> {
    const BACKUP: &[Step] = &[
        // `backup` verifies the new backup before it writes the manifest.
        Step { args: &["backup"], secret: StepSecret::Passphrase },
        Step { args: &["cleanup"], secret: StepSecret::None },
    ];
    const HEALTH: &[Step] =
        &[Step { args: &["job-step", "monitor"], secret: StepSecret::ApiToken }];
    const MAINTENANCE: &[Step] = &[
        Step { args: &["cleanup"], secret: StepSecret::None },
        Step { args: &["job-step", "maintenance"], secret: StepSecret::None },
    ];
    const FULL_CHECK: &[Step] =
        &[Step { args: &["verify", "--all", "--full"], secret: StepSecret::Passphrase }];

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
    fn scheduled_jobs_skip_disabled() {
        let mut config = Config::for_tests(Path::new("/srv/db.sqlite"), Path::new("/srv/backups"));
        config.jobs.jobs.get_mut("health").unwrap().enabled = false;
        let jobs = scheduled_jobs(&config).unwrap();
        assert!(jobs.iter().all(|job| job.name != "health"));
    }
}
