//! Running commands under a stopwatch and GNU time, and the statistics of repeated runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::tools;
use anyhow::{Context as _, bail};

/// One run of one case.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Wall-clock time of the whole case, every step included.
    pub wall: Duration,
    /// User plus system CPU time of every process the case ran.
    pub cpu: Option<Duration>,
    /// Peak resident set size in bytes, for cases run under GNU time.
    pub peak_rss: Option<u64>,
    /// Size of what the case wrote, in bytes.
    pub output_bytes: Option<u64>,
    /// The stage times a `backup_cron backup` run logged.
    pub stages: Option<Stages>,
}

/// Stage times from the `backup finished` log line of `backup_cron backup`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    /// Whether the snapshot streamed into compression (`"snapshot":"streamed"`) instead of
    /// being copied to a file first.
    pub streamed: bool,
    /// The snapshot (`snapshot_ms`): the page copy, or opening the read transaction of a
    /// streamed snapshot.
    pub snapshot: Duration,
    /// Compression, encryption and writing of the partial file (`encode_ms`).
    pub encode: Duration,
    /// The fsync of the partial file (`sync_ms`).
    pub sync: Duration,
    /// The verification pass (`verify_ms`).
    pub verify: Duration,
}

impl Sample {
    /// Adds the time of a further step; the peak memory is the larger of the two.
    pub fn then(self, step: Sample) -> Sample {
        Sample {
            wall: self.wall + step.wall,
            cpu: self.cpu.zip(step.cpu).map(|(first, second)| first + second),
            peak_rss: self.peak_rss.max(step.peak_rss),
            output_bytes: step.output_bytes.or(self.output_bytes),
            stages: step.stages.or(self.stages),
        }
    }

    /// Records the size of `path` as the output of the run.
    pub fn with_output(self, path: &Path) -> anyhow::Result<Sample> {
        Ok(Sample { output_bytes: Some(fs_err::metadata(path)?.len()), ..self })
    }
}

/// The summary of repeated runs of one case.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Fastest run.
    pub min: Duration,
    /// Median run (the lower middle one for an even count).
    pub median: Duration,
    /// Median CPU time (user plus system), when every run measured it.
    pub cpu: Option<Duration>,
    /// Largest peak resident set size over all runs.
    pub peak_rss: Option<u64>,
    /// Output size of the last run.
    pub output_bytes: Option<u64>,
    /// Median of each logged stage time, when the runs logged them.
    pub stages: Option<Stages>,
    /// Fastest and median wall time minus the logged verification time: the backup without
    /// its verification pass, when the runs logged their stage times.
    pub without_verify: Option<(Duration, Duration)>,
}

impl Stats {
    /// Summarises `samples`, which must not be empty.
    pub fn of(samples: &[Sample]) -> Stats {
        let walls: Vec<Duration> = samples.iter().map(|sample| sample.wall).collect();
        let logged: Option<Vec<Stages>> = samples.iter().map(|sample| sample.stages).collect();
        let logged = logged.filter(|logged| !logged.is_empty());
        let stages = logged.as_ref().map(|logged| {
            let median_of = |field: fn(&Stages) -> Duration| {
                median(logged.iter().map(field).collect()).unwrap_or_default()
            };
            Stages {
                streamed: logged.iter().all(|stages| stages.streamed),
                snapshot: median_of(|stages| stages.snapshot),
                encode: median_of(|stages| stages.encode),
                sync: median_of(|stages| stages.sync),
                verify: median_of(|stages| stages.verify),
            }
        });
        let without_verify = logged.is_some().then(|| {
            let times: Vec<Duration> = samples
                .iter()
                .map(|sample| {
                    let verify = sample.stages.map_or(Duration::ZERO, |stages| stages.verify);
                    sample.wall.saturating_sub(verify)
                })
                .collect();
            (minimum(&times), median(times).unwrap_or_default())
        });
        let cpu: Option<Vec<Duration>> = samples.iter().map(|sample| sample.cpu).collect();
        Stats {
            min: minimum(&walls),
            median: median(walls).unwrap_or_default(),
            cpu: cpu.and_then(median),
            peak_rss: samples.iter().filter_map(|sample| sample.peak_rss).max(),
            output_bytes: samples.last().and_then(|sample| sample.output_bytes),
            stages,
            without_verify,
        }
    }
}

