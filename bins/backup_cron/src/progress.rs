//! Progress bars on stderr for backup, verification and restore (bytes, rate, ETA), drawn
//! only when stderr is a terminal.
//!
//! Log lines go to stderr too. [`LogWriter`] hides the bar that is on screen while it writes a
//! line, so lines and bar do not overwrite each other.

use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use invguard_backup::{Phase, Progress};

/// The bar on screen, if any.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

const TEMPLATE: &str =
    "{prefix:>8} [{bar:32}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}";

/// A progress bar that follows the phases of one backup, verification or restore.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
    phase: Mutex<Option<Phase>>,
}

impl Bar {
    /// Returns a bar on stderr, or `None` when stderr is not a terminal.
    pub fn for_terminal(interactive: bool) -> Option<Bar> {
        if !interactive {
            return None;
        }

        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        // Hidden until the first report, so no empty bar shows while the snapshot runs.
        let bar =
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(style);
        set_active(Some(bar.clone()));
        Some(Bar { bar, phase: Mutex::new(None) })
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        set_active(None);
        self.bar.finish_and_clear();
    }
}

/// The writer of log lines: stderr, with the active progress bar hidden during each write.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let active = ACTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        match active {
            Some(bar) => bar.suspend(|| io::stderr().write(buf)),
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

fn set_active(bar: Option<ProgressBar>) {
    *ACTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = bar;
}

impl Progress for Bar {
    fn update(&self, phase: Phase, done: u64, total: u64) {
        let mut current = self.phase.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *current != Some(phase) {
            if current.is_none() {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            *current = Some(phase);
            self.bar.reset();
            self.bar.set_prefix(phase.to_string());
        }
        self.bar.set_length(total);
        self.bar.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}
