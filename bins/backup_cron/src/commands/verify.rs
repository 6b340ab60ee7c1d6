//! `backup_cron verify`: decrypt, decompress and check backups against their manifests.

#![allow(clippy::print_stdout, reason = "the verification results are the command's output")]

use invguard_backup::{
    VerificationLevel, VerifyOutcome, VerifyTarget, decryption_keys, verify_with_progress,
};
use invguard_config::VerifyLevel;

use crate::cli::VerifyArgs;
use crate::commands::{Context, error_chain, level_name};
use crate::exit::Exit;
use crate::progress::Bar;
use crate::signals::Interrupt;

/// Verifies the chosen backups; fails when any of them fails.
pub fn run(ctx: &Context, args: &VerifyArgs) -> anyhow::Result<Exit> {
    let mut config = ctx.config().clone();
    if let Some(path) = &args.secret_key {
        config.encryption.secret_key_file = Some(path.clone());
    }
    if let Some(path) = &args.secret_key_passphrase_file {
        config.encryption.secret_key_passphrase_file = Some(path.clone());
    }
    let keys = decryption_keys(&config)?;

    let target = if !args.files.is_empty() {
        VerifyTarget::Files(args.files.clone())
    } else if args.all {
        VerifyTarget::All
    } else {
        VerifyTarget::Latest
    };
    let level = match (args.quick, args.full) {
        (true, _) => VerifyLevel::Quick,
        (_, true) => VerifyLevel::Full,
        _ => config.verify.level,
    };

    let interrupt = Interrupt::install()?;
    let bar = Bar::for_terminal(ctx.interactive);
    let progress = bar.as_ref().map(|bar| bar as &dyn invguard_backup::Progress);
    let result = verify_with_progress(&config, &target, level, &keys, interrupt.token(), progress);
    if let Some(bar) = &bar {
        bar.finish();
    }
    let outcomes = result.map_err(|error| interrupt.attach(error))?;

    Ok(report(&outcomes))
}

/// Prints one line per backup and a summary; returns the exit code.
fn report(outcomes: &[VerifyOutcome]) -> Exit {
    let mut failed = 0;
    for outcome in outcomes {
        let name = outcome.backup.display();
        let level = level_name(outcome.level);
        match &outcome.result {
            Ok(()) if outcome.level == VerificationLevel::Ciphertext => {
                // Without a secret key only the ciphertext is checked; say so on every line so
                // that a host holding public keys alone never reads as fully verified.
                println!(
                    "ok      {name} ({level}; decryption not checked: pass --secret-key FILE \
                     on a trusted machine for a full check)"
                );
                tracing::warn!(backup = %name, level, "verification passed without decryption");
            }
            Ok(()) => {
                println!("ok      {name} ({level})");
                tracing::info!(backup = %name, level, "verification passed");
            }
            Err(error) => {
                failed += 1;
                let reason = error_chain(error);
                println!("FAILED  {name} ({level}): {reason}");
                tracing::error!(backup = %name, level, error = %reason, "verification failed");
            }
        }
    }

    println!("{} verified, {} passed, {failed} failed", outcomes.len(), outcomes.len() - failed);
    if failed == 0 { Exit::Success } else { Exit::Failure }
}
