//! The streaming pipelines that write and read backup files.
//!
//! Writing: read the snapshot (a file, or pages streamed from the live database) and hash
//! it → zstd (with its own worker threads) → OpenPGP encryption, hash and write of the backup
//! file. Reading: read and hash the backup file →
//! OpenPGP decryption → zstd decompression → hash → write of a plaintext file. Each stage
//! runs in its own thread, joined by bounded channels of 256 KiB chunks, so the slowest stage
//! sets the pace and memory stays bounded whatever the database size.
//!
//! # Cancellation
//!
//! Every stage looks at the cancel flag between chunks, also while it waits on a channel, so
//! a cancelled run returns within a few milliseconds plus the time of one chunk. The one
//! exception is zstd: a compression job cannot be interrupted, and a job at level 19 takes
//! seconds. The compression stage therefore runs on a thread that a cancelled run does not
//! wait for. That thread stops by itself once zstd returns control, and its only output is a
//! channel whose reader is gone.

mod channel;

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use invguard_crypto::{DecryptionKeys, EncryptionKeys};
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::snapshot::PageStream;
use crate::{BackupError, CancelToken, Digest, Phase, Progress};
use channel::{CHUNK_BYTES, ChannelError, ChunkReader, ChunkSender, chunk_channel};

/// zstd job size in multithreaded mode. zstd's default for level 3 is 8 MiB per job, and
/// memory grows with job size times workers; 2 MiB keeps the whole pipeline well under 64 MiB.
const ZSTD_JOB_BYTES: u32 = 2 << 20;

/// Prefix of decoded plaintext files in the temporary directory.
pub(crate) const DECODED_PREFIX: &str = "invguard-verify-";

/// Cancellation, progress and operation name of a pipeline run.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) cancel: &'a CancelToken,
    pub(crate) progress: Option<&'a dyn Progress>,
    pub(crate) operation: &'static str,
}

impl Context<'_> {
    fn interrupted(&self) -> BackupError {
        BackupError::Interrupted { operation: self.operation }
    }
}

/// Hashes and sizes measured while writing a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeReport {
    pub(crate) plaintext: Digest,
    pub(crate) ciphertext: Digest,
    /// The time the read transaction was open, when the pages were streamed.
    pub(crate) read_transaction: Option<Duration>,
}

/// The encoding of a backup file, known from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupFormat {
    /// `.db.zst.gpg`: zstd, then OpenPGP.
    ZstdOpenPgp,
    /// `.db.zst`: zstd only (`[encryption] mode = "none"`).
    Zstd,
    /// Any other `.gpg`: a backup of the Python service, plain SQLite inside `gpg --symmetric`.
    LegacyOpenPgp,
}

impl BackupFormat {
    /// Returns the format of the backup file named `file_name`, or `None` for other files.
    pub fn from_file_name(file_name: &str) -> Option<Self> {
        if file_name.ends_with(crate::ENCRYPTED_EXTENSION) {
            Some(Self::ZstdOpenPgp)
        } else if file_name.ends_with(crate::PLAIN_EXTENSION) {
            Some(Self::Zstd)
        } else if file_name.ends_with(".gpg") {
            Some(Self::LegacyOpenPgp)
        } else {
            None
        }
    }

    /// Returns true when the file is OpenPGP-encrypted.
    pub fn is_encrypted(self) -> bool {
        !matches!(self, Self::Zstd)
    }

    fn is_compressed(self) -> bool {
        !matches!(self, Self::LegacyOpenPgp)
    }
}

/// The input of a backup: the database pages, from a snapshot file or streamed.
#[derive(Debug)]
pub(crate) enum Plaintext {
    /// A snapshot file.
    File(PathBuf),
    /// The live database's pages, read inside an open read transaction that ends once the
    /// last page is read.
    Pages(PageStream),
}

