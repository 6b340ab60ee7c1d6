//! `backup_cron schedule` and `backup_cron jobs` output.

use crate::support::TestDir;

fn schedule_output(timezone: &str, from: &str, count: &str) -> String {
    let dir = TestDir::new();
    dir.write_config("http://127.0.0.1:9/api", "");
    let config = fs_err::read_to_string(dir.config_path()).unwrap();
    let config = config.replace("timezone = \"UTC\"", &format!("timezone = \"{timezone}\""));
    fs_err::write(dir.config_path(), config).unwrap();

    let output = dir.output(&["schedule", "--from", from, "--count", count]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn schedule_berlin_spring_forward() {
    let output = schedule_output("Europe/Berlin", "2025-03-29T00:00:00Z", "3");
    assert!(
        output.contains("backup\t2025-03-30T03:00:00+02:00\t2025-03-30T01:00:00Z\n"),
        "{output}"
    );
    insta::assert_snapshot!(output);
}

#[test]
fn schedule_berlin_fall_back() {
    insta::assert_snapshot!(schedule_output("Europe/Berlin", "2025-10-25T22:50:00Z", "4"));
}

#[test]
fn schedule_new_york_transitions() {
    insta::assert_snapshot!(schedule_output("America/New_York", "2025-03-08T12:00:00Z", "2"));
    insta::assert_snapshot!(schedule_output("America/New_York", "2025-11-01T12:00:00Z", "2"));
}

#[test]
fn schedule_rejects_invalid_from() {
    let dir = TestDir::new();
    dir.write_config("http://127.0.0.1:9/api", "");
    let output = dir.output(&["schedule", "--from", "tomorrow"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid --from \"tomorrow\""), "{stderr}");
}

#[test]
fn jobs_lists_every_enabled_job() {
    let dir = TestDir::new();
    dir.write_config("http://127.0.0.1:9/api", "[jobs.full-check]\nenabled = false\n");
    let output = dir.output(&["jobs"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let names: Vec<_> =
        stdout.lines().skip(1).map(|line| line.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, ["backup", "health", "maintenance"]);
}
