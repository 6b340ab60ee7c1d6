//! Run instants of local slots across daylight saving transitions, with Vixie cron's rules.
//!
//! A local slot is a wall-clock time that the expression matches. Most slots name exactly one
//! instant. The others follow what Vixie cron and cronie do when the local clock jumps:
//!
//! - A slot in a spring-forward gap does not exist. A fixed-time job runs at the end of the
//!   gap (02:30 becomes 03:00); a job with `*` in its seconds, minute or hour field skips it.
//! - A slot in a repeated fall-back hour exists twice. A fixed-time job runs at the first
//!   occurrence only; a `*` job runs at both.
//!
//! Slots in local order give instants out of order inside a repeated hour (01:45 of the first
//! pass comes before 01:00 of the second), so the search looks a little behind and beyond the
//! first candidate, by the size of any fall-back transition near it.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::expr::CronExpr;

/// The longest fall-back transition handled. The longest in the tz database since 1970 are
/// three hours (Antarctica/Casey), except one of seven hours (Antarctica/Vostok, 1994).
const MAX_FOLD: TimeDelta = TimeDelta::hours(3);

/// Returns the first run instant of `expr` in `tz` strictly after `after`.
pub(crate) fn next_run(expr: &CronExpr, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let after_second = DateTime::from_timestamp(after.timestamp(), 0)?;
    let local_after = tz.from_utc_datetime(&after_second.naive_utc()).naive_local();
    let start = local_after - fold_slack(tz, after_second, after_second + MAX_FOLD);

    let mut best: Option<DateTime<Utc>> = None;
    let mut last_slot: Option<NaiveDateTime> = None;
    for slot in expr.slots_after(start) {
        if last_slot.is_some_and(|last| slot > last) {
            break;
        }
        for instant in instants(expr.is_fixed_time(), tz, slot).into_iter().flatten() {
            if instant > after && best.is_none_or(|b| instant < b) {
                best = Some(instant);
                let window_start = after_second.max(instant - MAX_FOLD);
                last_slot = Some(slot + fold_slack(tz, window_start, instant));
            }
        }
    }
    best
}

/// Returns the instants at which a job runs for one local slot.
fn instants(fixed_time: bool, tz: Tz, slot: NaiveDateTime) -> [Option<DateTime<Utc>>; 2] {
    match tz.from_local_datetime(&slot) {
        LocalResult::Single(instant) => [Some(instant.to_utc()), None],
        LocalResult::Ambiguous(first, _) if fixed_time => [Some(first.to_utc()), None],
        LocalResult::Ambiguous(first, second) => [Some(first.to_utc()), Some(second.to_utc())],
        LocalResult::None if fixed_time => [gap_end(tz, slot), None],
        LocalResult::None => [None, None],
    }
}

/// Returns the instant a spring-forward gap that contains `slot` ends: the first instant
/// whose local time is later than `slot`.
fn gap_end(tz: Tz, slot: NaiveDateTime) -> Option<DateTime<Utc>> {
    let is_past_slot = |timestamp: i64| {
        DateTime::from_timestamp(timestamp, 0)
            .is_some_and(|t| tz.from_utc_datetime(&t.naive_utc()).naive_local() > slot)
    };

    // UTC offsets lie between -12 and +14 hours, so local time is before the slot 15 hours
    // before it and after it 15 hours later. Local time only falls at a fall-back
    // transition, and none lies within hours of a gap, so the search below is monotonic.
    let mut low = slot.and_utc().timestamp() - 15 * 3600;
    let mut high = slot.and_utc().timestamp() + 15 * 3600;
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if is_past_slot(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    DateTime::from_timestamp(high, 0)
}

/// Returns how far the UTC offset falls from `from` to `to`; zero if it does not fall.
fn fold_slack(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
    let offset = |t: DateTime<Utc>| {
        i64::from(tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc())
    };
    TimeDelta::seconds((offset(from) - offset(to)).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn gap_end_berlin_and_lord_howe() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(gap_end(berlin, local("2025-03-30 02:30")), Some(utc("2025-03-30T01:00:00Z")));

        // Lord Howe moves 30 minutes, from 02:00 to 02:30 local (+10:30 to +11:00).
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        let end = gap_end(lord_howe, local("2025-10-05 02:00"));
        assert_eq!(end, Some(utc("2025-10-04T15:30:00Z")));
    }

    #[test]
    fn fold_slack_only_when_offset_falls() {
        let berlin = chrono_tz::Europe::Berlin;
        let before_fold = utc("2025-10-26T00:00:00Z");
        assert_eq!(fold_slack(berlin, before_fold, before_fold + MAX_FOLD), TimeDelta::hours(1));
        let before_gap = utc("2025-03-30T00:00:00Z");
        assert_eq!(fold_slack(berlin, before_gap, before_gap + MAX_FOLD), TimeDelta::zero());
    }
}