/// Compresses and encrypts `input` into `output` (mode `none` when `keys` is `None`).
///
/// Returns the digests of both streams; the caller syncs the file and verifies it.
pub(crate) fn encode(
    input: Plaintext,
    output: &mut fs_err::File,
    keys: Option<&EncryptionKeys>,
    level: i32,
    context: Context<'_>,
) -> Result<EncodeReport, BackupError> {
    let (source, total) = match input {
        Plaintext::File(ref path) => (path.clone(), fs_err::metadata(path)?.len()),
        Plaintext::Pages(ref pages) => (pages.path().to_owned(), pages.size()),
    };
    let output_path = output.path().to_owned();
    let (read_sender, read_receiver) = chunk_channel(context.cancel);
    let (compressed_sender, compressed_reader) = chunk_channel(context.cancel);
    let read_gone = read_sender.downstream_gone();
    let compress_gone = compressed_sender.downstream_gone();

    let compress = spawn_detached("compress", move || {
        compress_stage(read_receiver, compressed_sender, level, &source)
    });
    let (read, write) = std::thread::scope(|scope| {
        let read = spawn(scope, "read", move || match input {
            Plaintext::File(path) => {
                read_stage(&path, read_sender, total, false, context, Phase::Write)
            }
            Plaintext::Pages(pages) => pages_stage(pages, read_sender, total, context),
        });
        let write = write_stage(compressed_reader, output, &output_path, keys);
        (join(read, "read"), write)
    });
    if write.is_err() && context.cancel.is_cancelled() {
        // Not joined: the thread may sit inside a zstd job for seconds (see the module docs).
        drop(compress);
        return Err(context.interrupted());
    }
    let compress = compress.join().unwrap_or(Err(BackupError::StagePanicked { stage: "compress" }));

    let (read, read_error) = split(read);
    let (_, compress_error) = split(compress);
    let (ciphertext, write_error) = split(write);
    let stages =
        [(read_error, &*read_gone), (compress_error, &*compress_gone), (write_error, &LAST)];
    match (read, ciphertext, explaining_error(stages, context)) {
        (_, _, Some(error)) => Err(error),
        (Some(read), Some(ciphertext), None) => Ok(EncodeReport {
            plaintext: read.digest,
            ciphertext,
            read_transaction: read.read_transaction,
        }),
        _ => unreachable!("a stage without result has an error"),
    }
}

/// A decoded backup: the plaintext file and the hashes measured on the way.
#[derive(Debug)]
pub struct DecodedBackup {
    /// The plaintext SQLite file in the requested directory, mode 0600, deleted on drop
    /// unless persisted. Only trustworthy because decryption authenticated the whole message
    /// before this value was returned.
    pub file: NamedTempFile,
    /// SHA-256 and size of the backup file as read.
    pub ciphertext: Digest,
    /// SHA-256 and size of the plaintext.
    pub plaintext: Digest,
}

/// Decrypts and decompresses the backup `backup` into a new temporary file in `dest_dir`.
///
/// `keys` may be `None` for [`BackupFormat::Zstd`]. The file is kept only when every stage
/// succeeded, including the integrity check at the end of the OpenPGP message; on any error
/// and on cancellation it is deleted before returning. The file is not synced.
///
/// # Errors
///
/// [`BackupError::WrongPassphrase`], [`BackupError::Corrupt`], [`BackupError::NotOpenPgp`]
/// and other [`BackupError`] variants naming `backup`; [`BackupError::Interrupted`] when
/// `cancel` is set; [`BackupError::DiskFull`] naming the plaintext file.
pub fn decode_backup(
    backup: &Path,
    format: BackupFormat,
    keys: Option<&DecryptionKeys>,
    dest_dir: &Path,
    cancel: &CancelToken,
    progress: Option<&dyn Progress>,
) -> Result<DecodedBackup, BackupError> {
    let context = Context { cancel, progress, operation: "verification" };
    decode(backup, format, keys, dest_dir, context).map_err(|failure| failure.error)
}

