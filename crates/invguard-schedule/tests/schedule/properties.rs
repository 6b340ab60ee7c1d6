//! Invariants over random expressions, time zones and start times near daylight saving
//! transitions, and a comparison with a simulation of Vixie cron's main loop.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use invguard_schedule::Schedule;
use proptest::prelude::*;

const ZONES: [Tz; 8] = [
    Tz::Europe__Berlin,
    Tz::America__New_York,
    Tz::Australia__Lord_Howe,
    Tz::Australia__Sydney,
    Tz::America__Santiago,
    Tz::Africa__Cairo,
    Tz::Asia__Kolkata,
    Tz::UTC,
];

fn expression() -> impl Strategy<Value = String> {
    let minute = prop::sample::select(vec!["*", "*/15", "0", "30", "0,30", "5-10", "*/7", "59"]);
    let hour = prop::sample::select(vec!["*", "0", "1", "2", "1-3", "*/2", "0,12", "23", "2,3"]);
    let day_of_month = prop::sample::select(vec!["*", "*", "1", "1,15", "*/2", "31", "5-9"]);
    let month = prop::sample::select(vec!["*", "*", "*", "3,4,9,10,11", "*/3"]);
    let day_of_week = prop::sample::select(vec!["*", "*", "0", "7", "5", "1-5", "*/2", "sat,sun"]);
    (minute, hour, day_of_month, month, day_of_week)
        .prop_map(|(mi, h, dom, mo, dow)| format!("{mi} {h} {dom} {mo} {dow}"))
}

/// A start time within two days before a UTC offset change of `zone` in 2024 to 2030, or
/// anywhere in those years for zones without changes.
fn start_near_transition(zone: Tz, seed: u32, lead_minutes: i64) -> DateTime<Utc> {
    let year_start = Utc.with_ymd_and_hms(2024 + i32::try_from(seed % 7).unwrap(), 1, 1, 0, 0, 0);
    let year_start = year_start.unwrap();
    let transitions = transitions(zone, year_start, year_start + TimeDelta::days(366));
    let anchor = match transitions.as_slice() {
        [] => year_start + TimeDelta::hours(i64::from(seed % 8000)),
        list => list[seed as usize % list.len()],
    };
    anchor - TimeDelta::minutes(lead_minutes)
}

/// Instants at which the UTC offset of `zone` changes, to the hour.
fn transitions(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    let mut found = Vec::new();
    let mut t = from;
    while t < to {
        if offset(t) != offset(t + TimeDelta::hours(1)) {
            found.push(t);
        }
        t += TimeDelta::hours(1);
    }
    found
}

fn local(zone: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&zone).naive_local()
}

/// Whether `t` ends a spring-forward gap that contains a local slot the schedule matches.
fn ends_matching_gap(schedule: &Schedule, zone: Tz, t: DateTime<Utc>) -> bool {
    let before = local(zone, t - TimeDelta::seconds(1));
    let after = local(zone, t);
    let mut slot = before + TimeDelta::seconds(1);
    while slot < after {
        if schedule.matches_local(slot) {
            return true;
        }
        slot += TimeDelta::seconds(1);
    }
    false
}

