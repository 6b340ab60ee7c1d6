//! A cancelled backup removes everything it wrote.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use invguard_backup::{BackupError, BackupOptions, CancelToken, Phase, Progress, run_backup};

use super::support::{Setup, names_in};

/// Cancels the run at its first progress report, as a signal handler would.
struct CancelOnProgress(CancelToken);

impl Progress for CancelOnProgress {
    fn update(&self, _phase: Phase, _done: u64, _total: u64) {
        self.0.cancel();
    }
}

#[test]
fn backup_cancelled_while_writing_leaves_nothing() {
    let setup = Setup::new(20_000);
    let cancel = CancelToken::new();
    let progress = Arc::new(CancelOnProgress(cancel.clone()));
    let options = BackupOptions { cancel, progress: Some(progress), ..BackupOptions::default() };

    let error = run_backup(&setup.config(), &options).unwrap_err();

    assert!(matches!(error, BackupError::Interrupted { operation: "backup" }), "{error:?}");
    assert!(error.is_interrupted());
    assert_eq!(setup.backup_files(), Vec::<String>::new());
    assert_eq!(names_in(&setup.temp_dir()), Vec::<String>::new());
}

/// Cancels the run once `after` snapshot bytes went into compression, and records whether
/// compression had got that far.
struct CancelAfter {
    cancel: CancelToken,
    after: u64,
    reached: AtomicBool,
}

impl Progress for CancelAfter {
    fn update(&self, phase: Phase, done: u64, _total: u64) {
        if phase == Phase::Write && done >= self.after {
            self.reached.store(true, Ordering::SeqCst);
            self.cancel.cancel();
        }
    }
}

#[test]
fn backup_cancelled_inside_slow_compression_leaves_nothing() {
    // About 12 MiB of database: zstd level 19 needs many seconds for it, so the cancellation
    // arrives while compression jobs are running.
    let setup = Setup::new(200_000);
    let mut config = setup.config();
    config.backup.compression_level = 19;
    let cancel = CancelToken::new();
    let progress = Arc::new(CancelAfter {
        cancel: cancel.clone(),
        after: 4 << 20,
        reached: AtomicBool::new(false),
    });
    let options =
        BackupOptions { cancel, progress: Some(progress.clone()), ..BackupOptions::default() };

    let error = run_backup(&config, &options).unwrap_err();

    assert!(progress.reached.load(Ordering::SeqCst), "cancelled before compression started");
    assert!(matches!(error, BackupError::Interrupted { operation: "backup" }), "{error:?}");
    assert_eq!(setup.backup_files(), Vec::<String>::new());
    assert_eq!(names_in(&setup.temp_dir()), Vec::<String>::new());
}

#[test]
fn backup_cancelled_before_start_leaves_nothing() {
    let setup = Setup::new(10);
    let options = BackupOptions::default();
    options.cancel.cancel();

    let error = run_backup(&setup.config(), &options).unwrap_err();

    assert!(error.is_interrupted(), "{error:?}");
    assert_eq!(setup.backup_files(), Vec::<String>::new());
    assert_eq!(names_in(&setup.temp_dir()), Vec::<String>::new());
}
