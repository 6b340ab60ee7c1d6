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

/// The job lines of the repository's `crontab`: the five time fields and the command.
fn crontab_jobs() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crontab");
    let text = fs_err::read_to_string(path).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.contains('='))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields[..5].join(" "), fields[5..].join(" "))
        })
        .collect()
}

#[test]
fn crontab_matches_daemon_defaults() {
    let jobs = crontab_jobs();
    let schedules: Vec<&str> = jobs.iter().map(|(schedule, _)| schedule.as_str()).collect();
    assert_eq!(schedules, ["0 2 * * *", "*/5 * * * *", "0 3 * * 0", "0 4 1 * *"]);

    // Every command is a subcommand this binary accepts.
    let dir = TestDir::new();
    dir.write_config("http://127.0.0.1:9/api", "");
    for (_, command) in &jobs {
        for part in command.split("&&") {
            let mut args: Vec<&str> = part.split_whitespace().collect();
            assert_eq!(args.remove(0), "backup_cron", "{command}");
            args.push("--help");
            let output = dir.output(&args);
            assert!(output.status.success(), "`{part}` is not a valid command");
        }
    }
}
