//! Exit codes: the worst check's Nagios code, and 3 for usage and configuration errors.

use crate::backend::Fault;
use crate::support::{Setup, stderr};

#[test]
fn exit_code_ok_is_0() {
    let setup = Setup::healthy();
    assert_eq!(setup.run(&["report"]).status.code(), Some(0));
}

#[test]
fn exit_code_warning_is_1() {
    let mut setup = Setup::healthy();
    setup.set("INVGUARD_MONITOR__LOW_STOCK_PERCENTAGE", "0.01");
    let output = setup.run(&["report"]);

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn exit_code_critical_is_2() {
    let setup = Setup::healthy();
    setup.backend.fault("/api/health", Fault::Status(503, "{}".into()));
    assert_eq!(setup.run(&["report"]).status.code(), Some(2));
}

#[test]
fn exit_code_unknown_is_3() {
    let setup = Setup::healthy();
    setup.backend.fault("/api/items", Fault::Body("{\"oops\": true}".into()));
    let output = setup.run(&["report"]);

    assert_eq!(output.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["checks"]["low_stock"]["level"], "UNKNOWN");
    assert_eq!(report["overall_status"], "unhealthy");
}

#[test]
fn exit_code_usage_error_is_3() {
    let setup = Setup::healthy();
    let output = setup.run(&["--no-such-flag"]);

    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("--no-such-flag"));
}

#[test]
fn exit_code_unknown_check_is_3() {
    let setup = Setup::healthy();
    let output = setup.run(&["check", "disk"]);

    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("unknown check \"disk\""), "{}", stderr(&output));
}

#[test]
fn exit_code_config_error_is_3() {
    let mut setup = Setup::healthy();
    setup.set("INVGUARD_MONITOR__FAILURE_THRESHOLD", "often");
    let output = setup.run(&["report"]);

    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("monitor: error: invalid configuration"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_exits_0() {
    let setup = Setup::healthy();
    let output = setup.run(&["--help"]);

    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("test-notify"));
}
