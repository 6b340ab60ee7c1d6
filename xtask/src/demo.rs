//! `cargo xtask demo`: the whole backup cycle on a generated database, with real tools.
//!
//! Generates an inventory database under `target/demo/` and backs it up with `backup_cron
//! backup` while a writer thread records stock movements. Then it lists and verifies the
//! backups. Finally it decrypts the newest one with `gpg` and `zstd` (when installed) and
//! compares its row counts with the manifest. Everything stays under `target/demo/`, and a
//! second run starts afresh.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::inventory::{self, Spec};
use crate::tools::{self, Profile};
use anyhow::{Context as _, bail};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rusqlite::Connection;

/// Pause between two stock movements of the writer thread: about 50 writes per second.
const WRITE_INTERVAL: Duration = Duration::from_millis(20);

/// Arguments of `cargo xtask demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of the generated database in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 40)]
    size_mb: u64,

    /// Seed of the generated data.
    #[arg(long, default_value_t = inventory::DEFAULT_SEED)]
    seed: u64,
}

/// The files of one demo run, all under `target/demo/`.
#[derive(Debug)]
struct Layout {
    root: PathBuf,
    database: PathBuf,
    backups: PathBuf,
    passphrase: PathBuf,
    config: PathBuf,
    gnupg: PathBuf,
    restored: PathBuf,
}

impl Layout {
    fn new(root: PathBuf) -> Self {
        Layout {
            database: root.join("data/inventory.db"),
            backups: root.join("backups"),
            passphrase: root.join("passphrase"),
            config: root.join("invguard.toml"),
            gnupg: root.join("gnupg"),
            restored: root.join("restored/inventory.db"),
            root,
        }
    }
}

/// Runs `cargo xtask demo`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let layout = Layout::new(tools::target_dir().join("demo"));
    prepare(&layout)?;

    println!("==> generating a {} MiB inventory database", args.size_mb);
    let spec = Spec { target_bytes: args.size_mb * 1024 * 1024, seed: args.seed };
    let summary = inventory::generate(&layout.database, &spec)?;
    println!(
        "    {} rows in {} tables, {}, in {:.1} s",
        summary.rows_total(),
        summary.tables.len(),
        tools::format_bytes(summary.bytes),
        summary.elapsed.as_secs_f64()
    );

    println!("==> building backup_cron");
    let binary = tools::build_backup_cron(Profile::Dev)?;

    println!("==> backup while a writer thread records stock movements");
    let writer = Writer::start(&layout.database)?;
    let backup = backup_cron(&binary, &layout, &["backup"]);
    let written = writer.stop()?;
    println!("    the writer recorded {written} stock movements during the backup");
    backup?;

    println!("==> backup_cron list");
    backup_cron(&binary, &layout, &["list"])?;
    println!("==> backup_cron verify --latest --full");
    backup_cron(&binary, &layout, &["verify", "--latest", "--full"])?;

    println!("==> decrypting the newest backup with gpg and zstd");
    let newest = tools::newest_backup(&layout.backups)?;
    decrypt_with_gnupg(&layout, &newest)?;

    print_locations(&layout, &binary, &newest);
    Ok(())
}

/// Removes the previous run's files and writes the passphrase and configuration files.
fn prepare(layout: &Layout) -> anyhow::Result<()> {
    if layout.root.exists() {
        fs_err::remove_dir_all(&layout.root)?;
    }
    tools::create_private_dir(&layout.root)?;
    tools::create_private_dir(&layout.gnupg)?;
    tools::create_private_dir(layout.restored.parent().unwrap_or(&layout.root))?;

    let passphrase = tools::random_passphrase();
    tools::write_private_file(&layout.passphrase, format!("{passphrase}\n").as_bytes())?;

    let config = format!(
        "# Configuration of `cargo xtask demo`; see docs/configuration.md.\n\
         timezone = \"UTC\"\n\n\
         [database]\npath = {database:?}\nname = \"inventory\"\n\n\
         [backup]\ndir = {backups:?}\n\n\
         [encryption]\nmode = \"passphrase\"\npassphrase_file = {passphrase:?}\n",
        database = layout.database.display().to_string(),
        backups = layout.backups.display().to_string(),
        passphrase = layout.passphrase.display().to_string(),
    );
    tools::write_private_file(&layout.config, config.as_bytes())
}

/// Runs `backup_cron --config <demo config> <args>` with its output on this terminal.
fn backup_cron(binary: &Path, layout: &Layout, args: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new(binary);
    command.arg("--config").arg(&layout.config).args(args);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());

    let status = command.status().with_context(|| format!("cannot run {}", binary.display()))?;
    if !status.success() {
        bail!("{} failed with {status}", tools::describe(&command));
    }
    Ok(())
}

/// A thread that inserts stock movements into the live database until stopped.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<anyhow::Result<u64>>,
}

impl Writer {
    fn start(database: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(database)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);

