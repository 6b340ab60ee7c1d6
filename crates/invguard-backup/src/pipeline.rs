//! The streaming pipelines that write and read backup files.
//!
//! Writing: read the snapshot and hash it → zstd → OpenPGP encryption → hash and write the
//! backup file. Reading: read and hash the backup file → OpenPGP decryption → zstd → hash and
//! write a plaintext file. Each stage runs in its own thread, joined by bounded channels of
//! 256 KiB chunks, so the slowest stage sets the pace and memory stays bounded whatever the
//! database size.
//!
//! A backup run feeds the bytes it writes into a reading pipeline at the same time, so the
//! new file is decrypted and decompressed for verification without a second pass over it.

mod channel;

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use invguard_crypto::{DecryptionKeys, EncryptionKeys};
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::{BackupError, CancelToken, Digest, Phase, Progress};
use channel::{CHUNK_BYTES, ChunkReader, ChunkSender, ChunkWriter, chunk_channel};

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

/// Hashes and sizes measured while writing a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeReport {
    pub(crate) plaintext: Digest,
    pub(crate) ciphertext: Digest,
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

/// Format, keys and directory [`encode`] uses to decode what it writes, verifying it on the way.
#[derive(Clone, Copy)]
pub(crate) struct Verifier<'a> {
    /// The format being written.
    pub(crate) format: BackupFormat,
    /// Keys that decrypt it (`None` for [`BackupFormat::Zstd`]).
    pub(crate) keys: Option<&'a DecryptionKeys>,
    /// The directory for the decoded plaintext file.
    pub(crate) dest_dir: &'a Path,
}

/// The output of [`encode`].
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) report: EncodeReport,
    /// The result of decoding the written stream, when a [`Verifier`] was given.
    pub(crate) decoded: Option<Result<DecodedBackup, BackupError>>,
}

/// Compresses and encrypts `input` into `output` (mode `none` when `keys` is `None`).
///
/// With a `verifier`, every byte written is also fed to a decrypting and decompressing
/// pipeline running alongside, so verification costs no second pass over the backup. The
/// caller still compares the file on disk with the returned hash.
pub(crate) fn encode(
    input: &Path,
    output: &mut fs_err::File,
    keys: Option<&EncryptionKeys>,
    level: i32,
    verifier: Option<Verifier<'_>>,
    context: Context<'_>,
) -> Result<Encoded, BackupError> {
    let total = fs_err::metadata(input)?.len();
    let output_path = output.path().to_owned();
    let (read_sender, mut read_receiver) = chunk_channel();
    let (compressed_sender, compressed_reader) = chunk_channel();
    let read_gone = read_sender.downstream_gone();
    let compress_gone = compressed_sender.downstream_gone();

    let (read, compress, write, decoded) = std::thread::scope(|scope| {
        let read = spawn(scope, "read", move || {
            read_stage(input, read_sender, total, false, context, Phase::Write)
        });
        let compress = spawn(scope, "compress", move || {
            compress_stage(&mut read_receiver, compressed_sender, level, input)
        });
        let (tee, verify) = match verifier {
            Some(verifier) => {
                let (tee_sender, tee_reader) = chunk_channel();
                let path = &output_path;
                let handle =
                    spawn(scope, "verify", move || decode_to_temp_file(tee_reader, verifier, path));
                (Some(tee_sender.into_writer()), Some(handle))
            }
            None => (None, None),
        };
        let write = write_stage(compressed_reader, output, &output_path, keys, tee);
        let decoded = verify.map(|handle| join(handle, "verify"));
        (join(read, "read"), join(compress, "compress"), write, decoded)
    });

    let (read, read_error) = split(read);
    let (_, compress_error) = split(compress);
    let (ciphertext, write_error) = split(write);
    let stages =
        [(read_error, &*read_gone), (compress_error, &*compress_gone), (write_error, &LAST)];
    match (read, ciphertext, explaining_error(stages)) {
        (_, _, Some(error)) => Err(error),
        (Some(read), Some(ciphertext), None) => {
            let decoded = decoded.map(|decoded| {
                decoded.map(|(file, plaintext)| DecodedBackup {
                    file,
                    ciphertext: ciphertext.clone(),
                    plaintext,
                })
            });
            Ok(Encoded { report: EncodeReport { plaintext: read.digest, ciphertext }, decoded })
        }
        _ => unreachable!("a stage without result has an error"),
    }
}

