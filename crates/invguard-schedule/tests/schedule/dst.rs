//! Daylight saving transitions, checked against the Vixie cron and cronie behaviour.

use chrono_tz::{America, Australia, Europe, Tz};

use crate::support::runs;

struct Case {
    expression: &'static str,
    zone: Tz,
    from: &'static str,
    expected: &'static [&'static str],
}

fn check(cases: &[Case]) {
    for case in cases {
        let actual = runs(case.expression, case.zone, case.from, case.expected.len());
        assert_eq!(
            actual,
            case.expected,
            "{} in {} after {}",
            case.expression,
            case.zone.name(),
            case.from
        );
    }
}

#[test]
fn next_after_spring_forward_shifts_fixed_time_to_gap_end() {
    check(&[
        Case {
            expression: "0 2 * * *",
            zone: Europe::Berlin,
            from: "2025-03-28T12:00:00Z",
            expected: &[
                "2025-03-29T02:00:00+01:00",
                "2025-03-30T03:00:00+02:00",
                "2025-03-31T02:00:00+02:00",
            ],
        },
        Case {
            expression: "30 2 * * *",
            zone: Europe::Berlin,
            from: "2025-03-29T12:00:00Z",
            expected: &["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"],
        },
        Case {
            expression: "0 2 * * *",
            zone: America::New_York,
            from: "2025-03-07T12:00:00Z",
            expected: &[
                "2025-03-08T02:00:00-05:00",
                "2025-03-09T03:00:00-04:00",
                "2025-03-10T02:00:00-04:00",
            ],
        },
        // 2025-03-30 is the gap Sunday in Berlin.
        Case {
            expression: "0 2 * * 0",
            zone: Europe::Berlin,
            from: "2025-03-20T00:00:00Z",
            expected: &[
                "2025-03-23T02:00:00+01:00",
                "2025-03-30T03:00:00+02:00",
                "2025-04-06T02:00:00+02:00",
            ],
        },
        // Lord Howe Island moves its clocks by 30 minutes, from 02:00 to 02:30.
        Case {
            expression: "0 2 * * *",
            zone: Australia::Lord_Howe,
            from: "2025-10-03T00:00:00Z",
            expected: &[
                "2025-10-04T02:00:00+10:30",
                "2025-10-05T02:30:00+11:00",
                "2025-10-06T02:00:00+11:00",
            ],
        },
        // Southern hemisphere: Sydney springs forward in October.
        Case {
            expression: "0 2 * * *",
            zone: Australia::Sydney,
            from: "2025-10-03T00:00:00Z",
            expected: &[
                "2025-10-04T02:00:00+10:00",
                "2025-10-05T03:00:00+11:00",
                "2025-10-06T02:00:00+11:00",
            ],
        },
    ]);
}

#[test]
fn next_after_gap_at_midnight() {
    check(&[
        // Chile skips from Saturday 24:00 to Sunday 01:00 on 2025-09-07.
        Case {
            expression: "0 0 * * *",
            zone: America::Santiago,
            from: "2025-09-05T12:00:00Z",
            expected: &[
                "2025-09-06T00:00:00-04:00",
                "2025-09-07T01:00:00-03:00",
                "2025-09-08T00:00:00-03:00",
            ],
        },
        // Egypt skips from Thursday 24:00 to Friday 01:00 on 2025-04-25.
        Case {
            expression: "0 0 * * 5",
            zone: chrono_tz::Africa::Cairo,
            from: "2025-04-15T00:00:00Z",
            expected: &[
                "2025-04-18T00:00:00+02:00",
                "2025-04-25T01:00:00+03:00",
                "2025-05-02T00:00:00+03:00",
            ],
        },
    ]);
}

