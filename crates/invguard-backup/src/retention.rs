//! Retention: which backups cleanup keeps and which it deletes, with the rule behind each
//! decision.
//!
//! The rules follow `restic forget`: `keep_last` keeps the newest N backups, the bucket rules
//! (`keep_hourly` ... `keep_yearly`) keep the newest backup of each of the last N hours, days,
//! ISO weeks, months or years that have a backup, and `keep_within` keeps every backup
//! younger than a duration. A backup is kept when any configured rule keeps it.
//!
//! Unlike `restic forget`, retention can never delete the last good backup:
//!
//! - only verified backups count toward the rules and the `min_keep` floor;
//! - failed and unverified backups are kept while they are newer than the newest verified
//!   backup, and deleted once a newer verified backup exists;
//! - the newest verified backup is always kept, and when no verified backup exists nothing
//!   is deleted;
//! - the newest verified backups not kept by a rule are added until `min_keep` verified
//!   backups survive;
//! - `keep_within` counts back from the newest verified backup, not from now, so a run of
//!   failing backups never ages the good ones out.
//!
//! Buckets are taken in the configured time zone from the UTC creation time in each backup's
//! name or manifest, never from file times. Legacy backups of the Python service are always
//! kept unless `include_legacy` is set; then the rules apply to them as well, but they never
//! count as verified.
//!
//! This module is pure: [`RetentionPolicy::plan`] decides and [`crate::cleanup`] deletes.

mod period;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use invguard_config::RetentionConfig;

use crate::BackupError;
use period::{Bucket, Period};

/// `keep_within` when no rule is configured: the 30 days of the original service.
pub const DEFAULT_KEEP_WITHIN: Duration = Duration::from_secs(30 * 24 * 3600);

/// Verification state of a backup, as recorded in its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyState {
    /// Verification passed.
    Passed,
    /// Verification failed.
    Failed,
    /// No verification result is recorded (a backup without manifest, or a legacy backup).
    Unverified,
}

/// A backup that retention decides about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// File name of the backup, without directory.
    pub name: String,
    /// Creation time from the manifest or the file name (legacy backups: the file's mtime).
    pub created_utc: DateTime<Utc>,
    /// Recorded verification state.
    pub verification: VerifyState,
    /// Whether this is a backup of the Python service (`*.gpg` without manifest).
    pub legacy: bool,
}

impl Candidate {
    /// Whether this backup counts as good: verification passed and it is not legacy.
    pub fn is_verified(&self) -> bool {
        self.verification == VerifyState::Passed && !self.legacy
    }
}

/// A validated retention policy with the time zone its buckets are taken in.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionPolicy {
    /// Keep the newest N backups.
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N hours.
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks.
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years.
    pub keep_yearly: Option<u32>,
    /// Keep every backup created at most this long before the newest verified backup.
    pub keep_within: Option<Duration>,
    /// Minimum number of verified backups that survive.
    pub min_keep: u32,
    /// Whether legacy backups are candidates for deletion.
    pub include_legacy: bool,
    /// Time zone of the hour, day, week, month and year buckets.
    pub timezone: Tz,
}

/// The reason a backup is kept. A kept backup lists every reason that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    /// Among the newest `keep_last` backups; `rank` 1 is the newest.
    Last {
        /// Position among the eligible backups, newest first, counted from 1.
        rank: u32,
    },
    /// Newest backup of its hour (`keep_hourly`).
    Hourly {
        /// The local hour, e.g. `2026-12-04 02h`.
        period: String,
    },
    /// Newest backup of its day (`keep_daily`).
    Daily {
        /// The local date, e.g. `2026-12-04`.
        period: String,
    },
    /// Newest backup of its ISO week (`keep_weekly`).
    Weekly {
        /// The ISO week, e.g. `2026-W49`.
        period: String,
    },
    /// Newest backup of its month (`keep_monthly`).
    Monthly {
        /// The month, e.g. `2026-12`.
        period: String,
    },
    /// Newest backup of its year (`keep_yearly`).
    Yearly {
        /// The year, e.g. `2026`.
        period: String,
    },
    /// Created within `keep_within` before the newest verified backup.
    Within {
        /// The configured window.
        window: Duration,
    },
    /// The newest verified backup, which is never deleted.
    NewestVerified,
    /// Added so that `min_keep` verified backups survive.
    MinKeep {
        /// The configured floor.
        min_keep: u32,
    },
    /// No verified backup exists, so nothing is deleted.
    NoVerifiedBackup,
    /// A failed or unverified backup newer than the newest verified backup.
    NewerThanNewestVerified,
    /// A legacy backup while `include_legacy` is off.
    Legacy,
}

