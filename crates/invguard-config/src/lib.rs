//! Typed configuration for InvGuard Cron.
//!
//! The configuration is loaded from, lowest to highest precedence: built-in defaults, a TOML
//! file (`--config PATH` or `INVGUARD_CONFIG`), and the environment. The environment has two
//! spellings: the variables of the original Python service (`DATABASE_PATH`, `BACKUP_PATH`,
//! `GPG_PASSPHRASE`, ...) and one `INVGUARD_<SECTION>__<KEY>` variable per key. When both
//! spellings set one key, the `INVGUARD_` variable wins.
//!
//! Every value remembers where it came from ([`Origin`]), so `backup_cron config` can show it.
//!
//! This crate never prints, never logs a secret and never sets up logging. Secrets are held in
//! [`Secret`], whose `Debug` and `Display` print `<redacted>` and which zeroizes on drop.
#![deny(missing_docs)]

mod api;
mod error;
mod jobs;
mod model;
mod monitor;
mod retention;
mod secret;

pub use api::*;
pub use error::ConfigError;
pub use jobs::*;
pub use model::*;
pub use monitor::*;
pub use retention::*;
pub use secret::Secret;
