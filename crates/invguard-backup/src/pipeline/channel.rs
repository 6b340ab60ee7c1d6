//! Bounded channels of byte chunks between pipeline stages, with `Read` and `Write` ends.
//!
//! An empty chunk marks the clean end of the stream. A stream whose sender is dropped without
//! it ends with an error, so a stage never mistakes a failed upstream stage for a short input.
//! A stage waiting on a full or empty channel looks at the cancel flag every
//! [`CANCEL_TICK`], so cancellation reaches it even while its neighbour is busy.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, bounded};

use crate::CancelToken;

/// Size of one chunk in bytes.
pub(crate) const CHUNK_BYTES: usize = 256 << 10;
/// Chunks buffered in each channel; with [`CHUNK_BYTES`] this bounds each channel's memory.
const CHANNEL_CHUNKS: usize = 4;
/// How long a stage waits on its channel before it looks at the cancel flag again.
const CANCEL_TICK: Duration = Duration::from_millis(20);

/// Why a channel operation failed; the payload of the `io::Error` it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChannelError {
    /// The previous stage stopped without marking the end of the stream.
    UpstreamStopped,
    /// The next stage stopped reading.
    DownstreamStopped,
    /// The run was cancelled.
    Cancelled,
}

impl ChannelError {
    /// Returns the channel error inside `error`, if it is one.
    pub(crate) fn of(error: &io::Error) -> Option<ChannelError> {
        error.get_ref()?.downcast_ref::<ChannelError>().copied()
    }

    fn into_io(self) -> io::Error {
        let kind = match self {
            Self::UpstreamStopped | Self::Cancelled => io::ErrorKind::Other,
            Self::DownstreamStopped => io::ErrorKind::BrokenPipe,
        };
        io::Error::new(kind, self)
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UpstreamStopped => "the previous pipeline stage stopped",
            Self::DownstreamStopped => "the next pipeline stage stopped",
            Self::Cancelled => "the run was cancelled",
        })
    }
}

impl std::error::Error for ChannelError {}

/// Creates a bounded chunk channel whose ends stop waiting once `cancel` is set.
pub(crate) fn chunk_channel(cancel: &CancelToken) -> (ChunkSender, ChunkReader) {
    let (sender, receiver) = bounded(CHANNEL_CHUNKS);
    let downstream_gone = Arc::new(AtomicBool::new(false));
    let sender = ChunkSender {
        sender,
        downstream_gone: Arc::clone(&downstream_gone),
        cancel: cancel.clone(),
    };
    let reader = ChunkReader {
        receiver,
        chunk: Vec::new(),
        offset: 0,
        finished: false,
        cancel: cancel.clone(),
    };
    (sender, reader)
}

/// The sending end: whole chunks with [`send`](Self::send), or bytes through `Write`.
#[derive(Debug)]
pub(crate) struct ChunkSender {
    sender: Sender<Vec<u8>>,
    downstream_gone: Arc<AtomicBool>,
    cancel: CancelToken,
}

impl ChunkSender {
    /// Sends one non-empty chunk; fails once the receiving stage has stopped or the run is
    /// cancelled.
    pub(crate) fn send(&self, chunk: Vec<u8>) -> io::Result<()> {
        debug_assert!(!chunk.is_empty());
        self.send_raw(chunk)
    }

    /// Marks the clean end of the stream.
    pub(crate) fn finish(self) -> io::Result<()> {
        self.send_raw(Vec::new())
    }

    fn send_raw(&self, mut chunk: Vec<u8>) -> io::Result<()> {
        loop {
            match self.sender.send_timeout(chunk, CANCEL_TICK) {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Timeout(unsent)) if !self.cancel.is_cancelled() => {
                    chunk = unsent;
                }
                Err(SendTimeoutError::Timeout(_)) => return Err(ChannelError::Cancelled.into_io()),
                Err(SendTimeoutError::Disconnected(_)) => {
                    self.downstream_gone.store(true, Ordering::Relaxed);
                    return Err(ChannelError::DownstreamStopped.into_io());
                }
            }
        }
    }

    /// Returns a flag that turns true once a send failed because the receiver was dropped.
    pub(crate) fn downstream_gone(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.downstream_gone)
    }

    /// Turns the sender into a buffered `Write` that sends full chunks.
    pub(crate) fn into_writer(self) -> ChunkWriter {
        ChunkWriter { sender: self, buffer: Vec::with_capacity(CHUNK_BYTES) }
    }
}

/// A `Write` that collects bytes into chunks. Call [`finish`](Self::finish) at the end.
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    sender: ChunkSender,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    /// Sends the last partial chunk and the end mark.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.send_buffer()?;
        self.sender.finish()
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender.send(full)
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = CHUNK_BYTES - self.buffer.len();
        let taken = room.min(bytes.len());
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() == CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    /// Sends nothing: chunks go out when full or at [`finish`](ChunkWriter::finish), so that
    /// a stage that flushes often does not fill the channel with small chunks.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The receiving end as a `Read`, or chunk by chunk with [`next_chunk`](Self::next_chunk).
