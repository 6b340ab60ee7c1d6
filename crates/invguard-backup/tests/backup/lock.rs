//! Two backups at once: one runs, the other fails naming the lock holder.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;

use invguard_backup::{BackupError, BackupOptions, DirLock, Phase, Progress, run_backup};

use super::support::Setup;

/// Holds the first backup at its first progress report until the second one has finished.
struct Pause {
    started: Mutex<Option<Sender<()>>>,
    resume: Mutex<Receiver<()>>,
}

impl Progress for Pause {
    fn update(&self, _phase: Phase, _done: u64, _total: u64) {
        if let Some(started) = self.started.lock().unwrap().take() {
            started.send(()).unwrap();
            self.resume.lock().unwrap().recv().unwrap();
        }
    }
}

#[test]
fn backup_concurrent_runs_one_gets_locked() {
    let setup = Setup::new(1_000);
    let config = setup.config();
    let (started_sender, started) = channel();
    let (resume, resume_receiver) = channel();
    let pause =
        Pause { started: Mutex::new(Some(started_sender)), resume: Mutex::new(resume_receiver) };
    let first_options =
        BackupOptions { progress: Some(Arc::new(pause)), ..BackupOptions::default() };

    let (first, second) = thread::scope(|scope| {
        let first = scope.spawn(|| run_backup(&config, &first_options));
        started.recv().unwrap();
        let second = run_backup(&config, &BackupOptions::default());
        resume.send(()).unwrap();
        (first.join().unwrap(), second)
    });

    assert!(first.is_ok(), "{first:?}");
    let error = second.unwrap_err();
    assert!(
        matches!(&error, BackupError::Locked { operation, pid: Some(pid) } if operation == "backup" && *pid == std::process::id()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("another backup is running (pid {})", std::process::id())
    );
    assert_eq!(setup.backup_files().len(), 2, "{:?}", setup.backup_files());
}

#[test]
fn backup_fails_while_reader_holds_shared_lock() {
    let setup = Setup::new(10);
    fs_err::create_dir_all(&setup.backups).unwrap();
    let reader = DirLock::shared(&setup.backups, "list").unwrap();

    let error = run_backup(&setup.config(), &BackupOptions::default()).unwrap_err();

    assert!(matches!(error, BackupError::Locked { .. }), "{error:?}");
    drop(reader);
    run_backup(&setup.config(), &BackupOptions::default()).unwrap();
}
