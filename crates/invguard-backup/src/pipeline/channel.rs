//! Bounded channels of byte chunks between pipeline stages, with `Read` and `Write` ends.
//!
//! An empty chunk marks the clean end of the stream. A stream whose sender is dropped without
//! it ends with an error, so a stage never mistakes a failed upstream stage for a short input.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Size of one chunk in bytes.
pub(crate) const CHUNK_BYTES: usize = 256 << 10;
/// Chunks buffered in each channel; with [`CHUNK_BYTES`] this bounds each channel's memory.
const CHANNEL_CHUNKS: usize = 4;

/// Creates a bounded chunk channel.
pub(crate) fn chunk_channel() -> (ChunkSender, ChunkReader) {
    let (sender, receiver) = sync_channel(CHANNEL_CHUNKS);
    let downstream_gone = Arc::new(AtomicBool::new(false));
    let sender = ChunkSender { sender, downstream_gone: Arc::clone(&downstream_gone) };
    let reader = ChunkReader { receiver, chunk: Vec::new(), offset: 0, finished: false };
    (sender, reader)
}

/// The sending end: whole chunks with [`send`](Self::send), or bytes through `Write`.
#[derive(Debug)]
pub(crate) struct ChunkSender {
    sender: SyncSender<Vec<u8>>,
    downstream_gone: Arc<AtomicBool>,
}

impl ChunkSender {
    /// Sends one non-empty chunk; fails once the receiving stage has stopped.
    pub(crate) fn send(&self, chunk: Vec<u8>) -> io::Result<()> {
        debug_assert!(!chunk.is_empty());
        self.sender.send(chunk).map_err(|_| {
            self.downstream_gone.store(true, Ordering::Relaxed);
            io::Error::new(io::ErrorKind::BrokenPipe, "the next pipeline stage stopped")
        })
    }

    /// Marks the clean end of the stream.
    pub(crate) fn finish(self) -> io::Result<()> {
        self.sender.send(Vec::new()).map_err(|_| {
            self.downstream_gone.store(true, Ordering::Relaxed);
            io::Error::new(io::ErrorKind::BrokenPipe, "the next pipeline stage stopped")
        })
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
        match self.receiver.recv() {
            Ok(chunk) if chunk.is_empty() => {
                self.finished = true;
                Ok(None)
            }
            Ok(chunk) => Ok(Some(chunk)),
            Err(_) => Err(io::Error::other("the previous pipeline stage stopped")),
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.offset == self.chunk.len() {
            match self.next_chunk()? {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.offset = 0;
                }
                None => return Ok(0),
            }
        }
        let available = &self.chunk[self.offset..];
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.offset += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_to_reader_round_trips() {
        let (sender, mut reader) = chunk_channel();
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
    fn reader_errors_when_sender_dropped_without_end() {
        let (sender, mut reader) = chunk_channel();
        sender.send(vec![1, 2, 3]).unwrap();
        drop(sender);

        let mut received = Vec::new();
        let error = reader.read_to_end(&mut received).unwrap_err();

        assert_eq!(error.to_string(), "the previous pipeline stage stopped");
    }

    #[test]
    fn sender_flags_dropped_receiver() {
        let (sender, reader) = chunk_channel();
        let gone = sender.downstream_gone();
        drop(reader);

        assert!(sender.send(vec![1]).is_err());
        assert!(gone.load(Ordering::Relaxed));
    }
}
