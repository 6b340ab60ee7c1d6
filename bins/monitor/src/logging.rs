//! Logging set-up: `tracing` events to stderr, as text or JSON.
//!
//! The level comes from `[log] level` (`LOG_LEVEL`), moved up by `-v` and down by `-q`.
//! [`invguard_config::filter_directives`] caps the targets that can log secrets at `warn`:
//! rPGP logs key material, and ureq logs request URLs, which for webhooks are secrets.

use std::io::IsTerminal;

use invguard_config::{LogConfig, LogFormat, filter_directives};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormatArg;

/// Installs the global subscriber. Call once, before any command runs.
pub fn init(config: &LogConfig, verbose: u8, quiet: u8, format: Option<LogFormatArg>) {
    let level = config.level_with_verbosity(i16::from(verbose) - i16::from(quiet));
    let filter = EnvFilter::builder().parse_lossy(filter_directives(level));

    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let json = match format {
        Some(LogFormatArg::Json) => true,
        Some(LogFormatArg::Text) => false,
        None => config.format == LogFormat::Json,
    };
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}
