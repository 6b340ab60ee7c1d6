//! Reader and writer adapters that count bytes and keep the caller's I/O errors apart from
//! rPGP's own errors.
//!
//! rPGP reports both a failing disk and a malformed packet as `std::io::Error`. The adapters
//! store the caller's error in a shared slot and hand rPGP a stand-in, so the crate can report
//! the caller's error as [`CryptoError::Io`](crate::CryptoError::Io) with its original source.

use std::{
    io::{self, Read, Write},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

/// A slot that stores the first I/O error of the caller's reader or writer.
#[derive(Debug, Clone, Default)]
pub(crate) struct IoErrorSlot(Arc<Mutex<Option<io::Error>>>);

impl IoErrorSlot {
    /// Stores `error` unless an earlier one is stored, and returns a stand-in for rPGP.
    fn record(&self, error: io::Error) -> io::Error {
        let stand_in = io::Error::new(error.kind(), "caller I/O failed");
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(error);
        stand_in
    }

    /// Removes and returns the stored error.
    pub(crate) fn take(&self) -> Option<io::Error> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Wraps the caller's reader: counts bytes and records errors.
///
/// The count is shared because rPGP's message builder takes the reader by value. `Debug`
/// does not require `R: Debug` because rPGP's parser needs a `Debug` reader.
pub(crate) struct TrackedReader<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
    errors: IoErrorSlot,
}

impl<R> TrackedReader<R> {
    pub(crate) fn new(inner: R, errors: IoErrorSlot) -> Self {
        Self { inner, bytes: Arc::default(), errors }
    }

    /// Returns a handle on the number of bytes read so far.
    pub(crate) fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes)
    }
}

impl<R> std::fmt::Debug for TrackedReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackedReader").field("bytes", &self.bytes).finish_non_exhaustive()
    }
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(read) => {
                self.bytes.fetch_add(read as u64, Ordering::Relaxed);
                Ok(read)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => Err(self.errors.record(error)),
        }
    }
}

/// Wraps the caller's writer: counts bytes and records errors.
#[derive(Debug)]
pub(crate) struct TrackedWriter<W> {
    inner: W,
    bytes: u64,
    errors: IoErrorSlot,
}

impl<W> TrackedWriter<W> {
    pub(crate) fn new(inner: W, errors: IoErrorSlot) -> Self {
        Self { inner, bytes: 0, errors }
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl<W: Write> Write for TrackedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(written) => {
                self.bytes += written as u64;
                Ok(written)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => Err(self.errors.record(error)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|error| self.errors.record(error))
    }
}