/// Does what [`decode_backup`] does, keeping the file digest of a failed run.
pub(crate) fn decode(
    backup: &Path,
    format: BackupFormat,
    keys: Option<&DecryptionKeys>,
    dest_dir: &Path,
    context: Context<'_>,
) -> Result<DecodedBackup, Box<DecodeFailure>> {
    let failure = |error| Box::new(DecodeFailure { error, ciphertext: None });
    let total = fs_err::metadata(backup).map_err(|error| failure(BackupError::Io(error)))?.len();
    let mut file = tempfile::Builder::new()
        .prefix(DECODED_PREFIX)
        .suffix(".db")
        .tempfile_in(dest_dir)
        .map_err(|error| failure(BackupError::io_at(dest_dir, error)))?;
    let file_path = file.path().to_owned();
    let empty_keys = DecryptionKeys::default();
    let keys = keys.unwrap_or(&empty_keys);

    let (read_sender, ciphertext_reader) = chunk_channel(context.cancel);
    let read_gone = read_sender.downstream_gone();
    let (read, decrypt, decompress, hash, write) = std::thread::scope(|scope| {
        let read = spawn(scope, "read", move || {
            read_stage(backup, read_sender, total, true, context, Phase::Verify)
        });
        let (decrypt, decrypted) = if format.is_encrypted() {
            let (sender, reader) = chunk_channel(context.cancel);
            let gone = sender.downstream_gone();
            let handle = spawn(scope, "decrypt", move || {
                decrypt_stage(ciphertext_reader, sender, keys, backup)
            });
            (Some((handle, gone)), reader)
        } else {
            (None, ciphertext_reader)
        };
        let (decompress, plaintext) = if format.is_compressed() {
            let (sender, reader) = chunk_channel(context.cancel);
            let gone = sender.downstream_gone();
            let handle =
                spawn(scope, "decompress", move || decompress_stage(decrypted, sender, backup));
            (Some((handle, gone)), reader)
        } else {
            (None, decrypted)
        };
        // Hashing has its own thread: on the writing thread it would add its time to the
        // write's, and together they would be the slowest stage.
        let (hash_sender, hashed) = chunk_channel(context.cancel);
        let hash_gone = hash_sender.downstream_gone();
        let hash = spawn(scope, "hash", move || hash_stage(plaintext, hash_sender));
        let write = write_plaintext(hashed, file.as_file_mut(), &file_path);
        let decrypt = decrypt.map(|(handle, gone)| (join(handle, "decrypt"), gone));
        let decompress = decompress.map(|(handle, gone)| (join(handle, "decompress"), gone));
        (join(read, "read"), decrypt, decompress, (join(hash, "hash"), hash_gone), write)
    });

    let (read, read_error) = split(read);
    let (decrypt, decrypt_gone) = decrypt.unwrap_or_else(|| (Ok(()), Default::default()));
    let (decompress, decompress_gone) = decompress.unwrap_or_else(|| (Ok(()), Default::default()));
    let (plaintext, hash_error) = split(hash.0);
    let stages = [
        (read_error, &*read_gone),
        (decrypt.err(), &*decrypt_gone),
        (decompress.err(), &*decompress_gone),
        (hash_error, &*hash.1),
        (write.err(), &LAST),
    ];
    let ciphertext = read.map(|read| read.digest);
    match (ciphertext, plaintext, explaining_error(stages, context)) {
        (ciphertext, _, Some(error)) => Err(Box::new(DecodeFailure { error, ciphertext })),
        (Some(ciphertext), Some(plaintext), None) => {
            Ok(DecodedBackup { file, ciphertext, plaintext })
        }
        _ => unreachable!("a stage without result has an error"),
    }
}

/// A failed decode, with the digest of the backup file when it was read to the end.
#[derive(Debug)]
pub(crate) struct DecodeFailure {
    pub(crate) error: BackupError,
    pub(crate) ciphertext: Option<Digest>,
}

struct ReadReport {
    digest: Digest,
    /// The time the read transaction of streamed pages was open.
    read_transaction: Option<Duration>,
}

