//! Typed configuration for InvGuard Cron.
//!
//! The configuration is loaded from, lowest to highest precedence: built-in defaults, a TOML
//! file (`--config PATH` or `INVGUARD_CONFIG`), and the environment. The environment has two
//! spellings: the variables of the original Python service (`DATABASE_PATH`, `BACKUP_PATH`,
//! `GPG_PASSPHRASE`, ...) and one `INVGUARD_<SECTION>__<KEY>` variable per key. When both
//! spellings set one key, the `INVGUARD_` variable wins and [`Loaded::warnings`] says so.
//!
//! Every value remembers where it came from ([`Origin`]), so `backup_cron config` can show it
//! with [`Loaded::render_toml`]. [`keys`] lists every key with its variables and default.
//!
//! This crate never prints, never logs a secret and never sets up logging. Secrets are held in
//! [`Secret`], whose `Debug` and `Display` print `<redacted>` and which zeroizes on drop; child
//! processes started through [`secret_free_command`] inherit no secret variable.
#![deny(missing_docs)]

mod api;
mod command;
mod cron;
mod env;
mod error;
mod jobs;
mod load;
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
pub use jobs::*;
pub use load::{CONFIG_FILE_VARIABLE, LoadOptions, Loaded, Origin, Origins};
pub use model::*;
pub use monitor::*;
pub use registry::{JOB_NAMES, KeyInfo, find_key, keys};
pub use retention::*;
pub use secret::{Secret, read_secret_file};
