//! Consistent, encrypted, verified backups of a live SQLite database.
//!
//! [`run_backup`] takes one backup of the configured database while the application keeps
//! writing to it. It reads the database page by page in a single read transaction, compresses
//! it with zstd and encrypts it with OpenPGP (a passphrase or public keys, readable by
//! `gpg -d FILE | zstd -d`). The written file is verified before it gets its final name.
//! Each backup has a JSON [`Manifest`] beside it with hashes, SQLite facts, row counts and the
//! verification result. [`verify`] re-checks existing backups, [`list_backups`] lists a backup
//! directory, and [`DirLock`] is the directory lock every InvGuard process shares. The
//! [`retention`], [`cleanup`] and [`restore`] modules build on these.
//!
//! A database in WAL mode streams its pages straight into compression when SQLite was built
//! with `SQLITE_ENABLE_DBPAGE_VTAB`. A program that embeds this crate should set
//! `LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_DBPAGE_VTAB` when it builds. Without it, every backup
//! first copies the database to a temporary file ([`SnapshotMethod`]).
//!
//! This crate never prints, never exits the process, never draws progress (it reports it
//! through [`Progress`]) and never logs a secret. It logs at debug and trace level only;
//! conditions the operator should see are returned, for example in
//! [`BackupOutcome::warnings`].
//!
//! # Atomicity
//!
//! A file under a final backup name is always complete and verified. A run writes
//! `NAME.partial`, fsyncs it, verifies it (the file read back must hash to the bytes written,
//! decrypt and decompress to the snapshot's hash, pass `PRAGMA quick_check` and match the
//! snapshot's row counts), renames it to `NAME`
//! without replacing anything,
//! then writes the manifest under a temporary name, fsyncs and renames it, and fsyncs the
//! directory. Any error or cancellation before the rename removes the partial file; a failure
//! to write the manifest removes the renamed file too. Plaintext exists only in the temporary
//! directory (mode 0700) and is removed on every path. A process killed between the two
//! renames leaves a backup without manifest, which [`list_backups`] flags `incomplete` and
//! which never counts as good.
//!
//! [`cleanup`] deletes a backup's manifest before the backup file. A crash in between leaves
//! an incomplete backup older than the newest verified one, which the next cleanup deletes; the
//! opposite order would leave a manifest without backup, which cleanup only reports.
//!
//! # Idempotence
//!
//! A re-run is always safe. Every run first removes the leftovers of killed runs
//! ([`clean_leftovers`]: partial files, manifest temporary files, temporary plaintext), only
//! under names this product writes. A new backup never overwrites an existing one: a second
//! backup in the same second gets the suffix `-2`, then `-3`. Two runs at once cannot
//! interfere: the second fails with [`BackupError::Locked`] naming the first.
//!
//! # Example
//!
//! ```
//! use invguard_backup::{BackupOptions, list_backups, run_backup};
//! use invguard_config::{Config, EncryptionMode};
//!
//! let dir = tempfile::tempdir()?;
//! let database = dir.path().join("inventory.db");
//! let connection = rusqlite::Connection::open(&database)?;
//! connection.execute_batch(
//!     "PRAGMA journal_mode = WAL;
//!      CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
//!      INSERT INTO items (name) VALUES ('hammer'), ('saw');",
//! )?;
//!
//! let mut config = Config::for_tests(&database, &dir.path().join("backups"));
//! config.encryption.mode = EncryptionMode::None;
//! let outcome = run_backup(&config, &BackupOptions::default())?;
//! assert_eq!(outcome.manifest.tables["items"], 2);
//!
//! let backups = list_backups(&config.backup.dir)?;
//! assert_eq!(backups.len(), 1);
//! assert!(backups[0].is_verified());
//! assert!(backups[0].name.ends_with(".db.zst"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod backup;
mod cancel;
pub mod cleanup;
mod error;
mod files;
mod keys;
mod leftovers;
mod list;
mod lock;
mod manifest;
mod names;
mod pipeline;
mod preflight;
pub mod restore;
pub mod retention;
mod snapshot;
mod source;
mod verify;

pub use backup::{
    BackupOptions, BackupOutcome, DEFAULT_SNAPSHOT_DEADLINE, LeftoverCallback, SnapshotMethod,
    StageDurations, run_backup,
};
pub use cancel::{CancelToken, Phase, Progress};
pub use error::BackupError;
pub use keys::{decryption_keys, encryption_keys, recipient_expiry_warnings};
pub use leftovers::clean_leftovers;
pub use list::{BackupEntry, VerificationSummary, list_backups};
pub use lock::{DirLock, LOCK_FILE_NAME, ReadAccess, Writer, lock_path};
pub use manifest::{
    CompressionInfo, DatabaseInfo, Digest, EncryptionInfo, EncryptionKind, FORMAT_VERSION,
    FileInfo, Manifest, SqliteInfo, Verification, VerificationLevel, VerificationResult,
};
pub use names::{
    BackupName, ENCRYPTED_EXTENSION, MANIFEST_EXTENSION, PARTIAL_EXTENSION, PLAIN_EXTENSION,
};
pub use pipeline::{BackupFormat, DecodedBackup, decode_backup};
pub use preflight::{DatabaseAccessError, Ids, check_database_access};
pub use verify::{VerifyOutcome, VerifyTarget, verify, verify_with_progress};
