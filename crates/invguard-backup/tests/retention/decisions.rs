//! Snapshots of the keep/delete decision of each policy over two generated years of backups.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono_tz::Tz;
use invguard_backup::retention::{Candidate, Decision, RetentionPlan, RetentionPolicy, Verdict};
use invguard_config::RetentionConfig;

use super::history::{berlin_dst_changes, new_york_dst_changes, two_years};

const DAY: u64 = 86_400;

/// Renders a plan as people read it: every kept backup on its own line (local time, state,
/// reasons), and each run of deleted backups collapsed into one line with counts per reason.
fn render(policy: &RetentionPolicy, plan: &RetentionPlan) -> String {
    let mut out = String::new();
    let kept = plan.kept().count();
    let deleted = plan.deleted().count();
    writeln!(out, "policy: {}", policy.describe_rules()).unwrap();
    writeln!(out, "timezone: {}", policy.timezone).unwrap();
    writeln!(out, "kept {kept}, deleted {deleted}").unwrap();

    let mut run: Vec<&Decision> = Vec::new();
    for decision in &plan.decisions {
        if decision.is_kept() {
            flush_deleted_run(&mut out, &mut run, policy.timezone);
            let time = local(&decision.candidate, policy.timezone);
            let state = state(&decision.candidate);
            writeln!(out, "{time}  {state:<10}  {}", decision.verdict).unwrap();
        } else {
            run.push(decision);
        }
    }
    flush_deleted_run(&mut out, &mut run, policy.timezone);
    out
}

fn flush_deleted_run(out: &mut String, run: &mut Vec<&Decision>, timezone: Tz) {
    let (Some(newest), Some(oldest)) = (run.first(), run.last()) else {
        return;
    };
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for decision in run.iter() {
        if let Verdict::Delete(reason) = decision.verdict {
            *reasons.entry(reason.to_string()).or_default() += 1;
        }
    }
    let reasons: Vec<String> =
        reasons.into_iter().map(|(reason, count)| format!("{count} {reason}")).collect();
    writeln!(
        out,
        "    delete {} from {} to {}: {}",
        run.len(),
        local(&oldest.candidate, timezone),
        local(&newest.candidate, timezone),
        reasons.join("; ")
    )
    .unwrap();
    run.clear();
}

fn local(candidate: &Candidate, timezone: Tz) -> String {
    candidate.created_utc.with_timezone(&timezone).format("%Y-%m-%d %H:%M %Z").to_string()
}

fn state(candidate: &Candidate) -> &'static str {
    use invguard_backup::retention::VerifyState::*;
    match (candidate.legacy, candidate.verification) {
        (true, _) => "legacy",
        (false, Passed) => "verified",
        (false, Failed) => "failed",
        (false, Unverified) => "unverified",
    }
}

/// The policies every history is planned with, by snapshot name.
fn policies() -> Vec<(&'static str, RetentionConfig)> {
    let base = RetentionConfig { min_keep: 3, ..RetentionConfig::default() };
    vec![
        ("default", base.clone()),
        ("keep_last_7", RetentionConfig { keep_last: Some(7), ..base.clone() }),
        ("keep_hourly_24", RetentionConfig { keep_hourly: Some(24), ..base.clone() }),
        ("keep_daily_10", RetentionConfig { keep_daily: Some(10), ..base.clone() }),
        ("keep_weekly_8", RetentionConfig { keep_weekly: Some(8), ..base.clone() }),
        ("keep_monthly_6", RetentionConfig { keep_monthly: Some(6), ..base.clone() }),
        ("keep_yearly_5", RetentionConfig { keep_yearly: Some(5), ..base.clone() }),
        (
            "keep_within_45d",
            RetentionConfig { keep_within: Some(Duration::from_secs(45 * DAY)), ..base.clone() },
        ),
        (
            "combined",
            RetentionConfig {
                keep_daily: Some(7),
                keep_weekly: Some(4),
                keep_monthly: Some(12),
                keep_yearly: Some(2),
                ..base.clone()
            },
        ),
        ("min_keep_floor", RetentionConfig { keep_last: Some(1), min_keep: 5, ..base }),
    ]
}

fn snapshot_all(timezone: Tz, history: &[Candidate], suffix: &str) {
    for (name, config) in policies() {
        let policy = RetentionPolicy::from_config(&config, timezone).unwrap();
        let plan = policy.plan(history);
        insta::assert_snapshot!(format!("{name}_{suffix}"), render(&policy, &plan));
    }
}

#[test]
fn plan_two_years_europe_berlin() {
    let history = two_years(22, &berlin_dst_changes());

    snapshot_all(chrono_tz::Europe::Berlin, &history, "europe_berlin");
}

#[test]
fn plan_two_years_america_new_york() {
    let history = two_years(4, &new_york_dst_changes());

    snapshot_all(chrono_tz::America::New_York, &history, "america_new_york");
}

#[test]
fn plan_legacy_included_and_excluded() {
    let mut history = two_years(22, &[]);
    for month in 1..=6 {
        let created = super::history::utc(&format!("2024-{month:02}-15T02:00:00Z"));
        history.push(Candidate {
            name: format!("inventory_backup_2024{month:02}15.db.gpg"),
            created_utc: created,
            verification: invguard_backup::retention::VerifyState::Unverified,
            legacy: true,
        });
    }
    let excluded = RetentionConfig { keep_monthly: Some(24), min_keep: 3, ..Default::default() };
    let included = RetentionConfig { include_legacy: true, ..excluded.clone() };

    for (name, config) in [("legacy_excluded", excluded), ("legacy_included", included)] {
        let policy = RetentionPolicy::from_config(&config, chrono_tz::Europe::Berlin).unwrap();
        insta::assert_snapshot!(name, render(&policy, &policy.plan(&history)));
    }
}

/// Hourly buckets on the days the clocks change: the history ends two hours after the change,
/// so `keep_hourly` decides among the backups taken every 20 minutes around it.
#[test]
fn plan_hourly_across_dst_changes() {
    let cases = [
        ("hourly_dst_start_europe_berlin", chrono_tz::Europe::Berlin, 22, berlin_dst_changes()[0]),
        ("hourly_dst_end_europe_berlin", chrono_tz::Europe::Berlin, 22, berlin_dst_changes()[1]),
        (
            "hourly_dst_start_america_new_york",
            chrono_tz::America::New_York,
            4,
            new_york_dst_changes()[0],
        ),
        (
            "hourly_dst_end_america_new_york",
            chrono_tz::America::New_York,
            4,
            new_york_dst_changes()[1],
        ),
    ];
    let config = RetentionConfig { keep_hourly: Some(4), min_keep: 0, ..Default::default() };

    for (name, timezone, utc_hour, change) in cases {
        let end = change + chrono::TimeDelta::hours(2);
        let history: Vec<Candidate> = two_years(utc_hour, &[change])
            .into_iter()
            .filter(|candidate| candidate.created_utc < end)
            .collect();
        let policy = RetentionPolicy::from_config(&config, timezone).unwrap();

        insta::assert_snapshot!(name, render(&policy, &policy.plan(&history)));
    }
}
