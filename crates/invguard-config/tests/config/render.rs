//! The effective configuration as `backup_cron config` shows it.

use crate::{Fixture, load, with_snapshots};

#[test]
fn render_toml_defaults() {
    let loaded = load(None, &[]).unwrap();

    let rendered = loaded.render_toml();

    with_snapshots(|| insta::assert_snapshot!("render_defaults", rendered));
}

#[test]
fn render_toml_names_every_origin() {
    let fixture = Fixture::new();
    let passphrase = fixture.write("passphrase", "correct horse\n");
    let ntfy_token = fixture.write("ntfy-token", "tk_123\n");
    let file = format!(
        r#"timezone = "Europe/Berlin"

[database]
name = "shop"

[retention]
keep_daily = 7
keep_weekly = 4
keep_monthly = 12

[monitor]
low_stock_percentage = 0.2

[[monitor.notifiers]]
type = "slack"
url = "https://hooks.slack.invalid/T000/B000/XXXX"

[[monitor.notifiers]]
type = "ntfy"
url = "https://ntfy.invalid/invguard"
token_file = "{}"

[[monitor.notifiers]]
type = "command"
program = "/usr/local/bin/page-oncall"
args = ["--team", "inventory"]

[jobs.backup]
schedule = "30 1 * * *"
ping_url = "https://hc-ping.invalid/uuid"

[jobs.maintenance]
enabled = false
"#,
        ntfy_token.display()
    );
    let config = fixture.write("invguard.toml", &file);
    let passphrase_text = passphrase.display().to_string();
    let pairs = [
        ("DATABASE_PATH", "/data/inventory.db"),
        ("BACKUP_PATH", "/data/backups"),
        ("INVGUARD_BACKUP__DIR", "/srv/backups"),
        ("GPG_PASSPHRASE_FILE", passphrase_text.as_str()),
        ("API_TOKEN", "token-from-env"),
        ("BACKUP_RETENTION_DAYS", "30"),
        ("HEALTH_CHECK_INTERVAL", "120"),
        ("LOG_LEVEL", "warn"),
    ];

    let loaded = load(Some(&config), &pairs).unwrap();

    let rendered = fixture.redact(&loaded.render_toml());
    let warnings = fixture.redact(&loaded.warnings.join("\n"));
    with_snapshots(|| {
        insta::assert_snapshot!("render_origins", rendered);
        insta::assert_snapshot!("render_origins_warnings", warnings);
    });
}

#[test]
fn render_toml_loads_again() {
    let fixture = Fixture::new();
    let first =
        load(None, &[("BACKUP_RETENTION_DAYS", "30"), ("API_URL", "http://127.0.0.1:1/api")])
            .unwrap();
    let config = fixture.write("rendered.toml", &first.render_toml());

    let second = load(Some(&config), &[]).unwrap();

    assert_eq!(second.config.retention.keep_within, first.config.retention.keep_within);
    assert_eq!(second.config.api.url, first.config.api.url);
}
