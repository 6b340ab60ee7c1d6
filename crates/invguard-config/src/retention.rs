//! `[retention]`: which backups cleanup keeps.

use std::time::Duration;

/// The retention policy. Every rule is optional, so a default is never mistaken for a choice
/// the operator made; a backup is kept when any configured rule keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Keep the newest N backups.
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N hours.
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N weeks.
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years.
    pub keep_yearly: Option<u32>,
    /// Keep every backup younger than this, counted back from the newest good backup
    /// (`BACKUP_RETENTION_DAYS=N` sets `N` days).
    pub keep_within: Option<Duration>,
    /// Minimum number of verified backups that are always kept (default 3).
    pub min_keep: u32,
    /// Whether backups of the original Python service are candidates for deletion.
    pub include_legacy: bool,
}
