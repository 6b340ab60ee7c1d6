//! Typed configuration for InvGuard Cron.
//!
//! The configuration is loaded from, lowest to highest precedence: built-in defaults, a TOML
//! file (`--config PATH` or `INVGUARD_CONFIG`), and the environment. The environment has two
//! spellings: the variables of the original Python service (`DATABASE_PATH`, `BACKUP_PATH`,
//! `GPG_PASSPHRASE`, ...) and one `INVGUARD_<SECTION>__<KEY>` variable per key. When both
//! spellings set one key, the `INVGUARD_` variable wins, and a warning in [`Loaded::warnings`] names both.
//!
//! Every value remembers where it came from ([`Origin`]), so `backup_cron config` can show it
//! with [`Loaded::render_toml`]. [`keys`] lists every key with its variables and default.
//!
//! This crate never prints, never logs a secret and never sets up logging. Secrets are held in
//! [`Secret`], whose `Debug` and `Display` print `<redacted>` and which zeroizes on drop; child
//! processes started through [`secret_free_command`] inherit no secret variable. The only log
//! lines are `debug` events with file paths and warnings, which never contain a secret.
//!
//! Loading never fails for a missing passphrase, so commands that do not encrypt keep working;
//! `backup` calls [`Config::require_encryption_keys`] first. There is no default passphrase.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use std::path::Path;
//!
//! use invguard_config::{Config, LoadOptions, Origin};
//!
//! // Tests and embedding programs pass the environment as a map.
//! let env = HashMap::from([
//!     ("BACKUP_PATH".to_owned(), "/srv/backups".to_owned()),
//!     ("INVGUARD_RETENTION__KEEP_DAILY".to_owned(), "14".to_owned()),
//!     ("TZ".to_owned(), "Europe/Berlin".to_owned()),
//! ]);
//! let loaded = Config::load(&LoadOptions { file: None, env: Some(env) })?;
//!
//! let config = &loaded.config;
//! assert_eq!(config.retention.keep_daily, Some(14));
//! assert_eq!(config.backup.temp_dir, Path::new("/srv/backups/.invguard-tmp"));
//! assert_eq!(*loaded.origins.get("backup.dir"), Origin::Env("BACKUP_PATH".to_owned()));
//! assert!(loaded.render_toml().contains("dir = \"/srv/backups\"  # BACKUP_PATH"));
//!
//! // No passphrase is configured, so `backup` stops here and says how to configure one.
//! assert!(config.require_encryption_keys().is_err());
//! # Ok::<(), invguard_config::ConfigError>(())
//! ```
#![deny(missing_docs)]

mod api;
mod command;
mod cron;
mod env;
mod error;
mod handoff;
mod jobs;
mod load;
mod logging;
mod model;
mod monitor;
mod registry;
mod render;
mod resolve;
mod retention;
mod secret;

pub use api::*;
pub use command::{is_secret_variable, secret_free_command};
pub use error::ConfigError;
pub use handoff::{HANDOFF_FORMAT_VERSION, decode_handoff, encode_handoff};
pub use jobs::*;
pub use load::{CONFIG_FILE_VARIABLE, LoadOptions, Loaded, Origin, Origins};
pub use logging::{SECRET_LOG_TARGETS, filter_directives};
pub use model::*;
pub use monitor::*;
pub use registry::{JOB_NAMES, KeyInfo, find_key, keys};
pub use retention::*;
pub use secret::{Secret, read_secret_file};
