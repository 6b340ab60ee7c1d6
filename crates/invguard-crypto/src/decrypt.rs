//! Streaming decryption of OpenPGP messages with passphrases and secret keys.

use std::{
    fmt,
    io::{self, BufRead, BufReader, Read, Write},
    path::Path,
};

use pgp::{
    composed::{DecryptionOptions, Edata, Message, TheRing},
    types::Seipdv1ReadMode,
};
use tempfile::NamedTempFile;

use crate::{
    CryptoError, DecryptionKeys, session,
    stream::{IoErrorSlot, TrackedReader, TrackedWriter},
};

/// The read buffer in front of the caller's reader.
const INPUT_BUFFER_BYTES: usize = 64 * 1024;

/// Streams the OpenPGP message on `reader` as plaintext to `writer`, opening it with the
/// first passphrase or secret key in `keys` that fits. Returns the plaintext bytes written.
///
/// Accepts binary and ASCII-armored messages, with or without OpenPGP compression, from this
/// crate and from GnuPG. Memory stays bounded regardless of the message size.
///
/// # Authentication
///
/// Data written to `writer` is **not authenticated until this function returns `Ok`**. The
/// integrity check (the modification detection code of the SEIPDv1 packet) sits at the end
/// of the message, and streaming releases the plaintext before it. After an error the output
/// may hold damaged or attacker-chosen data. Decrypt into a temporary file and trust it only
/// after `Ok`, as [`decrypt_to_file`] does.
///
/// # Errors
///
/// - [`CryptoError::NotOpenPgp`], [`CryptoError::NotEncrypted`]: the input is not an
///   encrypted OpenPGP message.
/// - [`CryptoError::WrongPassphrase`]: no passphrase opens a message from this crate.
/// - [`CryptoError::WrongPassphraseOrCorrupt`]: no passphrase opens a message whose format
///   cannot tell a wrong passphrase from damage (messages from `gpg --symmetric`).
/// - [`CryptoError::NoMatchingKey`]: the message is for other keys or passphrases only.
/// - [`CryptoError::Corrupt`], [`CryptoError::Truncated`]: the message is damaged.
/// - [`CryptoError::Io`]: `reader` or `writer` failed.
pub fn decrypt<R: Read + Send, W: Write>(
    reader: R,
    writer: W,
    keys: &DecryptionKeys,
) -> Result<u64, CryptoError> {
    if keys.passphrases.is_empty() && keys.secret_keys.is_empty() {
        return Err(CryptoError::NoDecryptionKeys);
    }

    let errors = IoErrorSlot::default();
    let input =
        BufReader::with_capacity(INPUT_BUFFER_BYTES, TrackedReader::new(reader, errors.clone()));
    let mut output = TrackedWriter::new(writer, errors.clone());

    let result = decrypt_message(input, &mut output, keys);
    if let Some(io_error) = errors.take() {
        return Err(CryptoError::Io(io_error));
    }
    result?;

    tracing::debug!(plaintext_bytes = output.bytes(), "decrypted message");
    Ok(output.bytes())
}

/// Decrypts `reader` into a new temporary file in `dest_dir` and returns it once the
/// integrity check passed.
///
/// The file has mode 0600 and is deleted when the returned handle drops, unless the caller
/// persists it. On any error the file is deleted before returning.
///
/// # Errors
///
/// As [`decrypt`]; [`CryptoError::Io`] also when the temporary file cannot be created,
/// written or synced.
pub fn decrypt_to_file<R: Read + Send>(
    reader: R,
    dest_dir: &Path,
    keys: &DecryptionKeys,
) -> Result<NamedTempFile, CryptoError> {
    let mut file = tempfile::Builder::new()
        .prefix(".decrypt-")
        .suffix(".partial")
        .tempfile_in(dest_dir)
        .map_err(|error| {
            let context = format!("creating a temporary file in {}", dest_dir.display());
            CryptoError::Io(io::Error::new(error.kind(), ContextError { context, source: error }))
        })?;

    decrypt(reader, io::BufWriter::new(file.as_file_mut()), keys)?;
    file.as_file().sync_all().map_err(CryptoError::Io)?;
    Ok(file)
}

fn decrypt_message<B, W>(
    mut input: B,
    output: &mut W,
    keys: &DecryptionKeys,
) -> Result<(), CryptoError>
where
    B: BufRead + fmt::Debug + Send,
    W: Write,
{
    check_openpgp_start(&mut input)?;
    let (message, _headers) = Message::from_reader(input).map_err(parse_error)?;
    let Message::Encrypted { esk, mut edata, is_nested } = message else {
        return Err(CryptoError::NotEncrypted);
    };

    reject_unsupported(&edata)?;

    let session_key = session::find_session_key(&esk, &mut edata, keys)?;
    let ring = TheRing {
        session_keys: vec![session_key],
        decrypt_options: DecryptionOptions::new().set_seipdv1_read_mode(Seipdv1ReadMode::Streaming),
        ..TheRing::default()
    };
    let message = Message::Encrypted { esk, edata, is_nested };
    let (mut message, _) = message.decrypt_the_ring(ring, true).map_err(data_error)?;

    while message.is_compressed() {
        message = message.decompress().map_err(data_error)?;
    }
    // Written straight from the message's own buffer: `io::copy` would add a copy through a
    // small stack buffer.
    loop {
        let plaintext = message.fill_buf().map_err(|error| data_error(error.into()))?;
        if plaintext.is_empty() {
            break;
        }
        let count = plaintext.len();
        output.write_all(plaintext).map_err(|error| data_error(error.into()))?;
        message.consume(count);
    }
    output.flush().map_err(CryptoError::Io)
}

