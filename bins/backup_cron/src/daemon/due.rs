//! When a job is due, given the wall clock, including clock steps and downtime.
//!
//! The daemon checks the wall clock at least once a minute. Between two checks the clock
//! either advanced normally, jumped forward, or stepped back:
//!
//! - A forward jump of up to [`MAX_FORWARD_JUMP`] (a late wake-up, a small suspend, an NTP
//!   step) runs each job that became due inside it once, for its latest slot.
//! - A longer forward jump is a clock correction or a long suspend, treated like downtime:
//!   a job runs once only if its latest missed slot lies within its `catch_up` window.
//! - After a backward step, no job runs a slot it has already handled. Jobs wait until the
//!   clock reaches their next time again, except that after a step of more than
//!   [`MAX_FORWARD_JUMP`] jobs that follow elapsed time (intervals, `*` schedules) are
//!   rescheduled from the new time.

use chrono::{DateTime, TimeDelta, Utc};
use invguard_schedule::Schedule;

/// The largest forward jump whose missed fixed-time runs all run, as in Vixie cron.
pub const MAX_FORWARD_JUMP: TimeDelta = TimeDelta::hours(3);

/// Maximum number of slots walked to find the latest missed one; the walk stops there.
const MAX_SLOTS_WALKED: usize = 200_000;

/// Movement of the wall clock since the previous check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    /// Forward by at most [`MAX_FORWARD_JUMP`].
    Normal,
    /// Forward by more than [`MAX_FORWARD_JUMP`].
    LongForward(TimeDelta),
    /// Back by at most [`MAX_FORWARD_JUMP`].
    ShortBackward(TimeDelta),
    /// Back by more than [`MAX_FORWARD_JUMP`].
    LongBackward(TimeDelta),
}

/// Classifies the clock move from `previous` to `now`.
pub fn clock_move(previous: DateTime<Utc>, now: DateTime<Utc>) -> ClockMove {
    let elapsed = now - previous;
    if elapsed > MAX_FORWARD_JUMP {
        ClockMove::LongForward(elapsed)
    } else if elapsed >= TimeDelta::zero() {
        ClockMove::Normal
    } else if -elapsed > MAX_FORWARD_JUMP {
        ClockMove::LongBackward(-elapsed)
    } else {
        ClockMove::ShortBackward(-elapsed)
    }
}

/// Decision about one job at a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not due yet.
    Wait,
    /// Run now for `slot`, the latest scheduled time that has passed.
    Run {
        /// The scheduled time the run stands for.
        slot: DateTime<Utc>,
    },
    /// The slot passed outside the catch-up window: skip it.
    Missed {
        /// The latest scheduled time that passed.
        slot: DateTime<Utc>,
    },
}

/// Decides whether a job whose next scheduled time is `next_due` runs at `now`.
///
/// `catch_up` is `Some(window)` after downtime or a long forward jump: then a run happens only
/// if the latest passed slot is at most `window` old.
pub fn decide(
    schedule: &Schedule,
    next_due: DateTime<Utc>,
    now: DateTime<Utc>,
    catch_up: Option<TimeDelta>,
) -> Decision {
    if next_due > now {
        return Decision::Wait;
    }

    let slot = latest_slot(schedule, next_due, now);
    match catch_up {
        Some(window) if now - slot > window => Decision::Missed { slot },
        _ => Decision::Run { slot },
    }
}

/// Returns the latest slot of `schedule` at or before `now`, starting from `first`, a slot at
/// or before `now`.
pub fn latest_slot(schedule: &Schedule, first: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    if let Some(interval) = schedule.interval() {
        let seconds = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1);
        let latest = now.timestamp().div_euclid(seconds) * seconds;
        return DateTime::from_timestamp(latest, 0).unwrap_or(first).max(first);
    }

    let mut latest = first;
    for slot in schedule.upcoming(first).take(MAX_SLOTS_WALKED) {
        if slot > now {
            break;
        }
        latest = slot;
    }
    latest
}

#[cfg(test)]
mod tests {
    use chrono_tz::Tz;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn daily() -> Schedule {
        Schedule::parse("0 2 * * *", Tz::UTC).unwrap()
    }

    #[test]
    fn decide_waits_before_due() {
        let decision =
            decide(&daily(), utc("2025-01-02T02:00:00Z"), utc("2025-01-02T01:59:59Z"), None);
        assert_eq!(decision, Decision::Wait);
    }

    #[test]
    fn decide_runs_latest_slot_once_after_jump() {
        let hourly = Schedule::parse("0 * * * *", Tz::UTC).unwrap();
        let now = utc("2025-01-02T04:30:00Z");
        let decision = decide(&hourly, utc("2025-01-02T02:00:00Z"), now, None);
        assert_eq!(decision, Decision::Run { slot: utc("2025-01-02T04:00:00Z") });
    }

    #[test]
    fn decide_catch_up_window() {
        let next_due = utc("2025-01-02T02:00:00Z");
        let within =
            decide(&daily(), next_due, utc("2025-01-02T20:00:00Z"), Some(TimeDelta::hours(24)));
        assert_eq!(within, Decision::Run { slot: next_due });

        let none = decide(&daily(), next_due, utc("2025-01-02T02:10:00Z"), Some(TimeDelta::zero()));
        assert_eq!(none, Decision::Missed { slot: next_due });

        // Three days down: one run for the latest slot, not one per missed day.
        let late =
            decide(&daily(), next_due, utc("2025-01-05T03:00:00Z"), Some(TimeDelta::hours(24)));
        assert_eq!(late, Decision::Run { slot: utc("2025-01-05T02:00:00Z") });
    }

    #[test]
    fn latest_slot_interval_is_arithmetic() {
        let every = Schedule::every(std::time::Duration::from_secs(300), Tz::UTC).unwrap();
        let latest = latest_slot(&every, utc("2025-01-01T00:05:00Z"), utc("2025-01-03T10:07:00Z"));
        assert_eq!(latest, utc("2025-01-03T10:05:00Z"));
    }

    #[test]
    fn clock_move_classes() {
        let t = utc("2025-01-01T12:00:00Z");
        assert_eq!(clock_move(t, t + TimeDelta::seconds(60)), ClockMove::Normal);
        assert_eq!(clock_move(t, t + TimeDelta::hours(3)), ClockMove::Normal);
        assert_eq!(
            clock_move(t, t + TimeDelta::hours(4)),
            ClockMove::LongForward(TimeDelta::hours(4))
        );
        assert_eq!(
            clock_move(t, t - TimeDelta::minutes(5)),
            ClockMove::ShortBackward(TimeDelta::minutes(5))
        );
        assert_eq!(
            clock_move(t, t - TimeDelta::days(1)),
            ClockMove::LongBackward(TimeDelta::days(1))
        );
    }
}