#[test]
fn next_after_fall_back_runs_fixed_time_once() {
    check(&[
        // Berlin repeats 02:00-03:00 on 2025-10-26: the job runs at the first 02:00.
        Case {
            expression: "0 2 * * *",
            zone: Europe::Berlin,
            from: "2025-10-24T12:00:00Z",
            expected: &[
                "2025-10-25T02:00:00+02:00",
                "2025-10-26T02:00:00+02:00",
                "2025-10-27T02:00:00+01:00",
            ],
        },
        // New York repeats 01:00-02:00 on 2025-11-02; 02:00 itself exists once.
        Case {
            expression: "0 2 * * *",
            zone: America::New_York,
            from: "2025-10-31T12:00:00Z",
            expected: &[
                "2025-11-01T02:00:00-04:00",
                "2025-11-02T02:00:00-05:00",
                "2025-11-03T02:00:00-05:00",
            ],
        },
        Case {
            expression: "30 1 * * *",
            zone: America::New_York,
            from: "2025-11-01T12:00:00Z",
            expected: &["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"],
        },
        // Sydney repeats 02:00-03:00 on 2025-04-06.
        Case {
            expression: "0 2 * * *",
            zone: Australia::Sydney,
            from: "2025-04-04T00:00:00Z",
            expected: &[
                "2025-04-05T02:00:00+11:00",
                "2025-04-06T02:00:00+11:00",
                "2025-04-07T02:00:00+10:00",
            ],
        },
        // Lord Howe repeats 01:30-02:00 on 2025-04-06.
        Case {
            expression: "45 1 * * *",
            zone: Australia::Lord_Howe,
            from: "2025-04-04T00:00:00Z",
            expected: &[
                "2025-04-05T01:45:00+11:00",
                "2025-04-06T01:45:00+11:00",
                "2025-04-07T01:45:00+10:30",
            ],
        },
        // Chile repeats Saturday 23:00-24:00 on 2025-04-05.
        Case {
            expression: "30 23 * * *",
            zone: America::Santiago,
            from: "2025-04-05T12:00:00Z",
            expected: &["2025-04-05T23:30:00-03:00", "2025-04-06T23:30:00-04:00"],
        },
    ]);
}

#[test]
fn next_after_wildcard_jobs_follow_elapsed_time() {
    check(&[
        // Both passes of the repeated hour.
        Case {
            expression: "*/15 * * * *",
            zone: America::New_York,
            from: "2025-11-02T05:30:00Z",
            expected: &[
                "2025-11-02T01:45:00-04:00",
                "2025-11-02T01:00:00-05:00",
                "2025-11-02T01:15:00-05:00",
                "2025-11-02T01:30:00-05:00",
                "2025-11-02T01:45:00-05:00",
                "2025-11-02T02:00:00-05:00",
            ],
        },
        Case {
            expression: "@hourly",
            zone: Europe::Berlin,
            from: "2025-10-25T23:30:00Z",
            expected: &[
                "2025-10-26T02:00:00+02:00",
                "2025-10-26T02:00:00+01:00",
                "2025-10-26T03:00:00+01:00",
            ],
        },
        // No run inside the gap, none shifted to its end.
        Case {
            expression: "*/15 * * * *",
            zone: America::New_York,
            from: "2025-03-09T06:30:00Z",
            expected: &[
                "2025-03-09T01:45:00-05:00",
                "2025-03-09T03:00:00-04:00",
                "2025-03-09T03:15:00-04:00",
            ],
        },
        Case {
            expression: "30 * * * *",
            zone: Europe::Berlin,
            from: "2025-03-30T00:00:00Z",
            expected: &["2025-03-30T01:30:00+01:00", "2025-03-30T03:30:00+02:00"],
        },
    ]);
}

#[test]
fn next_after_same_instant_slots_run_once() {
    check(&[
        Case {
            expression: "0,30 2 * * *",
            zone: Europe::Berlin,
            from: "2025-03-29T12:00:00Z",
            expected: &["2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"],
        },
        Case {
            expression: "0,30 2-3 * * *",
            zone: Europe::Berlin,
            from: "2025-03-29T12:00:00Z",
            expected: &[
                "2025-03-30T03:00:00+02:00",
                "2025-03-30T03:30:00+02:00",
                "2025-03-31T02:00:00+02:00",
            ],
        },
    ]);
}

#[test]
fn next_after_six_fields_in_gap() {
    check(&[Case {
        expression: "*/20 59 1 * * *",
        zone: Europe::Berlin,
        from: "2025-03-30T00:00:00Z",
        expected: &[
            "2025-03-30T01:59:00+01:00",
            "2025-03-30T01:59:20+01:00",
            "2025-03-30T01:59:40+01:00",
            "2025-03-31T01:59:00+02:00",
        ],
    }]);
}
