//! `cargo xtask demo`: the whole backup cycle on a generated database, with real tools.
//!
//! Generates an inventory database under `target/demo/` and backs it up with `backup_cron
//! backup` while a writer thread records stock movements. Then it lists and verifies the
//! backups. Finally it decrypts the newest one with `gpg` and `zstd` (when installed) into a
//! file of mode 0600 and compares its row counts with the manifest. Everything stays under
//! `target/demo/` of this workspace, and a second run starts afresh.
//!
//! The demo builds `backup_cron` into this workspace's own `target/` directory and runs the
//! executable cargo reports, even when `CARGO_TARGET_DIR` names a directory shared with other
//! checkouts: another checkout building there could replace the binary between the build and
//! the run.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt as _;
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

/// The files of one demo run, all under `target/demo/` of this workspace.
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
    let layout = Layout::new(workspace_target_dir().join("demo"));
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
    let binary = build_backup_cron()?;

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

/// Returns `target/` of this workspace, ignoring `CARGO_TARGET_DIR`.
fn workspace_target_dir() -> PathBuf {
    tools::workspace_root().join("target")
}

/// Builds `backup_cron` of this workspace into [`workspace_target_dir`] and returns the path of
/// the executable that cargo reports.
fn build_backup_cron() -> anyhow::Result<PathBuf> {
    let mut command = build_command(Profile::Dev);
    let output = command.stderr(Stdio::inherit()).output().context("cannot run cargo build")?;
    if !output.status.success() {
        bail!("{} failed with {}", tools::describe(&command), output.status);
    }
    executable_from_messages(&output.stdout)
}

/// `cargo build` of `backup_cron` with `profile` in the workspace root, into its own target
/// directory, with JSON messages on stdout.
fn build_command(profile: Profile) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(tools::workspace_root())
        .args(["build", "--quiet", "--package", "backup_cron", "--bin", "backup_cron"])
        .args(["--message-format", "json-render-diagnostics", "--target-dir"])
        .arg(workspace_target_dir())
        .env_remove("CARGO_TARGET_DIR");
    if profile == Profile::Release {
        command.arg("--release");
    }
    command
}

/// Finds the `backup_cron` executable in cargo's JSON messages (`compiler-artifact`).
fn executable_from_messages(stdout: &[u8]) -> anyhow::Result<PathBuf> {
    let messages = stdout.split(|byte| *byte == b'\n');
    let executable = messages
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == "backup_cron")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from));
    executable.context("cargo build reported no backup_cron executable")
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

/// Runs `gpg --decrypt BACKUP | zstd -d > OUTPUT`; the passphrase goes by file, never by
/// argument. `OUTPUT` is replaced by a new file of mode 0600, because it contains the plaintext
/// database.
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
    let plaintext = create_private_file(output)?;

    let zstd = Command::new("zstd")
        .args(["--decompress", "--quiet", "--stdout"])
        .stdin(ciphertext)
        .stdout(plaintext)
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

/// Creates `path` anew with mode 0600, whatever the umask, replacing any file there.
fn create_private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    tools::remove_file_if_exists(path)?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
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
        println!("    decrypted copy  {} (mode 0600)", layout.restored.display());
    }
    println!("    try: {} --config {} list --json", binary.display(), layout.config.display());
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn gpg_zstd_decrypt_writes_private_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let gnupg = dir.path().join("gnupg");
        tools::create_private_dir(&gnupg).unwrap();
        let passphrase = dir.path().join("passphrase");
        tools::write_private_file(&passphrase, b"demo-test-passphrase\n").unwrap();
        let plaintext = dir.path().join("plain.db");
        fs_err::write(&plaintext, b"SQLite format 3\0 and some pages").unwrap();
        let compressed = dir.path().join("plain.db.zst");
        let zstd = Command::new("zstd")
            .args(["--quiet", "-o"])
            .arg(&compressed)
            .arg(&plaintext)
            .status()
            .expect("zstd must be installed (Debian: apt-get install zstd)");
        assert!(zstd.success());
        let backup = dir.path().join("plain.db.zst.gpg");
        let gpg = Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args(["--batch", "--quiet", "--pinentry-mode", "loopback", "--no-symkey-cache"])
            .arg("--passphrase-file")
            .arg(&passphrase)
            .arg("--symmetric")
            .arg("--output")
            .arg(&backup)
            .arg(&compressed)
            .status()
            .expect("gpg must be installed (Debian: apt-get install gnupg)");
        assert!(gpg.success());
        // A file left by an earlier run, readable by everyone, must not keep its mode.
        let restored = dir.path().join("restored.db");
        fs_err::write(&restored, b"old").unwrap();
        fs_err::set_permissions(&restored, std::fs::Permissions::from_mode(0o644)).unwrap();

        let result = gpg_zstd_decrypt(&gnupg, &passphrase, &backup, &restored);
        let _ = Command::new("gpgconf").args(["--kill", "all"]).env("GNUPGHOME", &gnupg).status();

        result.unwrap();
        assert_eq!(fs_err::read(&restored).unwrap(), fs_err::read(&plaintext).unwrap());
        let mode = fs_err::metadata(&restored).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn build_command_uses_this_workspace_target_dir() {
        let command = build_command(Profile::Dev);

        let args: Vec<String> =
            command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect();
        let target_dir = args.iter().position(|arg| arg == "--target-dir").unwrap();
        let expected = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("target");
        assert_eq!(Path::new(&args[target_dir + 1]), expected);
        assert_eq!(command.get_current_dir(), expected.parent());
        let target_env = command.get_envs().find(|(name, _)| *name == "CARGO_TARGET_DIR");
        assert_eq!(target_env, Some((std::ffi::OsStr::new("CARGO_TARGET_DIR"), None)));
    }

    #[test]
    fn executable_from_messages_takes_backup_cron_artifact() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"invguard_backup"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"backup_cron"},"#,
            r#""executable":"/work/a/target/debug/backup_cron"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n",
        );

        let executable = executable_from_messages(messages.as_bytes()).unwrap();

        assert_eq!(executable, Path::new("/work/a/target/debug/backup_cron"));
        assert!(executable_from_messages(b"{\"reason\":\"build-finished\"}\n").is_err());
    }
}