/// The reason a backup is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    /// A verified (or included legacy) backup that no rule keeps.
    NoRuleKeeps,
    /// A failed backup older than the newest verified backup.
    Failed,
    /// A backup without a verification result, older than the newest verified backup.
    Unverified,
}

/// Keep or delete, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Kept, for every reason listed (never empty).
    Keep(Vec<KeepReason>),
    /// Deleted.
    Delete(DeleteReason),
}

/// The decision about one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The backup.
    pub candidate: Candidate,
    /// Keep or delete, and why.
    pub verdict: Verdict,
}

impl Decision {
    /// Whether the backup is kept.
    pub fn is_kept(&self) -> bool {
        matches!(self.verdict, Verdict::Keep(_))
    }
}

/// Keep or delete for every candidate, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    /// One decision per candidate, newest first.
    pub decisions: Vec<Decision>,
}

impl RetentionPlan {
    /// The decisions that keep their backup.
    pub fn kept(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|decision| decision.is_kept())
    }

    /// The decisions that delete their backup.
    pub fn deleted(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|decision| !decision.is_kept())
    }
}

impl RetentionPolicy {
    /// Builds the policy from `[retention]`, with buckets in `timezone`.
    ///
    /// With no rule configured the policy is `keep_within = 30d` (the original service's
    /// default) plus the `min_keep` floor.
    ///
    /// # Errors
    ///
    /// [`BackupError::RetentionKeepsNothing`] when rules are configured but every one of them
    /// is zero.
    pub fn from_config(config: &RetentionConfig, timezone: Tz) -> Result<Self, BackupError> {
        let mut policy = RetentionPolicy {
            keep_last: config.keep_last,
            keep_hourly: config.keep_hourly,
            keep_daily: config.keep_daily,
            keep_weekly: config.keep_weekly,
            keep_monthly: config.keep_monthly,
            keep_yearly: config.keep_yearly,
            keep_within: config.keep_within,
            min_keep: config.min_keep,
            include_legacy: config.include_legacy,
            timezone,
        };

        if !policy.has_rule() {
            policy.keep_within = Some(DEFAULT_KEEP_WITHIN);
        }
        policy.validate()?;
        Ok(policy)
    }

    /// Checks that at least one configured rule can keep a backup.
    ///
    /// # Errors
    ///
    /// [`BackupError::RetentionKeepsNothing`] when every configured rule is zero, or none is
    /// configured.
    pub fn validate(&self) -> Result<(), BackupError> {
        let counts = [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ];
        let any_count = counts.iter().flatten().any(|count| *count > 0);
        let any_window = self.keep_within.is_some_and(|window| !window.is_zero());

        if any_count || any_window {
            Ok(())
        } else {
            Err(BackupError::RetentionKeepsNothing { rules: self.describe_rules() })
        }
    }

    /// Lists the configured rules, e.g. `keep_daily = 7, keep_within = 30d, min_keep = 3`.
    pub fn describe_rules(&self) -> String {
        let mut rules: Vec<String> = self
            .count_rules()
            .into_iter()
            .filter_map(|(name, count)| count.map(|count| format!("{name} = {count}")))
            .collect();
        if let Some(window) = self.keep_within {
            rules.push(format!("keep_within = {}", format_window(window)));
        }
        rules.push(format!("min_keep = {}", self.min_keep));
        rules.join(", ")
    }