/// A decoded backup: the plaintext file and the hashes measured on the way.
#[derive(Debug)]
pub struct DecodedBackup {
    /// The plaintext SQLite file in the requested directory, mode 0600, deleted on drop
    /// unless persisted. Only written to after decryption authenticated the whole message.
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
/// and on cancellation it is deleted before returning.
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
    let verifier = Verifier { format, keys, dest_dir };
    let (read_sender, read_reader) = chunk_channel();
    let read_gone = read_sender.downstream_gone();

    let (read, decoded) = std::thread::scope(|scope| {
        let read = spawn(scope, "read", move || {
            read_stage(backup, read_sender, total, true, context, Phase::Verify)
        });
        let decoded = decode_to_temp_file(read_reader, verifier, backup);
        (join(read, "read"), decoded)
    });

    let (read, read_error) = split(read);
    let (decoded, decode_error) = split(decoded);
    let stages = [(read_error, &*read_gone), (decode_error, &LAST)];
    let ciphertext = read.map(|read| read.digest);
    match (ciphertext, decoded, explaining_error(stages)) {
        (ciphertext, _, Some(error)) => Err(Box::new(DecodeFailure { error, ciphertext })),
        (Some(ciphertext), Some((file, plaintext)), None) => {
            Ok(DecodedBackup { file, ciphertext, plaintext })
        }
        _ => unreachable!("a stage without result has an error"),
    }
}

