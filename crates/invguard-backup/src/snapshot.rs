//! A consistent snapshot of the live database through SQLite, and the facts recorded about it.
//!
//! Two methods give the same pages; only header counters that the page copy rewrites differ.
//! Both read inside one read transaction on the live database, so the snapshot is consistent
//! while writers keep committing in WAL mode:
//!
//! - [`PageStream`]: the pages are read in order through the `sqlite_dbpage` virtual table
//!   and streamed straight into compression. No temporary copy is written, which saves writing
//!   and reading back one database size (1.5 s of a 6 s backup of a 1 GiB database). The read
//!   transaction then stays open until the last page is read. Used for databases in WAL mode,
//!   where readers never hold off writers, when SQLite was built with
//!   `SQLITE_ENABLE_DBPAGE_VTAB` (this workspace's `.cargo/config.toml` sets it).
//! - [`take`]: a page copy with SQLite's online backup API into a temporary file, in steps of
//!   16 MiB. Readers of a rollback-journal database block writers' commits, so those databases
//!   use the copy, which keeps the transaction short. So do backups at slow compression
//!   levels, backups that cannot be decrypted for verification (the copy is checked with
//!   `quick_check` before encryption), and builds without `sqlite_dbpage`.
//!
//! The copy looks at the cancel flag and the deadline between steps. The stream looks at the
//! deadline between chunks, and the pipeline stage that drives it looks at the cancel flag.
//!
//! `VACUUM INTO` was used before. It rebuilds every table and index: on a generated 100 MiB
//! inventory database it held the read transaction for 1.2 s inside a backup run, against
//! 0.4 s for the page copy, and used twice the CPU time (0.44 s against 0.21 s in the sqlite3
//! shell). The page copy keeps the file's layout and its free pages, which costs size: zstd
//! level 3 made 35.6 MB of it against 32.6 MB of the `VACUUM INTO` copy.
//!
//! Temporary space: the copied snapshot needs the database size in `[backup] temp_dir`. It is
//! removed before verification writes a decrypted copy of the same size there. The streamed
//! snapshot needs no space of its own, so the verification's copy is the peak either way. The
//! backup file needs about a third of the database size in the backup directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, InterruptHandle, OpenFlags};
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::source::SourceDatabase;
use crate::{BackupError, CancelToken, SqliteInfo};

/// Prefix of the snapshot file in the temporary directory.
pub(crate) const SNAPSHOT_PREFIX: &str = "invguard-snapshot-";

/// How often the watchdog looks at the deadline and the cancel flag.
const WATCHDOG_TICK: Duration = Duration::from_millis(50);

/// Pages copied per step of the snapshot: 16 MiB at the default page size of 4 KiB, a few
/// milliseconds of copying between two looks at the cancel flag and the deadline.
const SNAPSHOT_STEP_PAGES: i32 = 4096;

/// Pause before retrying a step that found the copy locked.
const BUSY_PAUSE: Duration = Duration::from_millis(10);

/// A snapshot file in the temporary directory, deleted when dropped.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The snapshot file (mode 0600).
    pub(crate) file: NamedTempFile,
    /// How long the read transaction on the live database was held.
    pub(crate) read_transaction: Duration,
}

/// Facts about a database file that a backup records and a verification compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatabaseFacts {
    pub(crate) sqlite: SqliteInfo,
    pub(crate) tables: BTreeMap<String, u64>,
    pub(crate) rows_total: u64,
}