    /// Decides keep or delete for every candidate; the result is newest first.
    ///
    /// Deterministic, and idempotent: planning again over the kept backups keeps all of them.
    pub fn plan(&self, candidates: &[Candidate]) -> RetentionPlan {
        let mut sorted: Vec<&Candidate> = candidates.iter().collect();
        sorted.sort_by(|a, b| newest_first(a, b));

        let newest_verified = sorted.iter().position(|candidate| candidate.is_verified());
        let mut reasons: Vec<Vec<KeepReason>> = vec![Vec::new(); sorted.len()];

        match newest_verified {
            None => self.keep_all(&sorted, &mut reasons),
            Some(newest) => {
                self.keep_by_rules(&sorted, sorted[newest].created_utc, &mut reasons);
                reasons[newest].push(KeepReason::NewestVerified);
                self.keep_min_verified(&sorted, &mut reasons);
                keep_unproven_newer_than(&sorted, newest, &mut reasons);
            }
        }
        self.keep_excluded_legacy(&sorted, &mut reasons);

        let decisions = sorted
            .into_iter()
            .zip(reasons)
            .map(|(candidate, reasons)| Decision {
                candidate: candidate.clone(),
                verdict: verdict(candidate, reasons),
            })
            .collect();
        RetentionPlan { decisions }
    }

    fn has_rule(&self) -> bool {
        self.count_rules().iter().any(|(_, count)| count.is_some()) || self.keep_within.is_some()
    }

