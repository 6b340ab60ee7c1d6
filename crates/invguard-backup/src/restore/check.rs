//! SQLite checks of a restored database file before it replaces anything.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::BackupError;

/// Opens the database at `path`, runs `PRAGMA quick_check` (or `integrity_check` when `full`)
/// and counts the rows of every table.
///
/// When `expected` is given (the manifest's `tables`), the tables and their row counts must
/// match it exactly.
///
/// # Errors
///
/// [`BackupError::IntegrityCheck`] when the check reports a problem, [`BackupError::Mismatch`]
/// for a missing, extra or differently sized table, or a SQLite error.
pub(crate) fn check_database(
    path: &Path,
    full: bool,
    expected: Option<&BTreeMap<String, u64>>,
) -> Result<BTreeMap<String, u64>, BackupError> {
    let sqlite = |operation, source| BackupError::sqlite(operation, path, source);
    let checking = open(path).map_err(|e| sqlite("open", e))?;
    let counting = open(path).map_err(|e| sqlite("open", e))?;

    // The check and the row counts each read the whole file, so they run in two threads.
    let check = if full { "integrity_check" } else { "quick_check" };
    let (problems, counts) = std::thread::scope(|scope| {
        let counts = scope.spawn(move || count_rows(&counting));
        let problems = run_check(&checking, check);
        (problems, counts.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let problems = problems.map_err(|e| sqlite("check", e))?;
    if !problems.is_empty() {
        let message = problems.join("; ");
        return Err(BackupError::IntegrityCheck { path: path.to_owned(), check, message });
    }

    let counts = counts.map_err(|e| sqlite("count the rows of", e))?;
    if let Some(expected) = expected {
        compare_counts(path, expected, &counts)?;
    }
    Ok(counts)
}

/// Opens `path` for reading only.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

/// Runs `PRAGMA <check>` and returns up to ten reported problems; empty means `ok`.
fn run_check(connection: &Connection, check: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("PRAGMA {check}(10)"))?;
    let lines: Vec<String> =
        statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;

    Ok(lines.into_iter().filter(|line| line != "ok").collect())
}

/// Counts the rows of every table except SQLite's own (`sqlite_%`).
pub(crate) fn count_rows(connection: &Connection) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut statement = connection.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
         ESCAPE '\\' ORDER BY name",
    )?;
    let tables: Vec<String> =
        statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;

    let mut counts = BTreeMap::new();
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let count: i64 =
            connection
                .query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |row| row.get(0))?;
        counts.insert(table, u64::try_from(count).unwrap_or_default());
    }
    Ok(counts)
}

fn compare_counts(
    path: &Path,
    expected: &BTreeMap<String, u64>,
    actual: &BTreeMap<String, u64>,
) -> Result<(), BackupError> {
    let tables = expected.keys().chain(actual.keys());

    for table in tables {
        let wanted = expected.get(table);
        let found = actual.get(table);
        if wanted != found {
            return Err(BackupError::Mismatch {
                path: path.to_owned(),
                what: format!("row count of table {table}"),
                expected: describe_count(wanted),
                actual: describe_count(found),
            });
        }
    }
    Ok(())
}

fn describe_count(count: Option<&u64>) -> String {
    count.map_or_else(|| "no such table".to_owned(), |count| format!("{count} rows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_with_items(path: &Path, rows: u32) {
        let connection = Connection::open(path).unwrap();
        connection.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)").unwrap();
        for id in 0..rows {
            connection.execute("INSERT INTO items (name) VALUES (?1)", [id.to_string()]).unwrap();
        }
    }

    #[test]
    fn check_database_counts_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("restored.db");
        database_with_items(&path, 3);
        let expected = BTreeMap::from([("items".to_owned(), 3)]);

        let counts = check_database(&path, true, Some(&expected)).unwrap();

        assert_eq!(counts, expected);
    }

    #[test]
    fn check_database_rejects_row_count_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("restored.db");
        database_with_items(&path, 2);
        let expected = BTreeMap::from([("items".to_owned(), 3)]);

        let error = check_database(&path, false, Some(&expected)).unwrap_err();

        assert!(error.to_string().contains("row count of table items"), "{error}");
    }

    #[test]
    fn check_database_rejects_missing_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("restored.db");
        database_with_items(&path, 1);
        let expected = BTreeMap::from([("items".to_owned(), 1), ("categories".to_owned(), 4)]);

        let error = check_database(&path, false, Some(&expected)).unwrap_err();

        assert!(error.to_string().contains("no such table"), "{error}");
    }
}
