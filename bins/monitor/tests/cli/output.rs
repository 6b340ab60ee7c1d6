//! Snapshots of what users read: the JSON and text reports and the Nagios lines.

use insta::{assert_json_snapshot, assert_snapshot};
use serde_json::Value;

use crate::backend::Fault;
use crate::support::{Setup, stdout};

/// Filters for values that change from run to run: temporary paths, times, sizes.
fn filters(setup: &Setup) -> Vec<(String, String)> {
    let dir = regex_escape(&setup.dir.path().display().to_string());
    vec![
        (dir, "[dir]".into()),
        (r"127\.0\.0\.1:\d+".into(), "[backend]".into()),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC".into(), "[time]".into()),
        (r"inventory-\d{8}T\d{6}Z".into(), "inventory-[stamp]".into()),
        (r"in \d+(\.\d+)? ms".into(), "in [n] ms".into()),
        (r"'response_time'=[\d.]+ms".into(), "'response_time'=[n]ms".into()),
        (r"is \d+(\.\d+)? hours old".into(), "is [n] hours old".into()),
        (r"'verified_backup_age'=\d+s".into(), "'verified_backup_age'=[n]s".into()),
        (r"\d+(\.\d+)? GB free \(\d+(\.\d+)?% used\)".into(), "[n] GB free ([n]% used)".into()),
        (r"'(backup|database)_free'=\d+B;0:;;0;\d+".into(), "'${1}_free'=[n]B;0:;;0;[n]".into()),
        (r"'(backup|database)_used'=[\d.]+%".into(), "'${1}_used'=[n]%".into()),
    ]
}

fn filtered(setup: &Setup) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in filters(setup) {
        settings.add_filter(&pattern, replacement);
    }
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn report_json_snapshot() {
    let setup = Setup::healthy();
    let output = setup.run(&["report"]);
    assert_eq!(output.status.code(), Some(0), "{}", crate::support::stderr(&output));

    let text = stdout(&output).replace(&setup.dir.path().display().to_string(), "[dir]");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_json_snapshot!("report_json", report, {
        ".timestamp" => "[time]",
        ".checks.*.timestamp" => "[time]",
        ".checks.api_health.response_time_ms" => "[ms]",
        ".checks.api_health.summary" => "[summary]",
        ".checks.backup_status.latest_backup" => "[name]",
        ".checks.backup_status.latest_verified_backup" => "[name]",
        ".checks.backup_status.summary" => "[summary]",
        ".checks.backup_status.backup_age_hours" => "[hours]",
        ".checks.backup_status.verified_backup_age_hours" => "[hours]",
        ".checks.disk_space.summary" => "[summary]",
        ".checks.disk_space.total_gb" => "[gb]",
        ".checks.disk_space.used_gb" => "[gb]",
        ".checks.disk_space.free_gb" => "[gb]",
        ".checks.disk_space.used_percentage" => "[percent]",
        ".checks.disk_space.filesystems" => "[filesystems]",
    });
}

#[test]
fn report_text_snapshot() {
    let setup = Setup::healthy();
    let output = setup.run(&["report", "--format", "text"]);
    assert_eq!(output.status.code(), Some(0));

    let text = stdout(&output);
    assert!(!text.contains('\x1b'), "colours written to a pipe");
    filtered(&setup).bind(|| assert_snapshot!("report_text", text));
}

#[test]
fn report_text_unhealthy_snapshot() {
    let setup = Setup::healthy();
    setup.backend.fault("/api/health", Fault::Status(503, "{}".into()));
    setup.backend.fault("/api/items", Fault::Body("{\"data\": []}".into()));
    let output = setup.run(&["report", "--format", "text"]);
    assert_eq!(output.status.code(), Some(2));

    filtered(&setup).bind(|| assert_snapshot!("report_text_unhealthy", stdout(&output)));
}

#[test]
fn check_nagios_lines_snapshot() {
    let setup = Setup::healthy();
    let mut lines = String::new();
    for name in ["api_health", "low_stock", "backup_status", "disk_space", "database"] {
        let output = setup.run(&["check", name]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stdout(&output));
        lines.push_str(&stdout(&output));
    }
    filtered(&setup).bind(|| assert_snapshot!("nagios_lines", lines));
}

#[test]
fn check_critical_nagios_line() {
    let mut setup = Setup::healthy();
    setup.set("API_URL", "http://127.0.0.1:9/api");
    let output = setup.run(&["check", "api-health"]);

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stdout(&output),
        "API_HEALTH CRITICAL - backend unreachable: GET /health: connection refused\n"
    );
}