    fn count_rules(&self) -> [(&'static str, Option<u32>); 6] {
        [
            ("keep_last", self.keep_last),
            ("keep_hourly", self.keep_hourly),
            ("keep_daily", self.keep_daily),
            ("keep_weekly", self.keep_weekly),
            ("keep_monthly", self.keep_monthly),
            ("keep_yearly", self.keep_yearly),
        ]
    }

    /// Whether the rules decide about `candidate`: verified backups, and legacy backups
    /// when `include_legacy` is set.
    fn is_eligible(&self, candidate: &Candidate) -> bool {
        candidate.is_verified() || (candidate.legacy && self.include_legacy)
    }

    /// Applies `keep_last`, the bucket rules and `keep_within` to the eligible backups.
    fn keep_by_rules(
        &self,
        sorted: &[&Candidate],
        newest_verified: DateTime<Utc>,
        reasons: &mut [Vec<KeepReason>],
    ) {
        let eligible: Vec<usize> =
            (0..sorted.len()).filter(|&index| self.is_eligible(sorted[index])).collect();

        if let Some(count) = self.keep_last {
            for (rank, &index) in eligible.iter().take(count as usize).enumerate() {
                reasons[index].push(KeepReason::Last { rank: rank as u32 + 1 });
            }
        }

        let bucket_rules = [
            (Period::Hour, self.keep_hourly),
            (Period::Day, self.keep_daily),
            (Period::Week, self.keep_weekly),
            (Period::Month, self.keep_monthly),
            (Period::Year, self.keep_yearly),
        ];
        for (period, count) in bucket_rules {
            if let Some(count) = count {
                self.keep_by_bucket(period, count, sorted, &eligible, reasons);
            }
        }

        if let Some(window) = self.keep_within {
            let oldest_kept = newest_verified - window_as_chrono(window);
            for &index in &eligible {
                if sorted[index].created_utc >= oldest_kept {
                    reasons[index].push(KeepReason::Within { window });
                }
            }
        }
    }

    /// Keeps the newest eligible backup of each of the newest `count` buckets that have one.
    fn keep_by_bucket(
        &self,
        period: Period,
        count: u32,
        sorted: &[&Candidate],
        eligible: &[usize],
        reasons: &mut [Vec<KeepReason>],
    ) {
        let mut seen: HashSet<Bucket> = HashSet::new();

        for &index in eligible {
            if seen.len() >= count as usize {
                break;
            }
            let bucket = period.bucket(sorted[index].created_utc, self.timezone);
            if seen.insert(bucket) {
                reasons[index].push(bucket_reason(period, period.label(bucket)));
            }
        }
    }

    /// Adds the newest verified backups that no rule keeps until `min_keep` are kept.
    fn keep_min_verified(&self, sorted: &[&Candidate], reasons: &mut [Vec<KeepReason>]) {
        let verified: Vec<usize> =
            (0..sorted.len()).filter(|&index| sorted[index].is_verified()).collect();
        let mut kept = verified.iter().filter(|&&index| !reasons[index].is_empty()).count();

        for &index in &verified {
            if kept >= self.min_keep as usize {
                break;
            }
            if reasons[index].is_empty() {
                reasons[index].push(KeepReason::MinKeep { min_keep: self.min_keep });
                kept += 1;
            }
        }
    }

    /// Keeps every backup the rules decide about, because no verified backup exists.
    fn keep_all(&self, sorted: &[&Candidate], reasons: &mut [Vec<KeepReason>]) {
        for (index, candidate) in sorted.iter().enumerate() {
            if !candidate.legacy || self.include_legacy {
                reasons[index].push(KeepReason::NoVerifiedBackup);
            }
        }
    }

    fn keep_excluded_legacy(&self, sorted: &[&Candidate], reasons: &mut [Vec<KeepReason>]) {
        if self.include_legacy {
            return;
        }
        for (index, candidate) in sorted.iter().enumerate() {
            if candidate.legacy {
                reasons[index].push(KeepReason::Legacy);
            }
        }
    }
}

/// Orders newest first; within one second a longer name (a higher sequence suffix such as
/// `-2`) is newer.
fn newest_first(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    let key = |candidate: &Candidate| {
        (candidate.created_utc, candidate.name.len(), candidate.name.clone())
    };
    key(b).cmp(&key(a))
}

/// Keeps failed and unverified backups newer than the newest verified one (at `newest`), so
/// they are deleted only once a newer verified backup exists.
fn keep_unproven_newer_than(sorted: &[&Candidate], newest: usize, reasons: &mut [Vec<KeepReason>]) {
    for (index, candidate) in sorted.iter().enumerate().take(newest) {
        if !candidate.is_verified() && !candidate.legacy {
            reasons[index].push(KeepReason::NewerThanNewestVerified);
        }
    }
}

fn verdict(candidate: &Candidate, reasons: Vec<KeepReason>) -> Verdict {
    if !reasons.is_empty() {
        return Verdict::Keep(reasons);
    }
    let reason = match (candidate.legacy, candidate.verification) {
        (false, VerifyState::Failed) => DeleteReason::Failed,
        (false, VerifyState::Unverified) => DeleteReason::Unverified,
        _ => DeleteReason::NoRuleKeeps,
    };
    Verdict::Delete(reason)
}

fn bucket_reason(period: Period, label: String) -> KeepReason {
    match period {
        Period::Hour => KeepReason::Hourly { period: label },
        Period::Day => KeepReason::Daily { period: label },
        Period::Week => KeepReason::Weekly { period: label },
        Period::Month => KeepReason::Monthly { period: label },
        Period::Year => KeepReason::Yearly { period: label },
    }
}

/// Converts a configured window to a chrono duration, saturating at chrono's range.
fn window_as_chrono(window: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX)
}

