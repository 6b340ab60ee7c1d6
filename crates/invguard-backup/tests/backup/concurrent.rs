//! Backups of a database that writers keep changing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use invguard_backup::{
    BackupFormat, BackupOutcome, CancelToken, DecodedBackup, SnapshotMethod, decode_backup,
    decryption_keys,
};
use invguard_config::Config;
use rusqlite::Connection;

use super::support::{Setup, check_database};

const WRITERS: u64 = 3;

/// Starts a writer thread that commits one row per transaction until stopped.
fn spawn_writer(
    database: std::path::PathBuf,
    writer: u64,
    committed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let connection = Connection::open(&database).unwrap();
        connection.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
        connection.pragma_update(None, "synchronous", "NORMAL").unwrap();
        let mut sequence = 0;
        while !stop.load(Ordering::SeqCst) {
            sequence += 1;
            connection
                .execute(
                    "INSERT INTO events (writer, sequence, payload) VALUES (?1, ?2, randomblob(200))",
                    [writer, sequence],
                )
                .unwrap();
            committed.store(sequence, Ordering::SeqCst);
        }
    })
}

/// Decrypts and decompresses the backup of `outcome` into a temporary file.
fn decode(setup: &Setup, config: &Config, outcome: &BackupOutcome) -> DecodedBackup {
    let keys = decryption_keys(config).unwrap();
    let format = BackupFormat::ZstdOpenPgp;
    let cancel = CancelToken::new();
    decode_backup(&outcome.path, format, Some(&keys), setup.root.path(), &cancel, None).unwrap()
}

#[test]
fn backup_during_continuous_writes_keeps_committed_rows() {
    let setup = Setup::new(50_000);
    Connection::open(&setup.database)
        .unwrap()
        .execute_batch("CREATE TABLE events (writer INTEGER, sequence INTEGER, payload BLOB)")
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Vec<Arc<AtomicU64>> = (0..WRITERS).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let writers: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(writer, committed)| {
            spawn_writer(setup.database.clone(), writer as u64, committed.clone(), stop.clone())
        })
        .collect();
    while counters.iter().any(|committed| committed.load(Ordering::SeqCst) < 200) {
        thread::yield_now();
    }

    let before: Vec<u64> =
        counters.iter().map(|committed| committed.load(Ordering::SeqCst)).collect();
    let config = setup.config();
    let outcome = setup.backup(&config);
    let after: Vec<u64> =
        counters.iter().map(|committed| committed.load(Ordering::SeqCst)).collect();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }

    assert!(after.iter().zip(&before).all(|(after, before)| after > before), "writers stalled");
    assert_eq!(outcome.snapshot_method, SnapshotMethod::Streamed);
    let decoded = decode(&setup, &config, &outcome);
    assert_eq!(check_database(decoded.file.path()), 50_000);
    let restored = Connection::open(decoded.file.path()).unwrap();
    for (writer, committed) in before.iter().enumerate() {
        let present: u64 = restored
            .query_row(
                "SELECT count(*) FROM events WHERE writer = ?1 AND sequence <= ?2",
                [writer as u64, *committed],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(present, *committed, "writer {writer} lost rows committed before the backup");
    }
    let events: u64 =
        restored.query_row("SELECT count(*) FROM events", [], |row| row.get(0)).unwrap();
    assert_eq!(outcome.manifest.tables["events"], events);
    assert_eq!(outcome.manifest.rows_total, events + 50_000 + 3);
}

#[test]
fn backup_rollback_journal_copies_snapshot() {
    let setup = Setup::new(2_000);
    Connection::open(&setup.database)
        .unwrap()
        .pragma_update(None, "journal_mode", "DELETE")
        .unwrap();
    let config = setup.config();

    let outcome = setup.backup(&config);

    // A reader of a rollback-journal database blocks writers' commits, so the snapshot is a
    // short page copy instead of a read transaction held through compression.
    assert_eq!(outcome.snapshot_method, SnapshotMethod::File);
    let decoded = decode(&setup, &config, &outcome);
    assert_eq!(check_database(decoded.file.path()), 2_000);
    assert_eq!(outcome.manifest.plaintext.size, fs_err::metadata(&setup.database).unwrap().len());
    assert!(setup.temp_dir().read_dir().unwrap().next().is_none(), "the snapshot copy was left");
}

#[test]
fn backup_level_above_nine_copies_snapshot() {
    let setup = Setup::new(500);
    let mut config = setup.config();
    config.backup.compression_level = 10;

    let outcome = setup.backup(&config);

    assert_eq!(outcome.snapshot_method, SnapshotMethod::File);
    assert_eq!(outcome.manifest.compression.level, 10);
    config.backup.compression_level = 9;
    assert_eq!(setup.backup(&config).snapshot_method, SnapshotMethod::Streamed);
}