/// Reads `path` in chunks, hashing every byte, and sends the chunks on. With `drain`, keeps
/// reading and hashing after the next stage stopped, so the digest always covers the file.
fn read_stage(
    path: &Path,
    sender: ChunkSender,
    total: u64,
    drain: bool,
    context: Context<'_>,
    phase: Phase,
) -> Result<ReadReport, BackupError> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut sending = true;

    loop {
        context.cancel.check(context.operation)?;
        let chunk = read_chunk(&mut file)?;
        if chunk.is_empty() {
            break;
        }
        hasher.update(&chunk);
        size += chunk.len() as u64;
        if let Some(progress) = context.progress {
            progress.update(phase, size, total);
        }
        if sending && let Err(error) = sender.send(chunk) {
            if !drain || ChannelError::of(&error) == Some(ChannelError::Cancelled) {
                return Err(BackupError::Io(error));
            }
            sending = false;
        }
    }
    if sending {
        // A failed end mark means the next stage stopped; its own error explains why.
        let _ = sender.finish();
    }

    let digest = Digest { sha256: hex::encode(hasher.finalize()), size };
    Ok(ReadReport { digest, read_transaction: None })
}

/// Streams the pages of `pages` on, hashing every byte, and ends the read transaction.
fn pages_stage(
    pages: PageStream,
    sender: ChunkSender,
    total: u64,
    context: Context<'_>,
) -> Result<ReadReport, BackupError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    pages.for_each_chunk(CHUNK_BYTES, |chunk| {
        context.cancel.check(context.operation)?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        if let Some(progress) = context.progress {
            progress.update(Phase::Write, size, total);
        }
        sender.send(chunk).map_err(BackupError::Io)
    })?;
    let read_transaction = pages.elapsed();
    drop(pages);
    // A failed end mark means the next stage stopped; its own error explains why.
    let _ = sender.finish();
    let digest = Digest { sha256: hex::encode(hasher.finalize()), size };
    Ok(ReadReport { digest, read_transaction: Some(read_transaction) })
}

/// Reads up to one chunk, fewer only at the end of the input.
fn read_chunk(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(CHUNK_BYTES);
    input.take(CHUNK_BYTES as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

fn compress_stage(
    mut input: ChunkReader,
    output: ChunkSender,
    level: i32,
    source: &Path,
) -> Result<(), BackupError> {
    let mut encoder = zstd_encoder(output.into_writer(), level).map_err(BackupError::Io)?;
    while let Some(chunk) = input.next_chunk().map_err(BackupError::Io)? {
        encoder.write_all(&chunk).map_err(BackupError::Io)?;
    }
    let writer = encoder.finish().map_err(BackupError::Io)?;
    writer.finish().map_err(BackupError::Io)?;
    tracing::trace!(source = %source.display(), "compression finished");
    Ok(())
}

fn zstd_encoder<W: Write>(writer: W, level: i32) -> io::Result<zstd::Encoder<'static, W>> {
    let mut encoder = zstd::Encoder::new(writer, level)?;
    encoder.include_checksum(true)?;
    let workers = std::thread::available_parallelism().map_or(1, |count| count.get() as u32);
    if workers > 1 {
        encoder.multithread(workers)?;
        encoder.set_parameter(zstd::zstd_safe::CParameter::JobSize(ZSTD_JOB_BYTES))?;
    }
    Ok(encoder)
}

/// Encrypts (or copies, without keys) the compressed stream into the backup file, hashing
/// what it writes.
fn write_stage(
    input: ChunkReader,
    output: &mut fs_err::File,
    path: &Path,
    keys: Option<&EncryptionKeys>,
) -> Result<Digest, BackupError> {
    let mut writer = HashingWriter::new(BufWriter::with_capacity(CHUNK_BYTES, output));
    let mut input = input;
    match keys {
        Some(keys) => {
            invguard_crypto::encrypt(input, &mut writer, keys)
                .map_err(|source| BackupError::crypto(path, source))?;
        }
        None => {
            io::copy(&mut input, &mut writer).map_err(|source| BackupError::io_at(path, source))?;
        }
    }
    writer.flush().map_err(|source| BackupError::io_at(path, source))?;
    Ok(writer.digest())
}

fn decrypt_stage(
    input: ChunkReader,
    output: ChunkSender,
    keys: &DecryptionKeys,
    backup: &Path,
) -> Result<(), BackupError> {
    let mut writer = output.into_writer();
    invguard_crypto::decrypt(input, &mut writer, keys)
        .map_err(|source| BackupError::crypto(backup, source))?;
    writer.finish().map_err(BackupError::Io)
}

/// Decompresses the zstd stream `input` into chunks of plaintext.
fn decompress_stage(
    input: ChunkReader,
    output: ChunkSender,
    backup: &Path,
) -> Result<(), BackupError> {
    let mut decoder = zstd::Decoder::with_buffer(input).map_err(BackupError::Io)?;
    loop {
        let chunk = read_chunk(&mut decoder).map_err(|error| zstd_error(error, backup))?;
        if chunk.is_empty() {
            break;
        }
        output.send(chunk).map_err(BackupError::Io)?;
    }
    output.finish().map_err(BackupError::Io)
}

/// Tells a failure of a neighbouring stage from invalid zstd data.
fn zstd_error(error: io::Error, backup: &Path) -> BackupError {
    if ChannelError::of(&error).is_some() {
        return BackupError::Io(error);
    }
    BackupError::Corrupt {
        path: backup.to_owned(),
        detail: format!("the zstd data is invalid ({error})"),
        source: None,
    }
}

/// Hashes the plaintext chunks and passes them on.
fn hash_stage(mut input: ChunkReader, output: ChunkSender) -> Result<Digest, BackupError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = input.next_chunk().map_err(BackupError::Io)? {
        hasher.update(&chunk);
        size += chunk.len() as u64;
        output.send(chunk).map_err(BackupError::Io)?;
    }
    output.finish().map_err(BackupError::Io)?;
    Ok(Digest { sha256: hex::encode(hasher.finalize()), size })
}