fn minimum(times: &[Duration]) -> Duration {
    times.iter().min().copied().unwrap_or_default()
}

/// Returns the median (the lower middle one for an even count).
fn median(mut times: Vec<Duration>) -> Option<Duration> {
    times.sort();
    times.get(times.len().saturating_sub(1) / 2).copied()
}

/// Runs `case` `runs` times and collects the samples; the first error stops the loop.
pub fn repeat(
    runs: u32,
    mut case: impl FnMut() -> anyhow::Result<Sample>,
) -> anyhow::Result<Vec<Sample>> {
    (0..runs).map(|_| case()).collect()
}

/// Runs `command` to completion and measures its wall time. When `rss_report` is given, the
/// command must run under `/usr/bin/time -v -o <rss_report>`, and its peak memory is read from
/// there.
pub fn timed(command: &mut Command, rss_report: Option<&Path>) -> anyhow::Result<Sample> {
    timed_with_log(command, rss_report).map(|(sample, _)| sample)
}

/// Does what [`timed`] does and also returns what the command wrote to stderr.
pub fn timed_with_log(
    command: &mut Command,
    rss_report: Option<&Path>,
) -> anyhow::Result<(Sample, String)> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let cpu_before = children_cpu();
    let started = Instant::now();
    let output =
        command.output().with_context(|| format!("cannot run {}", tools::describe(command)))?;
    let wall = started.elapsed();
    let cpu = cpu_since(cpu_before);

    if !output.status.success() {
        bail!(
            "{} failed with {}: {}",
            tools::describe(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let peak_rss = rss_report.map(read_peak_rss).transpose()?;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    Ok((Sample { wall, cpu, peak_rss, ..Sample::default() }, log))
}

/// Reads the stage times from the JSON `backup finished` line of a `backup_cron backup` log.
pub fn parse_stages(log: &str) -> Option<Stages> {
    log.lines().rev().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let fields = value.get("fields").unwrap_or(&value);
        if fields.get("message")?.as_str()? != "backup finished" {
            return None;
        }
        let millis = |name: &str| fields.get(name)?.as_u64().map(Duration::from_millis);
        Some(Stages {
            streamed: fields.get("snapshot").and_then(|value| value.as_str()) == Some("streamed"),
            snapshot: millis("snapshot_ms")?,
            encode: millis("encode_ms")?,
            sync: millis("sync_ms")?,
            verify: millis("verify_ms")?,
        })
    })
}

/// Runs `first | second` and measures the wall time until both ended.
pub fn piped(first: &mut Command, second: &mut Command) -> anyhow::Result<Sample> {
    let cpu_before = children_cpu();
    let started = Instant::now();
    let mut upstream = first
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", tools::describe(first)))?;
    let pipe = upstream.stdout.take().context("no stdout pipe")?;

    let downstream = second
        .stdin(pipe)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", tools::describe(second)))?;
    let upstream = upstream.wait()?;
    let wall = started.elapsed();
    let cpu = cpu_since(cpu_before);

    if !upstream.success() {
        bail!("{} failed with {upstream}", tools::describe(first));
    }
    if !downstream.success() {
        bail!("{} failed with {downstream}", tools::describe(second));
    }
    Ok(Sample { wall, cpu, ..Sample::default() })
}