/// Copies `source` into a new file in `temp_dir` inside one read transaction, stopping when
/// `deadline` passes or `cancel` is set.
pub(crate) fn take(
    source: &SourceDatabase,
    temp_dir: &Path,
    deadline: Duration,
    cancel: &CancelToken,
) -> Result<Snapshot, BackupError> {
    cancel.check("backup")?;
    let connection = source.open()?;
    // tempfile creates the file with mode 0600; SQLite writes the copy into it.
    let file = tempfile::Builder::new()
        .prefix(SNAPSHOT_PREFIX)
        .suffix(".db")
        .tempfile_in(temp_dir)
        .map_err(|error| BackupError::io_at(temp_dir, error))?;
    let copy_error = |error| BackupError::sqlite("write the snapshot", file.path(), error);
    let mut copy = Connection::open(file.path()).map_err(copy_error)?;
    // The copy is temporary and checked later: no journal and no syncs while writing it.
    copy.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .map_err(copy_error)?;

    let started = Instant::now();
    let source_error = |error| BackupError::sqlite("take a snapshot of", &source.path, error);
    begin_read(&connection).map_err(source_error)?;
    let copied = copy_pages(&connection, &mut copy, started + deadline, cancel);
    // Ending a read transaction cannot fail in a way that matters to the copy.
    let _ = connection.execute_batch("COMMIT");
    let read_transaction = started.elapsed();
    match copied.map_err(source_error)? {
        None => {}
        Some(Stop::Cancelled) => return Err(BackupError::Interrupted { operation: "backup" }),
        Some(Stop::Deadline) => {
            return Err(BackupError::SnapshotTimeout { path: source.path.clone(), deadline });
        }
    }
    // The page copy keeps the WAL flag of the live file; a standalone copy needs none.
    copy.pragma_update(None, "journal_mode", "DELETE").map_err(copy_error)?;
    drop(copy);

    tracing::debug!(
        source = %source.path.display(),
        snapshot = %file.path().display(),
        read_transaction_ms = read_transaction.as_millis() as u64,
        "took snapshot with the backup API"
    );
    Ok(Snapshot { file, read_transaction })
}

/// The live database inside an open read transaction, read page by page for streaming.
///
/// Dropping it ends the read transaction.
pub(crate) struct PageStream {
    connection: Connection,
    path: PathBuf,
    started: Instant,
    deadline: Duration,
    page_size: u64,
    page_count: u64,
}

impl std::fmt::Debug for PageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("path", &self.path)
            .field("page_size", &self.page_size)
            .field("page_count", &self.page_count)
            .finish_non_exhaustive()
    }
}

impl PageStream {
    /// Opens a read transaction on `source` for streaming, or returns `None` when the
    /// database is not in WAL mode or this SQLite lacks the `sqlite_dbpage` table.
    pub(crate) fn open(
        source: &SourceDatabase,
        deadline: Duration,
        cancel: &CancelToken,
    ) -> Result<Option<Self>, BackupError> {
        cancel.check("backup")?;
        let connection = source.open()?;
        let source_error = |error| BackupError::sqlite("take a snapshot of", &source.path, error);
        let journal_mode: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .map_err(source_error)?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            tracing::debug!(journal_mode, "copying the snapshot to a file: not in WAL mode");
            return Ok(None);
        }
        if connection.prepare("SELECT data FROM sqlite_dbpage WHERE pgno = 1").is_err() {
            tracing::debug!("copying the snapshot to a file: SQLite lacks sqlite_dbpage");
            return Ok(None);
        }

