//! The command notifier: a program run without a shell, with the notice as JSON on stdin.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::AttemptError;

/// How often a running command is polled for its exit.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

pub(super) fn run(
    program: &Path,
    args: &[String],
    input: &Value,
    timeout: Duration,
) -> Result<(), AttemptError> {
    let mut command = child_command(program);
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = command.spawn().map_err(|error| AttemptError::Retry {
        reason: format!("cannot start {}: {}", program.display(), error.kind()),
        after: None,
    })?;

    if let Some(mut stdin) = child.stdin.take() {
        let mut text = input.to_string();
        text.push('\n');
        // A command that exits without reading its input is judged by its exit status.
        let _ = stdin.write_all(text.as_bytes());
    }

    let status = wait_with_timeout(&mut child, timeout).map_err(|reason| AttemptError::Retry {
        reason: format!("{}: {reason}", program.display()),
        after: None,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(AttemptError::Retry {
        reason: format!("{} exited with {status}", program.display()),
        after: None,
    })
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {timeout:?} and was killed"));
            }
            Ok(None) => thread::sleep(POLL_INTERVAL),
            Err(error) => return Err(format!("cannot wait for the process: {}", error.kind())),
        }
    }
}

/// Creates the command for a child, without secret variables in its environment.
fn child_command(program: &Path) -> Command {
    invguard_config::secret_free_command(program)
}