/// Returns the CPU time of this process's children that ended and were waited for, their own
/// children included (`cutime` and `cstime` of `/proc/self/stat`). Cases run one at a time,
/// so the difference over a case is the CPU time of that case.
fn children_cpu() -> Option<Duration> {
    static TICKS_PER_SECOND: OnceLock<Option<u64>> = OnceLock::new();
    let ticks_per_second =
        (*TICKS_PER_SECOND.get_or_init(|| tools::clock_ticks_per_second().ok()))?;
    let ticks =
        tools::proc_stat_field("self", 16).ok()? + tools::proc_stat_field("self", 17).ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / ticks_per_second as f64))
}

fn cpu_since(before: Option<Duration>) -> Option<Duration> {
    Some(children_cpu()?.saturating_sub(before?))
}

/// Reads "Maximum resident set size (kbytes)" from a `time -v` report, in bytes.
fn read_peak_rss(report: &Path) -> anyhow::Result<u64> {
    let text = fs_err::read_to_string(report)?;
    parse_peak_rss(&text)
        .with_context(|| format!("no maximum resident set size in {}", report.display()))
}

fn parse_peak_rss(report: &str) -> Option<u64> {
    let line = report.lines().find(|line| line.contains("Maximum resident set size"))?;
    let kilobytes: u64 = line.rsplit(':').next()?.trim().parse().ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_peak_rss_gnu_time_report() {
        let report = "\tCommand being timed: \"true\"\n\
                      \tMaximum resident set size (kbytes): 2048\n\
                      \tExit status: 0\n";
        assert_eq!(parse_peak_rss(report), Some(2048 * 1024));
        assert_eq!(parse_peak_rss("Exit status: 0"), None);
    }

    #[test]
    fn stats_min_and_median() {
        let sample = |ms| Sample { wall: Duration::from_millis(ms), ..Sample::default() };
        let stats = Stats::of(&[sample(30), sample(10), sample(20)]);
        assert_eq!(stats.min, Duration::from_millis(10));
        assert_eq!(stats.median, Duration::from_millis(20));
    }

    #[test]
    fn parse_stages_reads_backup_finished_line() {
        let log = r#"{"timestamp":"t","level":"INFO","fields":{"message":"backup started"}}
{"timestamp":"t","level":"INFO","fields":{"message":"backup finished","snapshot":"file","snapshot_ms":120,"encode_ms":900,"sync_ms":30,"verify_ms":400}}
"#;
        let stages = parse_stages(log).unwrap();
        assert!(!stages.streamed);
        assert_eq!(stages.snapshot, Duration::from_millis(120));
        assert_eq!(stages.encode, Duration::from_millis(900));
        assert_eq!(stages.sync, Duration::from_millis(30));
        assert_eq!(stages.verify, Duration::from_millis(400));
        assert_eq!(parse_stages("not json\n"), None);
    }

    #[test]
    fn parse_stages_tells_a_streamed_snapshot() {
        let log = r#"{"fields":{"message":"backup finished","snapshot":"streamed","snapshot_ms":1,"encode_ms":900,"sync_ms":30,"verify_ms":400}}"#;
        let stages = parse_stages(log).unwrap();
        assert!(stages.streamed);
        assert_eq!(stages.snapshot, Duration::from_millis(1));
    }

    #[test]
    fn stats_without_verify_subtracts_logged_verification() {
        let sample = |wall, verify| Sample {
            wall: Duration::from_millis(wall),
            stages: Some(Stages { verify: Duration::from_millis(verify), ..Stages::default() }),
            ..Sample::default()
        };
        let stats = Stats::of(&[sample(1000, 300), sample(900, 100), sample(1200, 200)]);
        let (min, median) = stats.without_verify.unwrap();
        assert_eq!(min, Duration::from_millis(700));
        assert_eq!(median, Duration::from_millis(800));
        assert_eq!(stats.stages.unwrap().verify, Duration::from_millis(200));
    }

    #[test]
    fn timed_fails_on_nonzero_exit() {
        let error = timed(&mut Command::new("false"), None).unwrap_err();
        assert!(error.to_string().contains("false failed"), "{error}");
    }
}