        let started = Instant::now();
        begin_read(&connection).map_err(source_error)?;
        let pragma = |name: &str| -> rusqlite::Result<u64> {
            connection.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
        };
        let page_size = pragma("page_size").map_err(source_error)?;
        let page_count = pragma("page_count").map_err(source_error)?;
        tracing::debug!(
            source = %source.path.display(),
            page_size,
            page_count,
            "opened a read transaction for a streamed snapshot"
        );
        Ok(Some(Self {
            connection,
            path: source.path.clone(),
            started,
            deadline,
            page_size,
            page_count,
        }))
    }

    /// Returns the database size as of the read transaction, in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.page_size * self.page_count
    }

    /// Returns the database file the pages come from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the time since the read transaction began.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reads the facts of the snapshot inside its read transaction.
    pub(crate) fn facts(&self) -> Result<DatabaseFacts, BackupError> {
        facts(&self.connection, &self.path)
    }

    /// Reads every page in order and passes them to `send` in chunks of at least
    /// `chunk_bytes` (the last one may be shorter). The header is marked as a rollback-journal
    /// database, as the copied snapshot is, since a single file carries no write-ahead log.
    ///
    /// # Errors
    ///
    /// The first error of `send`; [`BackupError::SnapshotTimeout`] once the deadline passed;
    /// [`BackupError::Sqlite`] when a page cannot be read.
    pub(crate) fn for_each_chunk(
        &self,
        chunk_bytes: usize,
        mut send: impl FnMut(Vec<u8>) -> Result<(), BackupError>,
    ) -> Result<(), BackupError> {
        let source_error = |error| BackupError::sqlite("take a snapshot of", &self.path, error);
        let stop_at = self.started + self.deadline;
        let mut statement = self
            .connection
            .prepare("SELECT data FROM sqlite_dbpage ORDER BY pgno")
            .map_err(source_error)?;
        let mut rows = statement.query([]).map_err(source_error)?;
        let mut chunk = Vec::with_capacity(chunk_bytes);
        let mut pages = 0u64;
        while let Some(row) = rows.next().map_err(source_error)? {
            let ValueRef::Blob(page) = row.get_ref(0).map_err(source_error)? else {
                return Err(self.short_stream(pages));
            };
            chunk.extend_from_slice(page);
            if pages == 0 {
                mark_rollback_journal(&mut chunk);
            }
            pages += 1;
            if chunk.len() >= chunk_bytes {
                if Instant::now() >= stop_at {
                    return Err(BackupError::SnapshotTimeout {
                        path: self.path.clone(),
                        deadline: self.deadline,
                    });
                }
                send(std::mem::replace(&mut chunk, Vec::with_capacity(chunk_bytes)))?;
            }
        }
        if pages != self.page_count {
            return Err(self.short_stream(pages));
        }
        if !chunk.is_empty() {
            send(chunk)?;
        }
        Ok(())
    }

    fn short_stream(&self, pages: u64) -> BackupError {
        let message = format!(
            "sqlite_dbpage returned {pages} pages where the database has {}; run `PRAGMA \
             integrity_check` on it",
            self.page_count
        );
        let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT);
        let error = rusqlite::Error::SqliteFailure(code, Some(message));
        BackupError::sqlite("take a snapshot of", &self.path, error)
    }
}

/// Sets the file format version bytes of a database header (offsets 18 and 19) from WAL (2)
/// to rollback journal (1), as `PRAGMA journal_mode = DELETE` does.
fn mark_rollback_journal(first_page: &mut [u8]) {
    if let Some(versions) = first_page.get_mut(18..20)
        && versions == [2, 2]
    {
        versions.copy_from_slice(&[1, 1]);
    }
}

/// Opens a read transaction, so that every later step of the copy reads the same state.
fn begin_read(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch("BEGIN")?;
    connection.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get::<_, i64>(0))?;
    Ok(())
}

/// Copies every page of `source` into `copy` in steps, looking at `cancel` and the deadline
/// between steps. Returns why it stopped early, if it did.
fn copy_pages(
    source: &Connection,
    copy: &mut Connection,
    stop_at: Instant,
    cancel: &CancelToken,
) -> rusqlite::Result<Option<Stop>> {
    let backup = Backup::new(source, copy)?;
    loop {
        if cancel.is_cancelled() {
            return Ok(Some(Stop::Cancelled));
        }
        if Instant::now() >= stop_at {
            return Ok(Some(Stop::Deadline));
        }
        match backup.step(SNAPSHOT_STEP_PAGES)? {
            StepResult::Done => return Ok(None),
            StepResult::More => {}
            // Busy, locked and any result added later: wait and try the step again.
            _ => std::thread::sleep(BUSY_PAUSE),
        }
    }
}

/// Runs the SQLite `work`, interrupting the connections of `interrupts` when `cancel` is set,
/// for long checks such as `PRAGMA integrity_check` on a large database.
pub(crate) fn cancellable<T>(
    interrupts: Vec<InterruptHandle>,
    cancel: &CancelToken,
    operation: &'static str,
    work: impl FnOnce() -> Result<T, BackupError>,
) -> Result<T, BackupError> {
    // One year is no deadline in practice; `Instant + Duration::MAX` would overflow.
    const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

    let interrupt = move || interrupts.iter().for_each(InterruptHandle::interrupt);
    match with_watchdog(NO_DEADLINE, cancel, interrupt, work) {
        (_, Some(_)) => Err(BackupError::Interrupted { operation }),
        (result, None) => result,
    }
}

/// The reason a copy or a watched piece of work stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    Deadline,
}

