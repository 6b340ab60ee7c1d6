//! One child process of a run: started without secrets in its environment or arguments, with
//! the daemon's configuration on its standard input, and stopped with SIGTERM then SIGKILL when
//! it runs too long or the daemon shuts down.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use invguard_config::secret_free_command;
use rustix::process::{Pid, Signal, kill_process_group};

use crate::daemon::jobs::Step;

/// Time a child gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// How often a waiting worker checks whether its child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Environment variable that names the job to its child processes, so that the error that
/// ends a step is logged with the job's name. It contains no secret.
pub const JOB_ENV: &str = "BACKUP_CRON_JOB";

/// Program and global options of the daemon, passed on so that children read the handed-over
/// configuration and log the same way.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// This executable.
    pub program: PathBuf,
    /// Global options to pass on: `--config-stdin`, `-v`, `--log-format json`, ...
    pub global_args: Vec<OsString>,
}

/// End of a child process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildEnd {
    /// It exited by itself.
    Exited(ExitStatus),
    /// It ran past its deadline and was stopped.
    TimedOut,
    /// The daemon cancelled it.
    Cancelled,
}

/// Starts one step of `job` as a child process in its own process group, so that a
/// terminal's Ctrl-C reaches only the daemon, which decides when to stop its children.
///
/// `handoff` is the daemon's configuration in force, secrets included, from
/// [`invguard_config::encode_handoff`]. The child reads it from its standard input, a pipe, so
/// it never touches a file. It does not load the file and the environment, because they may
/// have changed since the daemon loaded them and lack the secrets that [`secret_free_command`]
/// removes.
pub fn spawn(
    invocation: &Invocation,
    job: &str,
    step: &Step,
    handoff: &[u8],
) -> anyhow::Result<Child> {
    let mut command = secret_free_command(&invocation.program);
    command.args(&invocation.global_args).args(step.args).env(JOB_ENV, job);
    command.process_group(0).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::inherit());

    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", invocation.program.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A child that exits before it reads everything closes the pipe. Its exit status then
        // shows what happened, so the write error adds nothing.
        if let Err(error) = stdin.write_all(handoff) {
            tracing::debug!(pid = child.id(), error = %error, "child closed its standard input early");
        }
    }
    Ok(child)
}

/// Waits for `child` until it exits, `deadline` passes or `cancel` fires (a message or a
/// dropped sender), stopping it in the latter two cases.
pub fn wait(
    child: &mut Child,
    deadline: Instant,
    cancel: &Receiver<()>,
) -> anyhow::Result<ChildEnd> {
    loop {
        if let Some(status) = child.try_wait().context("cannot wait for a child")? {
            return Ok(ChildEnd::Exited(status));
        }
        let now = Instant::now();
        if now >= deadline {
            stop(child)?;
            return Ok(ChildEnd::TimedOut);
        }

        match cancel.recv_timeout(POLL_INTERVAL.min(deadline - now)) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                stop(child)?;
                return Ok(ChildEnd::Cancelled);
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Sends SIGTERM to the child's process group, then SIGKILL if it is still there after
/// [`STOP_GRACE`]; reaps the child.
fn stop(child: &mut Child) -> anyhow::Result<()> {
    let group = Pid::from_child(child);
    tracing::debug!(pid = child.id(), "sending SIGTERM to child");
    // An error means the group is gone already, which is what is wanted.
    let _ = kill_process_group(group, Signal::TERM);

    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if child.try_wait().context("cannot wait for a child")?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    tracing::warn!(
        pid = child.id(),
        grace_ms = STOP_GRACE.as_millis() as u64,
        "child ignored SIGTERM, sending SIGKILL"
    );
    let _ = kill_process_group(group, Signal::KILL);
    child.wait().context("cannot wait for a child")?;
    Ok(())
}
