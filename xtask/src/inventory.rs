//! Generator of realistic InvGuard inventory databases for demos, benchmarks and tests.
//!
//! The database has the tables of the InvGuard backend (categories, suppliers, users, items,
//! stock movements and an audit log) filled with deterministic pseudo-random data: the same
//! seed and size give the same content. Text columns are made of words, not random bytes, so
//! the file compresses like a real database does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, Transaction, params};

/// Seed used when the caller does not choose one.
pub const DEFAULT_SEED: u64 = 0x1AE6_2026;

/// Rows inserted per transaction while the database grows towards its target size.
const BATCH_ROWS: usize = 20_000;

/// Start of the simulated history (2024-01-01T00:00:00Z) in Unix seconds.
const HISTORY_START: i64 = 1_704_067_200;

const SCHEMA: &str = "
CREATE TABLE categories (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL
);
CREATE TABLE suppliers (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    phone         TEXT NOT NULL,
    address       TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'clerk', 'viewer')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_login    TEXT
);
CREATE TABLE items (
    id                INTEGER PRIMARY KEY,
    sku               TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    category_id       INTEGER NOT NULL REFERENCES categories(id),
    supplier_id       INTEGER NOT NULL REFERENCES suppliers(id),
    unit_price_cents  INTEGER NOT NULL,
    quantity          INTEGER NOT NULL,
    reorder_level     INTEGER NOT NULL,
    location          TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX items_category ON items(category_id);
CREATE INDEX items_supplier ON items(supplier_id);
CREATE TABLE stock_movements (
    id         INTEGER PRIMARY KEY,
    item_id    INTEGER NOT NULL REFERENCES items(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL CHECK (kind IN ('receipt', 'sale', 'adjustment', 'transfer', 'return')),
    quantity   INTEGER NOT NULL,
    reference  TEXT NOT NULL,
    note       TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX stock_movements_item_time ON stock_movements(item_id, created_at);
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  INTEGER NOT NULL,
    details    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log(created_at);
";

const WORDS: &[&str] = &[
    "steel",
    "bolt",
    "washer",
    "hinge",
    "bracket",
    "cable",
    "copper",
    "pipe",
    "valve",
    "filter",
    "bearing",
    "gasket",
    "spring",
    "clamp",
    "sensor",
    "relay",
    "switch",
    "fuse",
    "panel",
    "frame",
    "rail",
    "screw",
    "nut",
    "anchor",
    "drill",
    "blade",
    "glove",
    "helmet",
    "tape",
    "label",
    "carton",
    "pallet",
    "crate",
    "box",
    "roll",
    "sheet",
    "coil",
    "rod",
    "tube",
    "plate",
    "heavy",
    "light",
    "duty",
    "stainless",
    "galvanised",
    "coated",
    "black",
    "white",
    "zinc",
    "nylon",
    "rubber",
    "small",
    "large",
    "medium",
    "standard",
    "premium",
    "industrial",
    "compact",
];

const NOTES: &[&str] = &[
    "received damaged, partial credit requested",
    "counted during cycle count",
    "customer order shipped",
    "moved to overflow shelf",
    "supplier short shipment",
    "returned unopened",
    "expired stock written off",
    "transfer between warehouses",
];

const CATEGORY_NAMES: &[&str] = &[
    "Fasteners",
    "Plumbing",
    "Electrical",
    "Safety",
    "Packaging",
    "Tools",
    "Hardware",
    "Adhesives",
    "Lighting",
    "Hydraulics",
    "Pneumatics",
    "Cleaning",
    "Office",
    "Paint",
    "Abrasives",
    "Lubricants",
    "Storage",
    "Signage",
    "Welding",
    "Cutting",
];

const ROLES: &[&str] = &["admin", "manager", "clerk", "clerk", "clerk", "viewer"];
const MOVEMENT_KINDS: &[&str] =
    &["receipt", "sale", "sale", "sale", "adjustment", "transfer", "return"];
const AUDIT_ACTIONS: &[&str] = &["create", "update", "update", "delete", "login", "export"];
const AUDIT_ENTITIES: &[&str] = &["item", "supplier", "category", "user", "stock_movement"];

/// Size and seed of a generated database.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Target size of the database file in bytes; the result is at least this large.
    pub target_bytes: u64,
    /// Seed of the pseudo-random data.
    pub seed: u64,
}

/// Statistics of a database made by [`generate`].
#[derive(Debug, Clone)]
pub struct Summary {
    /// Size of the database file in bytes after the final checkpoint.
    pub bytes: u64,
    /// Row count of each table, in schema order.
    pub tables: Vec<(String, u64)>,
    /// Time spent generating.
    pub elapsed: Duration,
}

impl Summary {
    /// Total number of rows in all tables.
    pub fn rows_total(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// Creates a new database at `path` (replacing any file there) in WAL mode and fills it until
/// it reaches `spec.target_bytes`.
pub fn generate(path: &Path, spec: &Spec) -> anyhow::Result<Summary> {
    let started = Instant::now();
    remove_database(path)?;
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }

    let mut conn = Connection::open(path)
        .with_context(|| format!("cannot create database {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.execute_batch(SCHEMA)?;

    let mut rng = StdRng::seed_from_u64(spec.seed);
    let items = item_count(spec.target_bytes);
    let tx = conn.transaction()?;
    insert_reference_data(&tx, &mut rng, items)?;
    tx.commit()?;

    let mut next_id = 1;
    while database_bytes(&conn)? < spec.target_bytes {
        let tx = conn.transaction()?;
        insert_history(&tx, &mut rng, items, &mut next_id)?;
        tx.commit()?;
    }

    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
    let tables = count_rows(&conn)?;
    drop(conn);

    let bytes = fs_err::metadata(path)?.len();
    Ok(Summary { bytes, tables, elapsed: started.elapsed() })
}

/// Returns the row count of every table of the inventory schema present in `conn`.
pub fn count_rows(conn: &Connection) -> anyhow::Result<Vec<(String, u64)>> {
    let mut names = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY rowid",
    )?;
    let names: Vec<String> = names.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;

    let mut counts = Vec::with_capacity(names.len());
    for name in names {
        let rows: u64 =
            conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |row| row.get(0))?;
        counts.push((name, rows));
    }
    Ok(counts)
}

/// Inserts one stock movement, as the InvGuard backend does for a sale or receipt. Writer
/// threads use it to keep the database busy while it is backed up.
pub fn insert_movement(conn: &Connection, rng: &mut impl Rng) -> rusqlite::Result<()> {
    let items: i64 = conn.query_row("SELECT max(id) FROM items", [], |row| row.get(0))?;
    let users: i64 = conn.query_row("SELECT max(id) FROM users", [], |row| row.get(0))?;
    let item = rng.gen_range(1..=items);
    let quantity = rng.gen_range(-20..=50);

    conn.execute(
        "INSERT INTO stock_movements (item_id, user_id, kind, quantity, reference, note, \
         created_at) VALUES (?1, ?2, 'sale', ?3, ?4, NULL, strftime('%Y-%m-%dT%H:%M:%SZ'))",
        params![item, rng.gen_range(1..=users), quantity, reference(rng)],
    )?;
    conn.execute(
        "UPDATE items SET quantity = quantity + ?1, \
         updated_at = strftime('%Y-%m-%dT%H:%M:%SZ') WHERE id = ?2",
        params![quantity, item],
    )?;
    Ok(())
}

/// Removes a database file with its `-wal` and `-shm` companions, if they exist.
pub fn remove_database(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match fs_err::remove_file(PathBuf::from(file)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Number of catalogue items for a database of `target_bytes`: the catalogue is a few percent
/// of the file and the movement history is the rest, as in a shop running for a few years.
fn item_count(target_bytes: u64) -> u64 {
    (target_bytes / 20_000).clamp(500, 200_000)
}

fn database_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: u64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0))?;
    let page_size: u64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    Ok(pages * page_size)
}

fn insert_reference_data(tx: &Transaction<'_>, rng: &mut StdRng, items: u64) -> anyhow::Result<()> {
    let mut category = tx.prepare("INSERT INTO categories (name, description) VALUES (?1, ?2)")?;
    for name in CATEGORY_NAMES {
        category.execute(params![name, phrase(rng, 8)])?;
    }

    let mut supplier = tx.prepare(
        "INSERT INTO suppliers (name, contact_email, phone, address, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for id in 1..=supplier_count(items) {
        let name =
            format!("{} {} Supply", capitalise(pick(rng, WORDS)), capitalise(pick(rng, WORDS)));
        let email = format!("orders{id}@supplier{id}.example");
        let phone = format!("+1-555-{:04}", rng.gen_range(0..10_000));
        let address =
            format!("{} {} Road, Unit {}", rng.gen_range(1..999), capitalise(pick(rng, WORDS)), id);
        supplier.execute(params![name, email, phone, address, timestamp(rng)])?;
    }

    let mut user = tx.prepare(
        "INSERT INTO users (username, email, role, password_hash, created_at, last_login) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for id in 1..=50 {
        let hash = format!("$argon2id$v=19$m=65536,t=3,p=4${:032x}", rng.r#gen::<u128>());
        user.execute(params![
            format!("user{id:03}"),
            format!("user{id:03}@shop.example"),
            pick(rng, ROLES),
            hash,
            timestamp(rng),
            timestamp(rng),
        ])?;
    }

    let mut item = tx.prepare(
        "INSERT INTO items (sku, name, description, category_id, supplier_id, unit_price_cents, \
         quantity, reorder_level, location, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let suppliers = supplier_count(items);
    for id in 1..=items {
        let location = format!(
            "A{:02}-R{:02}-S{}",
            rng.gen_range(1..40),
            rng.gen_range(1..20),
            rng.gen_range(1..6)
        );
        item.execute(params![
            format!("SKU-{id:07}"),
            capitalise(&phrase(rng, 3)),
            phrase(rng, 14),
            rng.gen_range(1..=CATEGORY_NAMES.len() as i64),
            rng.gen_range(1..=suppliers as i64),
            rng.gen_range(49..250_000),
            rng.gen_range(0..2_000),
            rng.gen_range(5..100),
            location,
            timestamp(rng),
            timestamp(rng),
        ])?;
    }
    Ok(())
}

/// Inserts one batch of stock movements and audit entries, about three movements per entry.
fn insert_history(
    tx: &Transaction<'_>,
    rng: &mut StdRng,
    items: u64,
    next_id: &mut u64,
) -> anyhow::Result<()> {
    let mut movement = tx.prepare_cached(
        "INSERT INTO stock_movements (item_id, user_id, kind, quantity, reference, note, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut audit = tx.prepare_cached(
        "INSERT INTO audit_log (user_id, action, entity, entity_id, details, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;

    for _ in 0..BATCH_ROWS {
        let item = rng.gen_range(1..=items as i64);
        let user = rng.gen_range(1..=50);
        let created = history_time(*next_id);
        let note = rng.gen_bool(0.3).then(|| pick(rng, NOTES).to_string());
        movement.execute(params![
            item,
            user,
            pick(rng, MOVEMENT_KINDS),
            rng.gen_range(-40..=120),
            reference(rng),
            note,
            created,
        ])?;

        if next_id.is_multiple_of(3) {
            let details = format!(
                r#"{{"field":"{}","old":{},"new":{},"ip":"10.0.{}.{}"}}"#,
                pick(rng, &["quantity", "unit_price_cents", "location", "reorder_level"]),
                rng.gen_range(0..5_000),
                rng.gen_range(0..5_000),
                rng.gen_range(0..255),
                rng.gen_range(1..255),
            );
            audit.execute(params![
                user,
                pick(rng, AUDIT_ACTIONS),
                pick(rng, AUDIT_ENTITIES),
                item,
                details,
                created,
            ])?;
        }
        *next_id += 1;
    }
    Ok(())
}

fn supplier_count(items: u64) -> u64 {
    (items / 50).clamp(20, 2_000)
}

fn pick<'a>(rng: &mut StdRng, words: &[&'a str]) -> &'a str {
    words.choose(rng).copied().unwrap_or_default()
}

fn phrase(rng: &mut StdRng, words: usize) -> String {
    (0..words).map(|_| pick(rng, WORDS)).collect::<Vec<_>>().join(" ")
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn reference(rng: &mut impl Rng) -> String {
    const PREFIXES: [&str; 4] = ["PO", "SO", "RMA", "TR"];
    format!("{}-{:06}", PREFIXES[rng.gen_range(0..PREFIXES.len())], rng.gen_range(0..1_000_000))
}

/// Picks a random time within the simulated history, as ISO 8601 UTC text.
fn timestamp(rng: &mut StdRng) -> String {
    format_time(HISTORY_START + rng.gen_range(0..63_072_000))
}

/// Returns the time of the `n`th history row. Rows are seven seconds apart and in order.
fn history_time(n: u64) -> String {
    format_time(HISTORY_START + (n as i64) * 7)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar, UTC).
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) date.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_known_dates() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(HISTORY_START), "2024-01-01T00:00:00Z");
        assert_eq!(format_time(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn generate_reaches_target_size_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.db");
        let summary = generate(&path, &Spec { target_bytes: 2 << 20, seed: 7 }).unwrap();

        assert!(summary.bytes >= 2 << 20, "{} bytes", summary.bytes);
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let names: Vec<&str> = summary.tables.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["categories", "suppliers", "users", "items", "stock_movements", "audit_log"]
        );
        assert!(summary.tables.iter().all(|(_, rows)| *rows > 0), "{:?}", summary.tables);
    }

    #[test]
    fn generate_same_seed_gives_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec { target_bytes: 1 << 20, seed: 42 };
        let (first_path, second_path) = (dir.path().join("a.db"), dir.path().join("b.db"));
        let first = generate(&first_path, &spec).unwrap();
        let second = generate(&second_path, &spec).unwrap();

        assert_eq!(first.tables, second.tables);
        let query = "SELECT group_concat(reference) FROM stock_movements WHERE id <= 100";
        let read = |path: &Path| -> String {
            Connection::open(path).unwrap().query_row(query, [], |row| row.get(0)).unwrap()
        };
        assert_eq!(read(&first_path), read(&second_path));
    }

    #[test]
    fn insert_movement_adds_one_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        generate(&path, &Spec { target_bytes: 1 << 20, seed: DEFAULT_SEED }).unwrap();
        let conn = Connection::open(&path).unwrap();
        let before = movements(&conn);

        insert_movement(&conn, &mut StdRng::seed_from_u64(1)).unwrap();

        assert_eq!(movements(&conn), before + 1);
    }

    fn movements(conn: &Connection) -> u64 {
        conn.query_row("SELECT count(*) FROM stock_movements", [], |row| row.get(0)).unwrap()
    }
}