/// Formats a window in the largest whole unit: `30d`, `12h`, `90m`, `45s`.
pub fn format_window(window: Duration) -> String {
    let seconds = window.as_secs();
    let units = [(86_400, "d"), (3_600, "h"), (60, "m")];

    for (size, suffix) in units {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{suffix}", seconds / size);
        }
    }
    format!("{seconds}s")
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::Last { rank } => write!(f, "last {rank}"),
            KeepReason::Hourly { period } => write!(f, "hourly {period}"),
            KeepReason::Daily { period } => write!(f, "daily {period}"),
            KeepReason::Weekly { period } => write!(f, "weekly {period}"),
            KeepReason::Monthly { period } => write!(f, "monthly {period}"),
            KeepReason::Yearly { period } => write!(f, "yearly {period}"),
            KeepReason::Within { window } => write!(f, "within {}", format_window(*window)),
            KeepReason::NewestVerified => f.write_str("newest verified"),
            KeepReason::MinKeep { min_keep } => write!(f, "min_keep {min_keep}"),
            KeepReason::NoVerifiedBackup => f.write_str("no verified backup exists"),
            KeepReason::NewerThanNewestVerified => f.write_str("newer than newest verified"),
            KeepReason::Legacy => f.write_str("legacy (include_legacy = false)"),
        }
    }
}