/// Runs `work` while a watchdog thread calls `interrupt` once `deadline` passes or `cancel`
/// is set. Returns the work's result and why it was interrupted, if it was.
fn with_watchdog<T>(
    deadline: Duration,
    cancel: &CancelToken,
    interrupt: impl FnOnce() + Send,
    work: impl FnOnce() -> T,
) -> (T, Option<Stop>) {
    let stop_at = Instant::now() + deadline;
    let (done_sender, done_receiver) = mpsc::channel::<()>();

    std::thread::scope(|scope| {
        let watchdog = scope.spawn(move || {
            loop {
                if let Err(mpsc::RecvTimeoutError::Disconnected) =
                    done_receiver.recv_timeout(WATCHDOG_TICK)
                {
                    return None;
                }
                let stop = if cancel.is_cancelled() {
                    Stop::Cancelled
                } else if Instant::now() >= stop_at {
                    Stop::Deadline
                } else {
                    continue;
                };
                interrupt();
                return Some(stop);
            }
        });
        let result = work();
        drop(done_sender);
        (result, watchdog.join().unwrap_or(None))
    })
}

/// Opens a database file that this product wrote (a snapshot or a decrypted backup).
pub(crate) fn open_copy(path: &Path) -> Result<Connection, BackupError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
        .map_err(|source| BackupError::sqlite("open", path, source))
}

/// Reads page size, page count, schema hash and the row count of every user table.
pub(crate) fn facts(connection: &Connection, path: &Path) -> Result<DatabaseFacts, BackupError> {
    let sqlite_error = |source| BackupError::sqlite("read facts from", path, source);

    let page_size: u64 =
        connection.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(sqlite_error)?;
    let page_count: u64 =
        connection.query_row("PRAGMA page_count", [], |row| row.get(0)).map_err(sqlite_error)?;
    let schema_hash = schema_hash(connection).map_err(sqlite_error)?;
    let tables = table_row_counts(connection).map_err(sqlite_error)?;
    let rows_total = tables.values().sum();

    Ok(DatabaseFacts {
        sqlite: SqliteInfo { page_size, page_count, schema_hash },
        tables,
        rows_total,
    })
}

/// SHA-256 (hex) of the `sql` of every `sqlite_schema` entry, sorted, each ending in `\n`.
fn schema_hash(connection: &Connection) -> rusqlite::Result<String> {
    let mut statement =
        connection.prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL")?;
    let mut sql: Vec<String> =
        statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    sql.sort();

    let mut hasher = Sha256::new();
    for statement in &sql {
        hasher.update(statement.as_bytes());
        hasher.update(b"\n");
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Row counts of the ordinary user tables. Virtual tables are skipped: counting them needs
/// their module, and their shadow tables are ordinary tables that are counted.
fn table_row_counts(connection: &Connection) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut statement = connection.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'",
    )?;
    let names: Vec<String> =
        statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;

    let mut counts = BTreeMap::new();
    for name in names {
        let query = format!("SELECT count(*) FROM {}", quote_identifier(&name));
        let count: u64 = connection.query_row(&query, [], |row| row.get(0))?;
        counts.insert(name, count);
    }
    Ok(counts)
}

/// Runs `PRAGMA quick_check` or `PRAGMA integrity_check`. The error contains SQLite's first
/// findings.
pub(crate) fn check_integrity(
    connection: &Connection,
    path: &Path,
    check: &'static str,
) -> Result<(), BackupError> {
    let query = format!("PRAGMA {check}(20)");
    let lines: Vec<String> = connection
        .prepare(&query)
        .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
        .map_err(|source| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                BackupError::IntegrityCheck {
                    path: path.to_owned(),
                    check,
                    message: source.to_string(),
                }
            }
            _ => BackupError::sqlite("check", path, source),
        })?;

    if lines.len() == 1 && lines[0] == "ok" {
        return Ok(());
    }
    Err(BackupError::IntegrityCheck { path: path.to_owned(), check, message: lines.join("; ") })
}