/// Decrypts (unless plain) and decompresses (unless legacy) the stream `input` of the backup
/// `backup` into a new temporary file; returns it with the plaintext digest. The file is
/// deleted on error.
fn decode_to_temp_file(
    input: ChunkReader,
    verifier: Verifier<'_>,
    backup: &Path,
) -> Result<(NamedTempFile, Digest), BackupError> {
    let mut file = tempfile::Builder::new()
        .prefix(DECODED_PREFIX)
        .suffix(".db")
        .tempfile_in(verifier.dest_dir)
        .map_err(|error| BackupError::io_at(verifier.dest_dir, error))?;
    let file_path = file.path().to_owned();
    let empty_keys = DecryptionKeys::default();
    let keys = verifier.keys.unwrap_or(&empty_keys);
    let format = verifier.format;
    let (decrypted_sender, decrypted_reader) = chunk_channel();
    let decrypt_gone = decrypted_sender.downstream_gone();

    let (decrypt, write) = std::thread::scope(|scope| {
        let (decrypt, plaintext_reader) = if format.is_encrypted() {
            let handle = spawn(scope, "decrypt", move || {
                decrypt_stage(input, decrypted_sender, keys, backup)
            });
            (Some(handle), decrypted_reader)
        } else {
            (None, input)
        };
        let write =
            plaintext_stage(plaintext_reader, file.as_file_mut(), &file_path, format, backup);
        (decrypt.map(|handle| join(handle, "decrypt")), write)
    });

    let (_, decrypt_error) = split(decrypt.unwrap_or(Ok(())));
    let (plaintext, write_error) = split(write);
    match (plaintext, explaining_error([(decrypt_error, &*decrypt_gone), (write_error, &LAST)])) {
        (_, Some(error)) => Err(error),
        (Some(plaintext), None) => Ok((file, plaintext)),
        (None, None) => unreachable!("a stage without result has an error"),
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
            if !drain {
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
    Ok(ReadReport { digest })
}

/// Reads up to one chunk, fewer only at the end of the file.
fn read_chunk(file: &mut fs_err::File) -> Result<Vec<u8>, BackupError> {
    let mut chunk = Vec::with_capacity(CHUNK_BYTES);
    Read::by_ref(file).take(CHUNK_BYTES as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

fn compress_stage(
    input: &mut ChunkReader,
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

/// Encrypts (or copies, without keys) the compressed stream into the backup file, and
/// passes every written byte on to `tee` when given.
fn write_stage(
    input: ChunkReader,
    output: &mut fs_err::File,
    path: &Path,
    keys: Option<&EncryptionKeys>,
    tee: Option<ChunkWriter>,
) -> Result<Digest, BackupError> {
    let file = BufWriter::with_capacity(CHUNK_BYTES, output);
    let mut writer = HashingWriter::new(TeeWriter { file, tee });
    match keys {
        Some(keys) => {
            invguard_crypto::encrypt(input, &mut writer, keys)
                .map_err(|source| BackupError::crypto(path, source))?;
        }
        None => {
            let mut input = input;
            io::copy(&mut input, &mut writer).map_err(|source| BackupError::io_at(path, source))?;
        }
    }
    writer.flush().map_err(|source| BackupError::io_at(path, source))?;

    let digest = writer.digest();
    if let Some(tee) = writer.inner.tee {
        // A failed end mark means verification stopped early; its own error explains why.
        let _ = tee.finish();
    }
    Ok(digest)
}

/// Writes to a file and copies the bytes to a second stream, which is dropped (and so ends
/// with an error for its reader) as soon as it fails: the file always gets every byte.
struct TeeWriter<W> {
    file: W,
    tee: Option<ChunkWriter>,
}

impl<W: Write> Write for TeeWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        if let Some(tee) = &mut self.tee
            && tee.write_all(&bytes[..written]).is_err()
        {
            self.tee = None;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
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

/// Decompresses (unless legacy) and writes the plaintext, hashing it.
fn plaintext_stage(
    input: ChunkReader,
    output: &mut std::fs::File,
    path: &Path,
    format: BackupFormat,
    backup: &Path,
) -> Result<Digest, BackupError> {
    let mut writer = HashingWriter::new(BufWriter::with_capacity(CHUNK_BYTES, output));
    let mut input = input;
    if format.is_compressed() {
        zstd::stream::copy_decode(&mut input, &mut writer)
            .map_err(|error| decode_error(error, &writer, path, backup))?;
    } else {
        io::copy(&mut input, &mut writer).map_err(|source| BackupError::io_at(path, source))?;
    }
    // No fsync: verification reads the file back at once, and a restore syncs before it
    // renames the file into place.
    writer.flush().map_err(|source| BackupError::io_at(path, source))?;
    Ok(writer.digest())
}

/// Tells a write failure (full disk) from invalid zstd data.
fn decode_error<W>(
    error: io::Error,
    writer: &HashingWriter<W>,
    path: &Path,
    backup: &Path,
) -> BackupError {
    if writer.failed {
        return BackupError::io_at(path, error);
    }
    if error.to_string() == "the previous pipeline stage stopped" {
        return BackupError::Io(error);
    }
    BackupError::Corrupt {
        path: backup.to_owned(),
        detail: format!("the zstd data is invalid ({error})"),
        source: None,
    }
}

/// A `Write` that hashes and counts everything written through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
    failed: bool,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), size: 0, failed: false }
    }

    fn digest(&self) -> Digest {
        Digest { sha256: hex::encode(self.hasher.clone().finalize()), size: self.size }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes).inspect_err(|_| self.failed = true)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
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

/// Picks the error that explains a failed pipeline: the first stage, in stream order, that
/// failed while the stage after it was still running. A stage whose next stage had stopped
/// failed only because of that; its error is returned only when no other stage has one.
fn explaining_error<const N: usize>(
    stages: [(Option<BackupError>, &AtomicBool); N],
) -> Option<BackupError> {
    let mut secondary = None;
    for (error, downstream_gone) in stages {
        match error {
            Some(error) if downstream_gone.load(Ordering::Relaxed) => {
                secondary.get_or_insert(error);
            }
            Some(error) => return Some(error),
            None => {}
        }
    }
    secondary
}
