//! Logging set-up: `tracing` events to stderr, as text or JSON.
//!
//! The level comes from `[log] level` (`LOG_LEVEL`), moved up by `-v` and down by `-q`. The
//! `pgp` target is capped at `warn` (rPGP logs key material at debug level), and so are
//! `ureq` and `ureq_proto`, whose debug lines contain request URLs and webhook URLs are
//! secrets.

use std::io::IsTerminal;

use invguard_config::{LogConfig, LogFormat, LogLevel};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormatArg;

/// Targets capped at `warn` whatever the configured level.
const CAPPED_TARGETS: [&str; 3] = ["pgp", "ureq", "ureq_proto"];

/// Installs the global subscriber. Call once, before any command runs.
pub fn init(config: &LogConfig, verbose: u8, quiet: u8, format: Option<LogFormatArg>) {
    let steps = i16::from(verbose) - i16::from(quiet);
    let level = shift(configured_level(config.level), steps);
    let capped = level.min(LevelFilter::WARN);
    // The bare level must be a directive of its own: EnvFilter ignores its default directive
    // as soon as any other directive is given.
    let mut directives = vec![level.to_string()];
    directives.extend(CAPPED_TARGETS.iter().map(|target| format!("{target}={capped}")));
    let filter = EnvFilter::builder().parse_lossy(directives.join(","));

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

/// Maps the level names of the original service onto tracing levels.
fn configured_level(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warning => LevelFilter::WARN,
        LogLevel::Error | LogLevel::Critical => LevelFilter::ERROR,
    }
}

/// Moves `level` by `steps` towards trace (positive) or off (negative), clamped at both ends.
fn shift(level: LevelFilter, steps: i16) -> LevelFilter {
    const ORDER: [LevelFilter; 6] = [
        LevelFilter::OFF,
        LevelFilter::ERROR,
        LevelFilter::WARN,
        LevelFilter::INFO,
        LevelFilter::DEBUG,
        LevelFilter::TRACE,
    ];
    let index = ORDER.iter().position(|candidate| *candidate == level).unwrap_or(3) as i16;
    ORDER[(index + steps).clamp(0, 5) as usize]
}