/// Runs of a 5-field expression in (`from`, `to`], computed the way Vixie cron's and cronie's
/// main loop does: once a minute it compares the local clock with the minute it processed
/// last and handles jumps of up to three hours.
fn vixie_cron_runs(
    schedule: &Schedule,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let local_minute = |t: DateTime<Utc>| local(zone, t).and_utc().timestamp() / 60;
    let slot = |minute: i64| DateTime::from_timestamp(minute * 60, 0).unwrap().naive_utc();
    let fixed_time = schedule.is_fixed_time();

    // Warm up for a day so that the clock state at `from` is what a running daemon has.
    let mut now = from - TimeDelta::days(1);
    let mut virtual_minute = local_minute(now);
    let mut runs = Vec::new();
    while now < to {
        now += TimeDelta::minutes(1);
        let running = local_minute(now);
        let difference = running - virtual_minute;
        let mut find_jobs = |minute: i64, wildcard: bool, fixed: bool| {
            let kind_matches = if fixed_time { fixed } else { wildcard };
            if kind_matches && schedule.matches_local(slot(minute)) && runs.last() != Some(&now) {
                runs.push(now);
            }
        };
        if difference == 1 || !(-180..=180).contains(&difference) {
            virtual_minute = running;
            find_jobs(running, true, true);
        } else if difference > 5 {
            find_jobs(running, true, false);
            while virtual_minute < running {
                virtual_minute += 1;
                find_jobs(virtual_minute, false, true);
            }
        } else if difference > 0 {
            while virtual_minute < running {
                virtual_minute += 1;
                find_jobs(virtual_minute, true, true);
            }
        } else {
            find_jobs(running, true, false);
        }
    }
    runs.retain(|&t| t > from);
    runs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn upcoming_strictly_increasing_and_matching(
        expression in expression(),
        zone in prop::sample::select(ZONES.to_vec()),
        seed in any::<u32>(),
        lead in 0i64..2880,
    ) {
        let schedule = Schedule::parse(&expression, zone).unwrap();
        let from = start_near_transition(zone, seed, lead);
        let runs: Vec<_> = schedule.upcoming(from).take(40).collect();

        prop_assert!(!runs.is_empty());
        prop_assert!(runs[0] > from);
        for pair in runs.windows(2) {
            prop_assert!(pair[0] < pair[1], "{} not before {}", pair[0], pair[1]);
        }

        let mut slots = HashSet::new();
        for &t in &runs {
            let slot = local(zone, t);
            let matches = schedule.matches_local(slot);
            let shifted = schedule.is_fixed_time() && ends_matching_gap(&schedule, zone, t);
            prop_assert!(matches || shifted, "{} ({}) does not match {}", t, slot, expression);
            if schedule.is_fixed_time() && !shifted {
                prop_assert!(slots.insert(slot), "local slot {} ran twice", slot);
            }
        }
    }

    #[test]
    fn upcoming_equals_vixie_cron_simulation(
        expression in expression(),
        zone in prop::sample::select(ZONES.to_vec()),
        seed in any::<u32>(),
        lead in 0i64..1440,
    ) {
        let schedule = Schedule::parse(&expression, zone).unwrap();
        let from = start_near_transition(zone, seed, lead);
        let to = from + TimeDelta::hours(36);

        let expected = vixie_cron_runs(&schedule, zone, from, to);
        let actual: Vec<_> = schedule.upcoming(from).take_while(|&t| t <= to).collect();
        prop_assert_eq!(actual, expected, "{} in {} from {}", expression, zone.name(), from);
    }

    #[test]
    fn upcoming_six_fields_strictly_increasing(
        second in prop::sample::select(vec!["*", "*/20", "0", "15,45"]),
        zone in prop::sample::select(ZONES.to_vec()),
        seed in any::<u32>(),
        lead in 0i64..600,
    ) {
        let expression = format!("{second} 59,0-2 1-3 * * *");
        let schedule = Schedule::parse(&expression, zone).unwrap();
        let from = start_near_transition(zone, seed, lead);
        let runs: Vec<_> = schedule.upcoming(from).take(200).collect();
        for pair in runs.windows(2) {
            prop_assert!(pair[0] < pair[1], "{} not before {}", pair[0], pair[1]);
        }
        for &t in &runs {
            let shifted = schedule.is_fixed_time() && ends_matching_gap(&schedule, zone, t);
            prop_assert!(schedule.matches_local(local(zone, t)) || shifted, "{t} does not match");
        }
    }
}

#[test]
fn upcoming_same_instant_after_gap_runs_once() {
    let zone = Tz::Europe__Berlin;
    let schedule = Schedule::parse("0,15,30,45 2 * * *", zone).unwrap();
    let from = "2025-03-30T00:00:00Z".parse().unwrap();
    let runs: Vec<_> = schedule.upcoming(from).take(2).collect();
    let expected: Vec<DateTime<Utc>> =
        vec!["2025-03-30T01:00:00Z".parse().unwrap(), "2025-03-31T00:00:00Z".parse().unwrap()];
    assert_eq!(runs, expected);
}