/// Quotes an SQL identifier with double quotes, doubling any inside.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn database(dir: &Path) -> PathBuf {
        let path = dir.join("shop.db");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
                 CREATE TABLE \"odd \"\"name\" (x);
                 CREATE INDEX items_name ON items(name);
                 INSERT INTO items (name) VALUES ('a'), ('b'), ('c');
                 INSERT INTO \"odd \"\"name\" VALUES (1);",
            )
            .unwrap();
        path
    }

    #[test]
    fn take_copies_database_and_facts_match() {
        let dir = tempfile::tempdir().unwrap();
        let source = SourceDatabase::resolve(&database(dir.path())).unwrap();

        let snapshot =
            take(&source, dir.path(), Duration::from_secs(60), &CancelToken::new()).unwrap();

        let copy = open_copy(snapshot.file.path()).unwrap();
        let facts = facts(&copy, snapshot.file.path()).unwrap();
        assert_eq!(facts.tables.get("items"), Some(&3));
        assert_eq!(facts.tables.get("odd \"name"), Some(&1));
        assert_eq!(facts.rows_total, 4);
        let live = facts_of_live(&source);
        assert_eq!(facts.sqlite.schema_hash, live.sqlite.schema_hash);
        check_integrity(&copy, snapshot.file.path(), "quick_check").unwrap();
    }

    fn facts_of_live(source: &SourceDatabase) -> DatabaseFacts {
        facts(&source.open().unwrap(), &source.path).unwrap()
    }

    #[test]
    fn take_cancelled_returns_interrupted_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let source = SourceDatabase::resolve(&database(dir.path())).unwrap();
        let temp = dir.path().join("tmp");
        fs_err::create_dir(&temp).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();

        let error = take(&source, &temp, Duration::from_secs(60), &cancel).unwrap_err();

        assert!(error.is_interrupted(), "{error:?}");
        assert_eq!(fs_err::read_dir(&temp).unwrap().count(), 0);
    }

    /// Adds `rows` rows of 1 KiB to `items`, enough to span many chunks of the page stream.
    fn grow(path: &Path, rows: u32) {
        let connection = Connection::open(path).unwrap();
        connection
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
                 INSERT INTO items (name) SELECT hex(randomblob(512)) FROM n",
                [rows],
            )
            .unwrap();
    }

    /// Collects the whole page stream into one buffer.
    fn stream_bytes(stream: &PageStream) -> Vec<u8> {
        let mut bytes = Vec::new();
        stream
            .for_each_chunk(64 << 10, |chunk| {
                bytes.extend_from_slice(&chunk);
                Ok(())
            })
            .unwrap();
        bytes
    }

    fn open_stream(source: &SourceDatabase) -> PageStream {
        PageStream::open(source, Duration::from_secs(60), &CancelToken::new())
            .unwrap()
            .expect("this build has sqlite_dbpage and the database is in WAL mode")
    }

    #[test]
    fn page_stream_matches_page_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        grow(&path, 2_000);
        let source = SourceDatabase::resolve(&path).unwrap();

        let stream = open_stream(&source);
        let streamed = stream_bytes(&stream);
        let stream_facts = stream.facts().unwrap();
        drop(stream);
        let copied =
            take(&source, dir.path(), Duration::from_secs(60), &CancelToken::new()).unwrap().file;

        let copied_bytes = fs_err::read(copied.path()).unwrap();
        assert_eq!(
            streamed.len() as u64,
            stream_facts.sqlite.page_size * stream_facts.sqlite.page_count
        );
        assert_eq!(streamed.len(), copied_bytes.len());
        // The page copy sets new change counters in the header, so only the later pages are
        // compared byte for byte.
        let page = stream_facts.sqlite.page_size as usize;
        assert!(streamed[page..] == copied_bytes[page..], "pages after the first differ");
        assert_eq!(&streamed[..16], b"SQLite format 3\0");

        let file = dir.path().join("streamed.db");
        fs_err::write(&file, &streamed).unwrap();
        let connection = open_copy(&file).unwrap();
        let journal_mode: String =
            connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        assert_eq!(journal_mode, "delete");
        check_integrity(&connection, &file, "integrity_check").unwrap();
        assert_eq!(facts(&connection, &file).unwrap(), stream_facts);
        assert_eq!(stream_facts.tables.get("items"), Some(&2_003));
    }

    #[test]
    fn page_stream_reads_opening_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        let source = SourceDatabase::resolve(&path).unwrap();

        let stream = open_stream(&source);
        // A writer commits while the stream's read transaction is open; WAL mode lets it.
        grow(&path, 500);
        let streamed = stream_bytes(&stream);
        drop(stream);

        let file = dir.path().join("streamed.db");
        fs_err::write(&file, &streamed).unwrap();
        let connection = open_copy(&file).unwrap();
        let items: u64 =
            connection.query_row("SELECT count(*) FROM items", [], |row| row.get(0)).unwrap();
        assert_eq!(items, 3);
        let live: u64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .unwrap();
        assert_eq!(live, 503);
    }

    #[test]
    fn page_stream_declines_rollback_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        Connection::open(&path).unwrap().pragma_update(None, "journal_mode", "DELETE").unwrap();
        let source = SourceDatabase::resolve(&path).unwrap();

        let stream =
            PageStream::open(&source, Duration::from_secs(60), &CancelToken::new()).unwrap();

        assert!(stream.is_none(), "{stream:?}");
    }

    #[test]
    fn page_stream_stops_at_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        grow(&path, 500);
        let source = SourceDatabase::resolve(&path).unwrap();
        let stream =
            PageStream::open(&source, Duration::ZERO, &CancelToken::new()).unwrap().unwrap();

        let mut chunks = 0;
        let error = stream
            .for_each_chunk(64 << 10, |_| {
                chunks += 1;
                Ok(())
            })
            .unwrap_err();

        assert!(matches!(error, BackupError::SnapshotTimeout { .. }), "{error:?}");
        assert_eq!(chunks, 0);
    }

    #[test]
    fn page_stream_returns_send_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(dir.path());
        grow(&path, 500);
        let source = SourceDatabase::resolve(&path).unwrap();
        let stream = open_stream(&source);

        let mut chunks = 0;
        let error = stream
            .for_each_chunk(64 << 10, |_| {
                chunks += 1;
                Err(BackupError::Interrupted { operation: "backup" })
            })
            .unwrap_err();

        assert!(error.is_interrupted(), "{error:?}");
        assert_eq!(chunks, 1);
    }

    #[test]
    fn mark_rollback_journal_changes_only_wal_versions() {
        let mut header = vec![0u8; 100];
        header[18] = 2;
        header[19] = 2;
        mark_rollback_journal(&mut header);
        assert_eq!(&header[18..20], &[1, 1]);

        let mut legacy = vec![0u8; 100];
        legacy[18] = 1;
        legacy[19] = 1;
        mark_rollback_journal(&mut legacy);
        assert_eq!(&legacy[18..20], &[1, 1]);
    }

    /// Work that runs until the watchdog interrupts it.
    fn wait_for_interrupt(deadline: Duration, cancel: &CancelToken) -> Option<Stop> {
        let (sender, receiver) = mpsc::channel::<()>();
        let (received, stop) =
            with_watchdog(deadline, cancel, move || sender.send(()).unwrap(), || receiver.recv());
        assert!(received.is_ok());
        stop
    }

    #[test]
    fn with_watchdog_interrupts_at_deadline() {
        assert_eq!(wait_for_interrupt(Duration::ZERO, &CancelToken::new()), Some(Stop::Deadline));
    }

    #[test]
    fn with_watchdog_interrupts_on_cancel() {
        let cancel = CancelToken::new();
        cancel.cancel();
        assert_eq!(wait_for_interrupt(Duration::from_secs(3600), &cancel), Some(Stop::Cancelled));
    }

    #[test]
    fn with_watchdog_leaves_finished_work_alone() {
        let (value, stop) = with_watchdog(
            Duration::from_secs(3600),
            &CancelToken::new(),
            || panic!("interrupted"),
            || 7,
        );
        assert_eq!((value, stop), (7, None));
    }

    #[test]
    fn cancellable_interrupts_running_query() {
        let connection = Connection::open_in_memory().unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();

        let interrupts = vec![connection.get_interrupt_handle()];
        let result = cancellable(interrupts, &cancel, "verification", || {
            let query = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                         WHERE i < 1000000000000) SELECT count(*) FROM n";
            connection
                .query_row(query, [], |row| row.get::<_, i64>(0))
                .map_err(|source| BackupError::sqlite("count", Path::new(":memory:"), source))
        });

        assert!(matches!(result, Err(BackupError::Interrupted { .. })), "{result:?}");
    }

    #[test]
    fn quote_identifier_doubles_quotes() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