#[derive(Debug)]
pub(crate) struct ChunkReader {
    receiver: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    offset: usize,
    finished: bool,
    cancel: CancelToken,
}

impl ChunkReader {
    /// Returns the next chunk, or `None` at the clean end of the stream.
    pub(crate) fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.finished {
            return Ok(None);
        }
        if self.offset < self.chunk.len() {
            let rest = self.chunk.split_off(self.offset);
            self.offset = 0;
            self.chunk.clear();
            return Ok(Some(rest));
        }
        match self.receive()? {
            chunk if chunk.is_empty() => {
                self.finished = true;
                Ok(None)
            }
            chunk => Ok(Some(chunk)),
        }
    }

    fn receive(&self) -> io::Result<Vec<u8>> {
        loop {
            match self.receiver.recv_timeout(CANCEL_TICK) {
                Ok(chunk) => return Ok(chunk),
                Err(RecvTimeoutError::Timeout) if !self.cancel.is_cancelled() => {}
                Err(RecvTimeoutError::Timeout) => return Err(ChannelError::Cancelled.into_io()),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ChannelError::UpstreamStopped.into_io());
                }
            }
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

/// Lends the received chunk itself, so a reader such as the zstd decoder needs no buffer and
/// no copy of its own.
impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.offset == self.chunk.len() {
            match self.next_chunk()? {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.offset = 0;
                }
                None => return Ok(&[]),
            }
        }
        Ok(&self.chunk[self.offset..])
    }

    fn consume(&mut self, count: usize) {
        self.offset = (self.offset + count).min(self.chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_to_reader_round_trips() {
        let (sender, mut reader) = chunk_channel(&CancelToken::new());
        let data: Vec<u8> = (0..3 * CHUNK_BYTES + 17).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();

        let received = std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut writer = sender.into_writer();
                for piece in data.chunks(100_003) {
                    writer.write_all(piece).unwrap();
                }
                writer.finish().unwrap();
            });
            let mut received = Vec::new();
            reader.read_to_end(&mut received).unwrap();
            received
        });

        assert_eq!(received, expected);
    }

    #[test]
    fn buf_read_lends_each_chunk_in_turn() {
        let (sender, mut reader) = chunk_channel(&CancelToken::new());
        sender.send(b"first chunk".to_vec()).unwrap();
        sender.send(b"second".to_vec()).unwrap();
        sender.finish().unwrap();

        assert_eq!(reader.fill_buf().unwrap(), b"first chunk");
        reader.consume(6);
        assert_eq!(reader.fill_buf().unwrap(), b"chunk");
        reader.consume(5);
        assert_eq!(reader.fill_buf().unwrap(), b"second");
        reader.consume(6);
        assert_eq!(reader.fill_buf().unwrap(), b"");
    }

    #[test]
    fn reader_errors_when_sender_dropped_without_end() {
        let (sender, mut reader) = chunk_channel(&CancelToken::new());
        sender.send(vec![1, 2, 3]).unwrap();
        drop(sender);

        let mut received = Vec::new();
        let error = reader.read_to_end(&mut received).unwrap_err();

        assert_eq!(ChannelError::of(&error), Some(ChannelError::UpstreamStopped));
        assert_eq!(error.to_string(), "the previous pipeline stage stopped");
    }

    #[test]
    fn sender_flags_dropped_receiver() {
        let (sender, reader) = chunk_channel(&CancelToken::new());
        let gone = sender.downstream_gone();
        drop(reader);

        let error = sender.send(vec![1]).unwrap_err();

        assert_eq!(ChannelError::of(&error), Some(ChannelError::DownstreamStopped));
        assert!(gone.load(Ordering::Relaxed));
    }

    #[test]
    fn sender_on_full_channel_stops_when_cancelled() {
        let cancel = CancelToken::new();
        let (sender, _reader) = chunk_channel(&cancel);
        for _ in 0..CHANNEL_CHUNKS {
            sender.send(vec![0]).unwrap();
        }
        cancel.cancel();

        let error = sender.send(vec![0]).unwrap_err();

        assert_eq!(ChannelError::of(&error), Some(ChannelError::Cancelled));
    }

    #[test]
    fn reader_on_empty_channel_stops_when_cancelled() {
        let cancel = CancelToken::new();
        let (_sender, mut reader) = chunk_channel(&cancel);
        cancel.cancel();

        let error = reader.next_chunk().unwrap_err();

        assert_eq!(ChannelError::of(&error), Some(ChannelError::Cancelled));
    }
}
