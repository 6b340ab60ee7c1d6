//! Consistent, encrypted, verified backups of a live SQLite database.
#![deny(missing_docs)]

mod cancel;
mod error;
mod files;
mod keys;
mod lock;
mod manifest;
mod names;
mod pipeline;
pub mod retention;
mod snapshot;
mod source;

pub use cancel::{CancelToken, Phase, Progress};
pub use error::BackupError;
pub use keys::{decryption_keys, encryption_keys};
pub use lock::{DirLock, LOCK_FILE_NAME, lock_path};
pub use manifest::{
    CompressionInfo, DatabaseInfo, Digest, EncryptionInfo, EncryptionKind, FORMAT_VERSION,
    FileInfo, Manifest, SqliteInfo, Verification, VerificationLevel, VerificationResult,
};
pub use names::{
    BackupName, ENCRYPTED_EXTENSION, MANIFEST_EXTENSION, PARTIAL_EXTENSION, PLAIN_EXTENSION,
};
pub use pipeline::{BackupFormat, DecodedBackup, decode_backup};
