//! Logging set-up: `tracing` events to stderr, as text or JSON.
//!
//! The level comes from `[log] level` (`LOG_LEVEL`), moved up by `-v` and down by `-q`.
//! [`invguard_config::filter_directives`] caps the targets that can log secrets at `warn`:
//! rPGP logs key material and ureq logs ping URLs at debug level.

use std::io::IsTerminal;

use invguard_config::{LogConfig, LogFormat, filter_directives};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormatArg;
use crate::progress::LogWriter;

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
        LogSettings { level: config.level_with_verbosity(steps), format }
    }

    /// Builds the filter: the chosen level everywhere, at most `warn` for the secret targets.
    pub fn filter(&self) -> EnvFilter {
        EnvFilter::builder().parse_lossy(filter_directives(self.level))
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

#[cfg(test)]
mod tests {
    use super::*;

    use invguard_config::LogLevel;

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
    fn filter_caps_pgp_and_ureq_at_warn_when_tracing() {
        let filter = settings(LogLevel::Debug, 2, 0).filter().to_string();
        assert!(filter.contains("pgp=warn"), "{filter}");
        assert!(filter.contains("ureq=warn"), "{filter}");
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
