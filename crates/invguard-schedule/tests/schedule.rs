//! Integration tests of invguard-schedule: Vixie cron rules, daylight saving, errors.

#[path = "schedule/describe.rs"]
mod describe;
#[path = "schedule/dst.rs"]
mod dst;
#[path = "schedule/errors.rs"]
mod errors;
#[path = "schedule/properties.rs"]
mod properties;
#[path = "schedule/rules.rs"]
mod rules;
#[path = "schedule/support.rs"]
mod support;