/// Rejects the encrypted data packets that GnuPG 2.2 does not write by default.
fn reject_unsupported(edata: &Edata<'_>) -> Result<(), CryptoError> {
    let detail = match edata {
        Edata::SymEncryptedProtectedData { .. } => return Ok(()),
        Edata::SymEncryptedData { .. } => {
            "the message uses encryption without integrity protection (packet type 9), which \
             cannot detect tampering; decrypt it with `gpg -d` only if you trust its source"
        }
        Edata::GnupgAeadData { .. } => {
            "the message uses GnuPG's non-standard AEAD packet (type 20) of GnuPG 2.3 and later; \
             decrypt it with such a gpg"
        }
    };
    Err(CryptoError::Unsupported { detail: detail.to_owned() })
}

/// Tells a non-OpenPGP input from a damaged message by its first bytes.
pub(crate) fn check_openpgp_start(input: &mut impl BufRead) -> Result<(), CryptoError> {
    const ARMOR_START: &[u8] = b"-----BEGIN PGP ";

    let head = input.fill_buf().map_err(CryptoError::Io)?;
    let text = head.trim_ascii_start();
    let armored = if text.len() < ARMOR_START.len() {
        !text.is_empty() && ARMOR_START.starts_with(text)
    } else {
        text.starts_with(ARMOR_START)
    };

    match head.first() {
        Some(&first) if first & 0x80 != 0 && starts_message(first) => Ok(()),
        Some(_) if armored => Ok(()),
        _ => Err(CryptoError::NotOpenPgp),
    }
}

/// Returns true when the packet header byte `first` has a tag that can open a message.
fn starts_message(first: u8) -> bool {
    let tag = if first & 0x40 != 0 { first & 0x3f } else { (first >> 2) & 0x0f };
    // Tags: 1 PKESK, 2 signature, 3 SKESK, 4 one-pass signature, 8 compressed data,
    // 9 symmetrically encrypted data, 10 marker, 11 literal data, 18 SEIPD, 20 GnuPG AEAD.
    matches!(tag, 1 | 2 | 3 | 4 | 8 | 9 | 10 | 11 | 18 | 20)
}

/// Classifies an error from parsing the message headers.
pub(crate) fn parse_error(error: pgp::errors::Error) -> CryptoError {
    if is_truncation(&error) {
        return CryptoError::Truncated { source: Some(Box::new(error)) };
    }
    CryptoError::Corrupt {
        detail: "the OpenPGP packet structure is invalid".to_owned(),
        source: Some(Box::new(error)),
    }
}

/// Classifies an error raised after a session key was found.
fn data_error(error: pgp::errors::Error) -> CryptoError {
    if is_truncation(&error) {
        return CryptoError::Truncated { source: Some(Box::new(error)) };
    }
    let detail = if is_mdc_failure(&error) {
        "the integrity check (modification detection code) failed"
    } else {
        "the decrypted packets are invalid"
    };
    CryptoError::Corrupt { detail: detail.to_owned(), source: Some(Box::new(error)) }
}

/// rPGP 0.21 reports a fixed-length packet cut short by the end of the input with this
/// message and `ErrorKind::Other`.
const SHORT_PACKET_MESSAGE: &str = "shorter than expected";

fn is_truncation(error: &pgp::errors::Error) -> bool {
    any_in_chain(error, &|error| {
        if let Some(pgp::errors::Error::PacketIncomplete { .. }) = error.downcast_ref() {
            return true;
        }
        error.downcast_ref::<io::Error>().is_some_and(|io_error| {
            io_error.kind() == io::ErrorKind::UnexpectedEof
                || io_error.to_string().contains(SHORT_PACKET_MESSAGE)
        })
    })
}

fn is_mdc_failure(error: &pgp::errors::Error) -> bool {
    any_in_chain(error, &|error| matches!(error.downcast_ref(), Some(pgp::errors::Error::MdcError)))
}

/// Returns true when `test` holds for `error` or any error it wraps, looking through
/// `io::Error::get_ref` as well as `source()`.
fn any_in_chain(
    error: &(dyn std::error::Error + 'static),
    test: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    if test(error) {
        return true;
    }
    let wrapped = error.downcast_ref::<io::Error>().and_then(io::Error::get_ref);
    if wrapped.is_some_and(|inner| any_in_chain(inner, test)) {
        return true;
    }
    error.source().is_some_and(|source| any_in_chain(source, test))
}

/// An I/O error with a sentence of context in front of its source.
#[derive(Debug)]
struct ContextError {
    context: String,
    source: io::Error,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl std::error::Error for ContextError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