impl fmt::Display for DeleteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteReason::NoRuleKeeps => f.write_str("no rule keeps it"),
            DeleteReason::Failed => f.write_str("failed, newer verified backup exists"),
            DeleteReason::Unverified => f.write_str("unverified, newer verified backup exists"),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Keep(reasons) => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                write!(f, "keep ({})", reasons.join(", "))
            }
            Verdict::Delete(reason) => write!(f, "delete ({reason})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetentionPolicy {
        RetentionPolicy {
            keep_last: None,
            keep_hourly: None,
            keep_daily: None,
            keep_weekly: None,
            keep_monthly: None,
            keep_yearly: None,
            keep_within: None,
            min_keep: 0,
            include_legacy: false,
            timezone: chrono_tz::UTC,
        }
    }

    fn candidate(name: &str, created: &str, verification: VerifyState) -> Candidate {
        Candidate {
            name: name.to_owned(),
            created_utc: created.parse().unwrap(),
            verification,
            legacy: false,
        }
    }

    fn verdicts(plan: &RetentionPlan) -> Vec<(String, String)> {
        plan.decisions
            .iter()
            .map(|decision| (decision.candidate.name.clone(), decision.verdict.to_string()))
            .collect()
    }

    #[test]
    fn from_config_defaults_to_thirty_days_without_rules() {
        let config = RetentionConfig { min_keep: 3, ..RetentionConfig::default() };

        let policy = RetentionPolicy::from_config(&config, chrono_tz::UTC).unwrap();

        assert_eq!(policy.keep_within, Some(DEFAULT_KEEP_WITHIN));
        assert_eq!(policy.min_keep, 3);
    }

    #[test]
    fn from_config_rejects_all_zero_rules() {
        let config =
            RetentionConfig { keep_last: Some(0), keep_daily: Some(0), ..Default::default() };

        let error = RetentionPolicy::from_config(&config, chrono_tz::UTC).unwrap_err();

        assert!(matches!(error, BackupError::RetentionKeepsNothing { .. }));
        assert!(error.to_string().contains("keep_last = 0, keep_daily = 0"));
    }

    #[test]
    fn plan_keeps_everything_without_verified_backup() {
        let candidates = [
            candidate("b", "2026-01-02T00:00:00Z", VerifyState::Failed),
            candidate("a", "2026-01-01T00:00:00Z", VerifyState::Unverified),
        ];
        let policy = RetentionPolicy { keep_last: Some(1), ..policy() };

        let plan = policy.plan(&candidates);

        assert_eq!(plan.deleted().count(), 0);
    }

    #[test]
    fn plan_deletes_failed_only_when_older_than_newest_verified() {
        let candidates = [
            candidate("d", "2026-01-04T00:00:00Z", VerifyState::Failed),
            candidate("c", "2026-01-03T00:00:00Z", VerifyState::Passed),
            candidate("b", "2026-01-02T00:00:00Z", VerifyState::Failed),
            candidate("a", "2026-01-01T00:00:00Z", VerifyState::Passed),
        ];
        let policy = RetentionPolicy { keep_last: Some(5), ..policy() };

        let plan = policy.plan(&candidates);

        assert_eq!(
            verdicts(&plan),
            [
                ("d".into(), "keep (newer than newest verified)".into()),
                ("c".into(), "keep (last 1, newest verified)".into()),
                ("b".into(), "delete (failed, newer verified backup exists)".into()),
                ("a".into(), "keep (last 2)".into()),
            ]
        );
    }

    #[test]
    fn plan_counts_keep_within_from_newest_verified() {
        let candidates = [
            candidate("new-failed", "2026-03-01T00:00:00Z", VerifyState::Failed),
            candidate("good", "2026-01-10T00:00:00Z", VerifyState::Passed),
            candidate("older", "2026-01-05T00:00:00Z", VerifyState::Passed),
            candidate("old", "2025-12-01T00:00:00Z", VerifyState::Passed),
        ];
        let window = Duration::from_secs(7 * 86_400);
        let policy = RetentionPolicy { keep_within: Some(window), ..policy() };

        let plan = policy.plan(&candidates);

        let kept: Vec<&str> = plan.kept().map(|d| d.candidate.name.as_str()).collect();
        assert_eq!(kept, ["new-failed", "good", "older"]);
    }

    #[test]
    fn plan_adds_min_keep_verified_backups() {
        let candidates = [
            candidate("c", "2026-01-03T00:00:00Z", VerifyState::Passed),
            candidate("b", "2026-01-02T00:00:00Z", VerifyState::Failed),
            candidate("a", "2026-01-01T00:00:00Z", VerifyState::Passed),
            candidate("z", "2025-01-01T00:00:00Z", VerifyState::Passed),
        ];
        let policy = RetentionPolicy { keep_last: Some(1), min_keep: 2, ..policy() };

        let plan = policy.plan(&candidates);

        assert_eq!(verdicts(&plan)[2], ("a".into(), "keep (min_keep 2)".into()));
        assert_eq!(verdicts(&plan)[3], ("z".into(), "delete (no rule keeps it)".into()));
    }

    #[test]
    fn plan_keeps_legacy_unless_included() {
        let mut legacy = candidate("old.gpg", "2020-01-01T00:00:00Z", VerifyState::Unverified);
        legacy.legacy = true;
        let candidates = [candidate("new", "2026-01-01T00:00:00Z", VerifyState::Passed), legacy];

        let excluded = RetentionPolicy { keep_last: Some(1), ..policy() }.plan(&candidates);
        let included = RetentionPolicy { keep_last: Some(1), include_legacy: true, ..policy() }
            .plan(&candidates);

        assert_eq!(verdicts(&excluded)[1].1, "keep (legacy (include_legacy = false))");
        assert_eq!(verdicts(&included)[1].1, "delete (no rule keeps it)");
    }

    #[test]
    fn plan_orders_sequence_suffix_as_newer() {
        let candidates = [
            candidate(
                "inventory-20260101T000000Z.db.zst.gpg",
                "2026-01-01T00:00:00Z",
                VerifyState::Passed,
            ),
            candidate(
                "inventory-20260101T000000Z-2.db.zst.gpg",
                "2026-01-01T00:00:00Z",
                VerifyState::Passed,
            ),
        ];

        let plan = RetentionPolicy { keep_last: Some(1), ..policy() }.plan(&candidates);

        assert_eq!(plan.decisions[0].candidate.name, "inventory-20260101T000000Z-2.db.zst.gpg");
        assert!(plan.decisions[0].is_kept());
        assert!(!plan.decisions[1].is_kept());
    }

    #[test]
    fn format_window_uses_largest_whole_unit() {
        assert_eq!(format_window(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(format_window(Duration::from_secs(36 * 3_600)), "36h");
        assert_eq!(format_window(Duration::from_secs(90 * 60)), "90m");
        assert_eq!(format_window(Duration::from_secs(61)), "61s");
    }
}
