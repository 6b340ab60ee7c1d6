//! Log levels and filter directives derived from `[log]`, shared by the binaries.
//!
//! This module only computes values: installing a subscriber stays with the binaries, so an
//! embedding program keeps control of its own logging.

use tracing::level_filters::LevelFilter;

use crate::{LogConfig, LogLevel};

/// Log targets capped at `warn` whatever the configured level, because their debug lines can
/// contain secrets: rPGP (`pgp`) logs private key material, and ureq (`ureq`, `ureq_proto`)
/// logs request URLs, which for webhooks and pings are secrets.
pub const SECRET_LOG_TARGETS: [&str; 3] = ["pgp", "ureq", "ureq_proto"];

/// Levels from least to most verbose, without `OFF`: errors are always logged.
const LEVELS: [LevelFilter; 5] = [
    LevelFilter::ERROR,
    LevelFilter::WARN,
    LevelFilter::INFO,
    LevelFilter::DEBUG,
    LevelFilter::TRACE,
];

impl LogLevel {
    /// Returns the tracing level of this level name. `CRITICAL` maps to `ERROR`, the most
    /// severe level tracing has.
    pub fn level_filter(self) -> LevelFilter {
        match self {
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Warning => LevelFilter::WARN,
            LogLevel::Error | LogLevel::Critical => LevelFilter::ERROR,
        }
    }
}

impl LogConfig {
    /// Returns the configured level moved `steps` towards `TRACE` (positive, one per `-v`) or
    /// towards `ERROR` (negative, one per `-q`). The result stays between `ERROR` and `TRACE`.
    pub fn level_with_verbosity(&self, steps: i16) -> LevelFilter {
        let configured = self.level.level_filter();
        let index = LEVELS.iter().position(|level| *level == configured).unwrap_or(2);
        let last = LEVELS.len() as i16 - 1;
        let shifted = (index as i16).saturating_add(steps).clamp(0, last);
        LEVELS[shifted as usize]
    }
}

/// Returns directives for `tracing_subscriber::EnvFilter`: `level` for every target and at most
/// `warn` for each of [`SECRET_LOG_TARGETS`].
///
/// The bare level is a directive of its own because `EnvFilter` ignores its default directive
/// as soon as any other directive is given.
///
/// ```
/// use invguard_config::filter_directives;
/// use tracing::level_filters::LevelFilter;
///
/// assert_eq!(
///     filter_directives(LevelFilter::TRACE),
///     "trace,pgp=warn,ureq=warn,ureq_proto=warn"
/// );
/// assert_eq!(
///     filter_directives(LevelFilter::ERROR),
///     "error,pgp=error,ureq=error,ureq_proto=error"
/// );
/// ```
pub fn filter_directives(level: LevelFilter) -> String {
    let capped = level.min(LevelFilter::WARN);
    let mut directives = vec![level.to_string()];
    directives.extend(SECRET_LOG_TARGETS.iter().map(|target| format!("{target}={capped}")));
    directives.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogFormat;

    fn level(configured: LogLevel, steps: i16) -> LevelFilter {
        LogConfig { level: configured, format: LogFormat::Text }.level_with_verbosity(steps)
    }

    #[test]
    fn level_critical_maps_to_error() {
        assert_eq!(level(LogLevel::Critical, 0), LevelFilter::ERROR);
    }

    #[test]
    fn level_verbose_steps_raise_level_up_to_trace() {
        assert_eq!(level(LogLevel::Info, 1), LevelFilter::DEBUG);
        assert_eq!(level(LogLevel::Info, 2), LevelFilter::TRACE);
        assert_eq!(level(LogLevel::Info, 5), LevelFilter::TRACE);
    }

    #[test]
    fn level_quiet_steps_lower_level_but_keep_errors() {
        assert_eq!(level(LogLevel::Info, -1), LevelFilter::WARN);
        assert_eq!(level(LogLevel::Info, -2), LevelFilter::ERROR);
        assert_eq!(level(LogLevel::Info, i16::MIN), LevelFilter::ERROR);
    }

    #[test]
    fn filter_directives_cap_secret_targets_at_warn() {
        let directives = filter_directives(LevelFilter::DEBUG);

        assert!(directives.starts_with("debug,"), "{directives}");
        for target in SECRET_LOG_TARGETS {
            assert!(directives.contains(&format!("{target}=warn")), "{directives}");
        }
    }

    #[test]
    fn filter_directives_keep_secret_targets_quieter_than_warn() {
        let directives = filter_directives(LevelFilter::ERROR);

        assert!(directives.contains("pgp=error"), "{directives}");
        assert!(!directives.contains("warn"), "{directives}");
    }
}