        let handle = thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(1);
            let mut written = 0;
            while !flag.load(Ordering::Relaxed) {
                inventory::insert_movement(&conn, &mut rng)?;
                written += 1;
                thread::sleep(WRITE_INTERVAL);
            }
            Ok(written)
        });
        Ok(Writer { stop, handle })
    }

    /// Stops the thread and returns how many movements it inserted.
    fn stop(self) -> anyhow::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.join() {
            Ok(result) => result,
            Err(_) => bail!("the writer thread panicked"),
        }
    }
}

/// Decrypts `backup` with gpg and zstd into the restored database and compares its row counts
/// with the backup's manifest. Says so, and succeeds, when either program is not installed.
fn decrypt_with_gnupg(layout: &Layout, backup: &Path) -> anyhow::Result<()> {
    let missing: Vec<&str> =
        ["gpg", "zstd"].into_iter().filter(|name| tools::find_program(name).is_none()).collect();
    if !missing.is_empty() {
        println!(
            "    skipped: {} not installed (Debian: apt-get install gnupg zstd)",
            missing.join(" and ")
        );
        return Ok(());
    }

    let result = gpg_zstd_decrypt(&layout.gnupg, &layout.passphrase, backup, &layout.restored);
    let _ =
        Command::new("gpgconf").arg("--kill").arg("all").env("GNUPGHOME", &layout.gnupg).status();
    result?;

    let expected = manifest_tables(backup)?;
    let actual = inventory::count_rows(&Connection::open(&layout.restored)?)?;
    println!("    {:<18} {:>12} {:>12}", "table", "manifest", "restored");
    for (table, rows) in &actual {
        let listed = expected.iter().find(|(name, _)| name == table).map(|(_, rows)| *rows);
        let listed = listed.map_or_else(|| "-".to_string(), |rows| rows.to_string());
        println!("    {table:<18} {listed:>12} {rows:>12}");
    }
    let actual_total: u64 = actual.iter().map(|(_, rows)| rows).sum();
    let expected_total: u64 = expected.iter().map(|(_, rows)| rows).sum();
    if actual != expected {
        bail!("row counts of the decrypted backup differ from its manifest");
    }
    println!("    row counts match: {actual_total} rows (manifest {expected_total})");
    Ok(())
}

/// Runs `gpg --decrypt BACKUP | zstd -d -o OUTPUT`; the passphrase goes by file, never by
/// argument.
pub fn gpg_zstd_decrypt(
    gnupg_home: &Path,
    passphrase_file: &Path,
    backup: &Path,
    output: &Path,
) -> anyhow::Result<()> {
    let mut gpg = Command::new("gpg")
        .env("GNUPGHOME", gnupg_home)
        .args(["--batch", "--quiet", "--pinentry-mode", "loopback", "--no-symkey-cache"])
        .arg("--passphrase-file")
        .arg(passphrase_file)
        .arg("--decrypt")
        .arg(backup)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run gpg")?;
    let ciphertext = gpg.stdout.take().context("gpg has no stdout pipe")?;

    let zstd = Command::new("zstd")
        .args(["--decompress", "--quiet", "--force", "-o"])
        .arg(output)
        .stdin(ciphertext)
        .status()
        .context("cannot run zstd")?;
    let gpg = gpg.wait()?;

    if !gpg.success() {
        bail!("gpg --decrypt {} failed with {gpg}", backup.display());
    }
    if !zstd.success() {
        bail!("zstd --decompress of {} failed with {zstd}", backup.display());
    }
    Ok(())
}

/// Reads the `tables` row counts from the manifest beside `backup`, in file order.
fn manifest_tables(backup: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let name =
        backup.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".db.zst.gpg").unwrap_or(&name);
    let path = backup.with_file_name(format!("{stem}.manifest.json"));
    let manifest: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&path)?)
        .with_context(|| format!("invalid JSON in {}", path.display()))?;

    let tables = manifest["tables"]
        .as_object()
        .with_context(|| format!("no `tables` object in {}", path.display()))?;
    let mut counts: Vec<(String, u64)> =
        tables.iter().map(|(name, rows)| (name.clone(), rows.as_u64().unwrap_or(0))).collect();
    let order = |name: &str| TABLE_ORDER.iter().position(|table| *table == name);
    counts.sort_by_key(|(name, _)| order(name));
    Ok(counts)
}

/// Table order of [`inventory::count_rows`], which follows the schema.
const TABLE_ORDER: [&str; 6] =
    ["categories", "suppliers", "users", "items", "stock_movements", "audit_log"];

fn print_locations(layout: &Layout, binary: &Path, newest: &Path) {
    println!("==> where everything is");
    println!("    binary          {}", binary.display());
    println!("    configuration   {}", layout.config.display());
    println!("    passphrase      {} (mode 0600)", layout.passphrase.display());
    println!("    live database   {}", layout.database.display());
    println!("    backups         {}", layout.backups.display());
    println!("    newest backup   {}", newest.display());
    if layout.restored.exists() {
        println!("    decrypted copy  {}", layout.restored.display());
    }
    println!("    try: {} --config {} list --json", binary.display(), layout.config.display());
}
