//! Logging set-up: `tracing` events to stderr, as text or JSON.
//!
//! The level comes from `[log] level` (`LOG_LEVEL`), moved up by `-v` and down by `-q`. The
//! `pgp` target is always capped at `warn`, because rPGP logs key material at debug level.

use std::io::IsTerminal;

use invguard_config::{LogConfig, LogFormat, LogLevel};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormatArg;
use crate::progress::LogWriter;

/// The most verbose level the `pgp` target may log at.
const PGP_MAX_LEVEL: LevelFilter = LevelFilter::WARN;

/// Logging settings after the command line is applied to the configuration.
#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    /// Most verbose level logged.
    pub level: LevelFilter,
    /// Text or JSON lines.
    pub format: LogFormat,
}

impl LogSettings {
    /// Applies `-v`/`-q` and `--log-format` to the configured settings.
    pub fn new(config: &LogConfig, verbose: u8, quiet: u8, format: Option<LogFormatArg>) -> Self {
        let steps = i16::from(verbose) - i16::from(quiet);
        let format = match format {
            Some(LogFormatArg::Text) => LogFormat::Text,
            Some(LogFormatArg::Json) => LogFormat::Json,
            None => config.format,
        };
        LogSettings { level: shift(configured_level(config.level), steps), format }
    }

    /// Builds the filter: the chosen level everywhere, at most `warn` for `pgp`.
    pub fn filter(&self) -> EnvFilter {
        let pgp = self.level.min(PGP_MAX_LEVEL);
        // The default directive applies only when no directive is given, so the level is
        // written out beside the `pgp` cap.
        EnvFilter::builder().parse_lossy(format!("{},pgp={pgp}", self.level))
    }
}

/// Installs the global subscriber. Call once, before any command runs.
pub fn init(settings: LogSettings) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(settings.filter())
        .with_writer(|| LogWriter)
        .with_target(false);

    match settings.format {
        LogFormat::Text => {
            builder.with_ansi(std::io::stderr().is_terminal()).init();
        }
        LogFormat::Json => {
            builder.json().with_current_span(false).init();
        }
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

    let index = ORDER.iter().position(|l| *l == level).unwrap_or(3) as i16;
    let shifted = (index + steps).clamp(1, ORDER.len() as i16 - 1);
    ORDER[shifted as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(level: LogLevel, verbose: u8, quiet: u8) -> LogSettings {
        let config = LogConfig { level, format: LogFormat::Text };
        LogSettings::new(&config, verbose, quiet, None)
    }

    #[test]
    fn level_critical_maps_to_error() {
        assert_eq!(settings(LogLevel::Critical, 0, 0).level, LevelFilter::ERROR);
    }

    #[test]
    fn level_verbose_flags_raise_level() {
        assert_eq!(settings(LogLevel::Info, 1, 0).level, LevelFilter::DEBUG);
        assert_eq!(settings(LogLevel::Info, 2, 0).level, LevelFilter::TRACE);
        assert_eq!(settings(LogLevel::Info, 5, 0).level, LevelFilter::TRACE);
    }

    #[test]
    fn level_quiet_flags_lower_level_but_keep_errors() {
        assert_eq!(settings(LogLevel::Info, 0, 1).level, LevelFilter::WARN);
        assert_eq!(settings(LogLevel::Info, 0, 4).level, LevelFilter::ERROR);
    }

    #[test]
    fn filter_caps_pgp_at_warn_when_tracing() {
        let filter = settings(LogLevel::Debug, 2, 0).filter().to_string();
        assert!(filter.contains("pgp=warn"), "{filter}");
        assert!(filter.contains("trace"), "{filter}");
    }

    #[test]
    fn filter_keeps_pgp_quieter_than_warn_when_level_is_error() {
        let filter = settings(LogLevel::Error, 0, 0).filter().to_string();
        assert!(filter.contains("pgp=error"), "{filter}");
    }

    #[test]
    fn format_flag_overrides_config() {
        let config = LogConfig { level: LogLevel::Info, format: LogFormat::Text };
        let settings = LogSettings::new(&config, 0, 0, Some(LogFormatArg::Json));
        assert_eq!(settings.format, LogFormat::Json);
    }
}
