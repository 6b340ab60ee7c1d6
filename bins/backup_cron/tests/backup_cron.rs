//! Integration tests of the `backup_cron` binary, run as a real process in temporary
//! directories.

#[path = "backup_cron/daemon.rs"]
mod daemon;
#[path = "backup_cron/health.rs"]
mod health;
#[path = "backup_cron/schedule.rs"]
mod schedule;
#[path = "backup_cron/support.rs"]
mod support;
