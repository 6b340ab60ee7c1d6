//! Tests of the real `monitor` executable against a test backend on 127.0.0.1: report
//! snapshots, Nagios lines, exit codes, the monitoring cycle and `watch` with SIGTERM.

// The shared test backend signs its tokens with base64url.
use base64 as _;

#[allow(dead_code, reason = "the CLI tests use only part of the shared test backend")]
#[path = "../../../crates/invguard-monitor/tests/monitor/backend.rs"]
mod backend;
#[allow(dead_code, reason = "the CLI tests use only part of the shared webhook receiver")]
#[path = "../../../crates/invguard-monitor/tests/monitor/receiver.rs"]
mod receiver;
#[path = "cli/support.rs"]
mod support;

#[path = "cli/cycle.rs"]
mod cycle;
#[path = "cli/exit_codes.rs"]
mod exit_codes;
#[path = "cli/output.rs"]
mod output;
#[path = "cli/test_notify.rs"]
mod test_notify;
