//! Properties of retention over arbitrary histories and policies.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use invguard_backup::retention::{Candidate, RetentionPlan, RetentionPolicy, VerifyState};
use invguard_config::RetentionConfig;
use proptest::prelude::*;

use super::history::{backup_name, utc};

const THREE_YEARS_SECONDS: i64 = 3 * 366 * 86_400;

fn verify_state() -> impl Strategy<Value = VerifyState> {
    prop_oneof![
        6 => Just(VerifyState::Passed),
        2 => Just(VerifyState::Failed),
        1 => Just(VerifyState::Unverified),
    ]
}

/// Histories of up to 80 backups spread over three years, a few of them legacy. Backups are
/// often clustered (seconds apart) so that several share one hour or day.
fn history() -> impl Strategy<Value = Vec<Candidate>> {
    let backup = (0..THREE_YEARS_SECONDS, 0..4i64, verify_state(), prop::bool::weighted(0.1));
    prop::collection::vec(backup, 0..80).prop_map(|backups| {
        let start = utc("2024-01-01T00:00:00Z");
        let mut by_name = BTreeMap::new();
        for (offset, cluster, verification, legacy) in backups {
            let offset = if cluster == 0 { offset } else { offset - offset % (cluster * 7200) };
            let created_utc = start + TimeDelta::seconds(offset);
            let candidate = candidate(created_utc, verification, legacy);
            by_name.insert(candidate.name.clone(), candidate);
        }
        by_name.into_values().collect()
    })
}

fn candidate(created_utc: DateTime<Utc>, verification: VerifyState, legacy: bool) -> Candidate {
    let name = if legacy {
        format!("legacy-{}.gpg", created_utc.timestamp())
    } else {
        backup_name(created_utc)
    };
    let verification = if legacy { VerifyState::Unverified } else { verification };
    Candidate { name, created_utc, verification, legacy }
}

fn count() -> impl Strategy<Value = Option<u32>> {
    prop::option::weighted(0.3, 0..12u32)
}

fn timezone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe,
    ])
}

/// Policies built through `from_config`, so invalid ones (every rule zero) are skipped.
fn policy() -> impl Strategy<Value = RetentionPolicy> {
    let counts = (count(), count(), count(), count(), count(), count());
    let window =
        prop::option::weighted(0.3, (0..3000u64).prop_map(|h| Duration::from_secs(h * 3600)));
    (counts, window, 0..6u32, any::<bool>(), timezone()).prop_filter_map(
        "every configured rule is zero",
        |((last, hourly, daily, weekly, monthly, yearly), within, min_keep, legacy, tz)| {
            let config = RetentionConfig {
                keep_last: last,
                keep_hourly: hourly,
                keep_daily: daily,
                keep_weekly: weekly,
                keep_monthly: monthly,
                keep_yearly: yearly,
                keep_within: within,
                min_keep,
                include_legacy: legacy,
            };
            RetentionPolicy::from_config(&config, tz).ok()
        },
    )
}

fn kept_names(plan: &RetentionPlan) -> HashSet<String> {
    plan.kept().map(|decision| decision.candidate.name.clone()).collect()
}

fn kept_verified(plan: &RetentionPlan) -> Vec<String> {
    plan.kept()
        .filter(|decision| decision.candidate.is_verified())
        .map(|decision| decision.candidate.name.clone())
        .collect()
}

fn newest_verified(history: &[Candidate]) -> Option<&Candidate> {
    history.iter().filter(|c| c.is_verified()).max_by_key(|c| (c.created_utc, c.name.len()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn plan_keeps_newest_verified(history in history(), policy in policy()) {
        let plan = policy.plan(&history);

        if let Some(newest) = newest_verified(&history) {
            prop_assert!(kept_names(&plan).contains(&newest.name));
        }
    }

    #[test]
    fn plan_keeps_min_keep_verified(history in history(), policy in policy()) {
        let plan = policy.plan(&history);

        let verified_total = history.iter().filter(|c| c.is_verified()).count();
        let expected = verified_total.min(policy.min_keep as usize);
        prop_assert!(kept_verified(&plan).len() >= expected);
    }

    #[test]
    fn plan_deletes_nothing_without_verified_backup(history in history(), policy in policy()) {
        let history: Vec<Candidate> =
            history.into_iter().filter(|candidate| !candidate.is_verified()).collect();

        let plan = policy.plan(&history);

        prop_assert_eq!(plan.deleted().count(), 0);
    }

    #[test]
    fn plan_twice_equals_plan_once(history in history(), policy in policy()) {
        let first = policy.plan(&history);
        let survivors: Vec<Candidate> =
            first.kept().map(|decision| decision.candidate.clone()).collect();

        let second = policy.plan(&survivors);

        prop_assert_eq!(second.deleted().count(), 0);
        prop_assert_eq!(kept_names(&second), kept_names(&first));
    }

    #[test]
    fn plan_keeps_excluded_legacy_and_unproven_newer_backups(
        history in history(),
        policy in policy(),
    ) {
        let plan = policy.plan(&history);
        let newest = newest_verified(&history).map(|c| (c.created_utc, c.name.len()));

        for decision in plan.deleted() {
            let candidate = &decision.candidate;
            prop_assert!(!candidate.legacy || policy.include_legacy, "{}", candidate.name);
            if !candidate.is_verified() && !candidate.legacy {
                let key = (candidate.created_utc, candidate.name.len());
                prop_assert!(newest.is_some_and(|newest| key < newest), "{}", candidate.name);
            }
        }
    }

    #[test]
    fn plan_after_recent_failures_loses_no_verified_backup(
        history in history(),
        policy in policy(),
        failures in 1..40usize,
    ) {
        let before = policy.plan(&history);
        let latest = history.iter().map(|c| c.created_utc).max().unwrap_or(utc("2027-01-01T00:00:00Z"));
        let mut failing = history.clone();
        for index in 0..failures {
            let created = latest + TimeDelta::hours(6 * (index as i64 + 1));
            failing.push(candidate(created, VerifyState::Failed, false));
        }

        let after = policy.plan(&failing);

        prop_assert_eq!(kept_verified(&after), kept_verified(&before));
        prop_assert_eq!(after.kept().count(), before.kept().count() + failures);
    }
}
