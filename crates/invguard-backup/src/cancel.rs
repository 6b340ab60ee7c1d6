//! Cancellation and progress reporting shared by the long-running operations.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::BackupError;

/// A flag that asks a running backup or verification to stop.
///
/// The operation checks it between chunks, removes its temporary and partial files and returns
/// [`BackupError::Interrupted`]. Clones share one flag. A binary registers the flag for SIGINT
/// and SIGTERM, for example with `signal_hook::flag::register(SIGTERM, token.flag())`.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Creates a token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps an existing flag, for example one a signal handler sets.
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }

    /// Returns the shared flag, for registering with a signal handler.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    /// Asks every operation holding a clone of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Returns true once [`cancel`](Self::cancel) was called or the flag was set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Returns [`BackupError::Interrupted`] for `operation` when cancelled.
    pub(crate) fn check(&self, operation: &'static str) -> Result<(), BackupError> {
        if self.is_cancelled() { Err(BackupError::Interrupted { operation }) } else { Ok(()) }
    }
}

/// Receives progress of a backup or verification, for example to drive a progress bar.
///
/// Called from a pipeline thread after each chunk; implementations must be cheap. The library
/// never draws anything itself.
pub trait Progress: Send + Sync {
    /// Reports that `done` of `total` bytes of the current `phase` are processed.
    fn update(&self, phase: Phase, done: u64, total: u64);
}

/// The phase a [`Progress`] report belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Compressing and encrypting the snapshot; bytes are snapshot bytes.
    Write,
    /// Decrypting and decompressing a backup to check it; bytes are backup file bytes.
    Verify,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Write => "write",
            Phase::Verify => "verify",
        })
    }
}
