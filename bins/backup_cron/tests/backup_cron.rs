//! Integration tests of the `backup_cron` binary, run as a real process in temporary
//! directories.

#[path = "backup_cron/backup.rs"]
mod backup;
#[path = "backup_cron/cleanup.rs"]
mod cleanup;
#[path = "backup_cron/config.rs"]
mod config;
#[path = "backup_cron/daemon.rs"]
mod daemon;
#[path = "backup_cron/fixture.rs"]
mod fixture;
#[path = "backup_cron/health.rs"]
mod health;
#[path = "backup_cron/list.rs"]
mod list;
#[path = "backup_cron/restore.rs"]
mod restore;
#[path = "backup_cron/schedule.rs"]
mod schedule;
#[path = "backup_cron/secrets.rs"]
mod secrets;
#[path = "backup_cron/support.rs"]
mod support;
#[path = "backup_cron/verify.rs"]
mod verify;
