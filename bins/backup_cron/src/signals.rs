//! SIGINT and SIGTERM handling for long-running commands.
//!
//! The first signal sets the library's cancellation flag, so the running operation removes its
//! temporary and partial files and returns. A second signal of the same kind ends the process
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use invguard_backup::{BackupError, CancelToken};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

use crate::exit::{Exit, Interrupted};

/// The signals that cancel an operation, with the exit code used when it arrives twice.
const SIGNALS: [(i32, Exit); 2] = [(SIGINT, Exit::Sigint), (SIGTERM, Exit::Sigterm)];

/// Cancellation by signal: the token to hand to the library and the signal that set it.
#[derive(Debug)]
pub struct Interrupt {
    token: CancelToken,
    received: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Registers the handlers; call once, before the operation starts.
    pub fn install() -> anyhow::Result<Self> {
        let token = CancelToken::new();
        let received = Arc::new(AtomicUsize::new(0));

        for (signal, exit) in SIGNALS {
            // Registered first, so it reads the flag as it was before this signal set it.
            flag::register_conditional_shutdown(signal, exit as i32, token.flag())
                .context("cannot install a signal handler")?;
            flag::register(signal, token.flag()).context("cannot install a signal handler")?;
            flag::register_usize(signal, Arc::clone(&received), signal as usize)
                .context("cannot install a signal handler")?;
        }
        Ok(Interrupt { token, received })
    }

    /// The token that signals cancel.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// Converts a library error, naming the signal when the error is the cancellation it
    /// caused, so the process exits with 130 or 143.
    pub fn attach(&self, error: BackupError) -> anyhow::Error {
        match self.received() {
            Some(signal) if error.is_interrupted() => {
                anyhow::Error::new(error).context(Interrupted { signal })
            }
            _ => error.into(),
        }
    }

    /// The signal that cancelled the operation, if one arrived.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }
}
