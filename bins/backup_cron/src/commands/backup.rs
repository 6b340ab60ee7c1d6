//! `backup_cron backup`: back up the database, verify the backup and write its manifest.

#![allow(clippy::print_stdout, reason = "the path of the new backup is the command's output")]

use std::sync::Arc;

use indicatif::HumanBytes;
use invguard_backup::{BackupOptions, BackupOutcome, Progress, VerificationResult, run_backup};
use invguard_config::EncryptionMode;
use rustix::fs::Mode;

use crate::commands::{Context, level_name};
use crate::exit::Exit;
use crate::progress::Bar;
use crate::signals::Interrupt;

/// Takes one backup; succeeds only when the new backup passed verification.
pub fn run(ctx: &Context) -> anyhow::Result<Exit> {
    // Everything this run creates is private, whatever the caller's umask.
    rustix::process::umask(Mode::from_raw_mode(0o077));
    let config = ctx.config();
    config.require_encryption_keys()?;
    for warning in invguard_backup::check_database_access(&config.database.path)? {
        tracing::warn!("{warning}");
    }
    if config.encryption.mode == EncryptionMode::None {
        tracing::warn!(
            "encryption mode is \"none\": this backup is written unencrypted; set [encryption] \
             mode to \"passphrase\" or \"public-key\" to protect it"
        );
    }

    let interrupt = Interrupt::install()?;
    let bar = Bar::for_terminal(ctx.interactive).map(Arc::new);
    let options = BackupOptions {
        cancel: interrupt.token().clone(),
        progress: bar.clone().map(|bar| bar as Arc<dyn Progress>),
        on_leftover_removed: Some(Arc::new(|path| {
            tracing::info!(path = %path.display(), "removed a leftover of an interrupted run");
        })),
        ..BackupOptions::default()
    };

    tracing::info!(
        database = %config.database.path.display(),
        dir = %config.backup.dir.display(),
        "backup started"
    );
    let result = run_backup(config, &options);
    if let Some(bar) = &bar {
        bar.finish();
    }
    let outcome = result.map_err(|error| interrupt.attach(error))?;

    report(&outcome)
}

/// Logs the outcome and prints the new backup's path.
fn report(outcome: &BackupOutcome) -> anyhow::Result<Exit> {
    for warning in &outcome.warnings {
        tracing::warn!("{warning}");
    }

    let manifest = &outcome.manifest;
    let verification = &manifest.verification;
    let passed = verification.result == VerificationResult::Passed;
    tracing::info!(
        path = %outcome.path.display(),
        size = manifest.ciphertext.size,
        ratio = format!("{:.3}", manifest.compression_ratio()),
        rows = manifest.rows_total,
        verification = level_name(verification.level),
        passed,
        duration_ms = outcome.duration.as_millis() as u64,
        snapshot = %outcome.snapshot_method,
        read_transaction_ms = outcome.snapshot_duration.as_millis() as u64,
        snapshot_ms = outcome.stages.snapshot.as_millis() as u64,
        facts_ms = outcome.stages.facts.as_millis() as u64,
        encode_ms = outcome.stages.encode.as_millis() as u64,
        sync_ms = outcome.stages.sync.as_millis() as u64,
        verify_ms = outcome.stages.verify.as_millis() as u64,
        publish_ms = outcome.stages.publish.as_millis() as u64,
        "backup finished"
    );
    if !passed {
        tracing::error!(path = %outcome.path.display(), "the new backup failed verification");
        return Ok(Exit::Failure);
    }

    println!(
        "{} ({}, {} rows, verified {})",
        outcome.path.display(),
        HumanBytes(manifest.ciphertext.size),
        manifest.rows_total,
        level_name(verification.level)
    );
    Ok(Exit::Success)
}