/// Writes the plaintext chunks to `output`.
fn write_plaintext(
    mut input: ChunkReader,
    output: &mut std::fs::File,
    path: &Path,
) -> Result<(), BackupError> {
    while let Some(chunk) = input.next_chunk().map_err(BackupError::Io)? {
        output.write_all(&chunk).map_err(|source| BackupError::io_at(path, source))?;
    }
    // No fsync: verification reads the file back at once, and a restore syncs before it
    // renames the file into place.
    Ok(())
}

/// A `Write` that hashes and counts everything written through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), size: 0 }
    }

    fn digest(&self) -> Digest {
        Digest { sha256: hex::encode(self.hasher.clone().finalize()), size: self.size }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    stage: &'static str,
    work: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    std::thread::Builder::new()
        .name(format!("invguard-{stage}"))
        .spawn_scoped(scope, work)
        .unwrap_or_else(|error| panic!("cannot start the {stage} thread: {error}"))
}

/// Starts a stage that owns everything it uses, so that a cancelled run may leave without
/// waiting for it.
fn spawn_detached<T: Send + 'static>(
    stage: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(format!("invguard-{stage}"))
        .spawn(work)
        .unwrap_or_else(|error| panic!("cannot start the {stage} thread: {error}"))
}

fn join<T>(
    handle: std::thread::ScopedJoinHandle<'_, Result<T, BackupError>>,
    stage: &'static str,
) -> Result<T, BackupError> {
    handle.join().unwrap_or(Err(BackupError::StagePanicked { stage }))
}

/// The downstream flag of the last stage, which has no next stage.
static LAST: AtomicBool = AtomicBool::new(false);

fn split<T, E>(result: Result<T, E>) -> (Option<T>, Option<E>) {
    match result {
        Ok(value) => (Some(value), None),
        Err(error) => (None, Some(error)),
    }
}

/// Picks the error that explains a failed pipeline: [`BackupError::Interrupted`] after a
/// cancellation, else the first stage, in stream order, that failed while the stage after it
/// was still running. A stage whose next stage had stopped failed only because of that; its
/// error is returned only when no other stage has one.
fn explaining_error<const N: usize>(
    stages: [(Option<BackupError>, &AtomicBool); N],
    context: Context<'_>,
) -> Option<BackupError> {
    let mut secondary = None;
    let mut failed = false;
    for (error, downstream_gone) in stages {
        match error {
            Some(_) if context.cancel.is_cancelled() => failed = true,
            Some(error) if downstream_gone.load(Ordering::Relaxed) => {
                secondary.get_or_insert(error);
            }
            Some(error) => return Some(error),
            None => {}
        }
    }
    if failed {
        return Some(context.interrupted());
    }
    secondary
}
