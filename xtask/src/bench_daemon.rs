//! Benchmark row for the scheduler daemon: CPU time and memory of `backup_cron run` while it
//! waits for its next job.
//!
//! The daemon gets one job scheduled a year ahead, starts, and is left alone for
//! [`IDLE_WINDOW`]. The row's time columns show the CPU time (user and system) it used in that
//! window, read from `/proc/<pid>/stat`. The memory column shows its peak resident set size
//! (`VmHWM` in `/proc/<pid>/status`). Linux only.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::bench::Setup;
use crate::bench::cases::{Case, Input, Section};
use crate::bench::measure::Sample;
use crate::tools;

/// Row name of the idle daemon.
pub const IDLE: &str = "backup_cron run, idle for 10 s (time columns: CPU time used)";

/// How long the daemon is watched while it waits.
const IDLE_WINDOW: Duration = Duration::from_secs(10);

/// Time the daemon gets to start and settle before the window opens.
const START_TIME: Duration = Duration::from_secs(2);

/// The target: at most this much CPU while idle, which is one clock tick at 100 Hz.
pub const IDLE_CPU_LIMIT: Duration = Duration::from_millis(10);

/// The target: peak memory of the idle daemon below this.
pub const IDLE_MEMORY_LIMIT: u64 = 10 << 20;

/// Returns the daemon section of the report.
pub fn sections() -> Vec<Section> {
    vec![Section {
        title: "Scheduler daemon",
        before: |_, _| Ok(()),
        cases: vec![Case { name: IDLE, ours: true, run: idle_daemon }],
    }]
}

fn idle_daemon(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let dir = input.dir.join("daemon");
    tools::create_private_dir(&dir)?;
    let config = write_config(&dir, &input.database)?;

    let mut daemon = Command::new(&setup.backup_cron)
        .arg("--config")
        .arg(&config)
        .args(["-q", "run"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", setup.backup_cron.display()))?;

    let measured = measure_idle(&daemon);
    let stopped = stop(&mut daemon);
    let (cpu, peak_rss) = measured?;
    stopped?;
    Ok(Sample { wall: cpu, peak_rss: Some(peak_rss), ..Sample::default() })
}

/// Returns the CPU time used during the idle window and the peak resident set size.
fn measure_idle(daemon: &Child) -> anyhow::Result<(Duration, u64)> {
    std::thread::sleep(START_TIME);
    let ticks_per_second = tools::clock_ticks_per_second()?;

    let before = cpu_ticks(daemon.id())?;
    std::thread::sleep(IDLE_WINDOW);
    let after = cpu_ticks(daemon.id())?;

    let cpu = Duration::from_secs_f64((after - before) as f64 / ticks_per_second as f64);
    Ok((cpu, peak_rss(daemon.id())?))
}

/// Sends SIGTERM and checks that the daemon exits with status 0.
fn stop(daemon: &mut Child) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .context("cannot run kill")?;
    if !status.success() {
        let _ = daemon.kill();
        bail!("kill -TERM {} failed with {status}", daemon.id());
    }
    let exit = daemon.wait().context("cannot wait for the daemon")?;
    if !exit.success() {
        bail!("the idle daemon exited with {exit} after SIGTERM");
    }
    Ok(())
}

/// Writes a configuration whose only job runs once a year, on January 1st at 02:00.
fn write_config(dir: &Path, database: &Path) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join("daemon.toml");
    let text = format!(
        "timezone = \"UTC\"\n\n[database]\npath = {:?}\n\n[backup]\ndir = {:?}\n\n\
         [encryption]\nmode = \"none\"\n\n[state]\ndir = {:?}\n\n\
         [api]\nurl = \"http://127.0.0.1:9/api\"\n\n\
         [jobs.backup]\nschedule = \"0 2 1 1 *\"\n\n[jobs.health]\nenabled = false\n\n\
         [jobs.maintenance]\nenabled = false\n\n[jobs.full-check]\nenabled = false\n",
        database.display().to_string(),
        dir.join("backups").display().to_string(),
        dir.join("state").display().to_string(),
    );
    tools::write_private_file(&path, text.as_bytes())?;
    Ok(path)
}

/// User plus system CPU time of a process, in clock ticks (fields 14 and 15 of
/// `/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let pid = pid.to_string();
    Ok(tools::proc_stat_field(&pid, 14)? + tools::proc_stat_field(&pid, 15)?)
}

/// Peak resident set size of a process in bytes (`VmHWM` of `/proc/<pid>/status`).
fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = fs_err::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).context("no VmHWM")?;
    let kib: u64 = line.split_whitespace().nth(1).context("no VmHWM value")?.parse()?;
    Ok(kib * 1024)
}
