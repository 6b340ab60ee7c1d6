//! Helpers shared by the tasks: workspace paths, building the binaries, running and finding
//! external programs, and private files.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// A cargo build profile of the workspace binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `cargo build`: shares its artefacts with the test builds.
    Dev,
    /// `cargo build --release`: the figures of the benchmarks.
    Release,
}

/// Returns the workspace root, the directory of the root `Cargo.toml`.
pub fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

/// Returns the cargo target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Builds the `backup_cron` binary with `profile` and returns its path.
pub fn build_backup_cron(profile: Profile) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root()).args(["build", "--quiet", "--package", "backup_cron"]);
    let subdir = match profile {
        Profile::Dev => "debug",
        Profile::Release => {
            command.arg("--release");
            "release"
        }
    };

    let status = command.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --package backup_cron failed with {status}");
    }
    Ok(target_dir().join(subdir).join("backup_cron"))
}

/// Builds the example `example` of `package` in the release profile and returns its path.
pub fn build_release_example(package: &str, example: &str) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--release", "--package", package, "--example", example])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --package {package} --example {example} failed with {status}");
    }
    Ok(target_dir().join("release").join("examples").join(example))
}

/// Returns the path of `program` if it is an executable file on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| {
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::metadata(candidate)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// Returns the first line `program args` prints, or `None` when it cannot be run.
pub fn program_version(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = if output.stdout.is_empty() { output.stderr } else { output.stdout };
    String::from_utf8_lossy(&text).lines().next().map(|line| line.trim().to_string())
}

/// Formats the program and arguments of `command` for messages.
pub fn describe(command: &Command) -> String {
    let parts = std::iter::once(command.get_program()).chain(command.get_args());
    parts.map(OsStr::to_string_lossy).collect::<Vec<_>>().join(" ")
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Writes `contents` to a new file at `path` with mode 0600, replacing any file there.
pub fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    remove_file_if_exists(path)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents).with_context(|| format!("cannot write {}", path.display()))
}

/// Removes `path`; a file that does not exist is not an error.
pub fn remove_file_if_exists(path: &Path) -> anyhow::Result<()> {
    match fs_err::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}

/// Returns the newest encrypted backup (`*.db.zst.gpg`) in `dir`. Backup names carry their
/// UTC time, so they sort by age.
pub fn newest_backup(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut backups: Vec<PathBuf> = fs_err::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with(".db.zst.gpg"))
        .collect();
    backups.sort_by_key(|path| age_key(path));
    backups.pop().with_context(|| format!("no backup found in {}", dir.display()))
}

/// Orders backups of one second by sequence: `NAME-20261204T020000Z` comes before `...Z-2`,
/// although `-` sorts before `.` in a plain name comparison.
fn age_key(path: &Path) -> (String, u32) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix(".db.zst.gpg").unwrap_or(&name);
    match stem.rsplit_once("Z-") {
        Some((time, sequence)) => (format!("{time}Z"), sequence.parse().unwrap_or(0)),
        None => (stem.to_owned(), 1),
    }
}

/// Generates a random passphrase of 32 alphanumeric characters.
pub fn random_passphrase() -> String {
    use rand::Rng as _;
    use rand::distributions::Alphanumeric;

    rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
}

/// Formats a byte count with a binary unit, e.g. `41.3 MiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// Reads field `field` of `/proc/<process>/stat` as a number, numbered as in proc(5), where
/// 14 is `utime`. Fields 1 and 2 are not numbers and are not read. `process` is a pid or
/// `self`.
pub fn proc_stat_field(process: &str, field: usize) -> anyhow::Result<u64> {
    let stat = fs_err::read_to_string(format!("/proc/{process}/stat"))?;
    // The command name (field 2) is in parentheses and may contain spaces; field 3 is the
    // first one after it.
    let after_name = stat.rsplit_once(')').context("unexpected /proc stat format")?.1;
    let text = field
        .checked_sub(3)
        .and_then(|index| after_name.split_whitespace().nth(index))
        .with_context(|| format!("no field {field} in /proc/{process}/stat"))?;
    Ok(text.parse()?)
}

/// Returns the clock ticks per second of the CPU times in `/proc`.
pub fn clock_ticks_per_second() -> anyhow::Result<u64> {
    let output = Command::new("getconf").arg("CLK_TCK").output().context("cannot run getconf")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().with_context(|| format!("unexpected getconf CLK_TCK output {text:?}"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn format_bytes_units() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(100 * 1024 * 1024), "100.0 MiB");
    }

    #[test]
    fn age_key_orders_sequence_after_first_backup() {
        let first = age_key(Path::new("inventory-20261204T020000Z.db.zst.gpg"));
        let second = age_key(Path::new("inventory-20261204T020000Z-2.db.zst.gpg"));
        let later = age_key(Path::new("inventory-20261204T020001Z.db.zst.gpg"));
        assert!(first < second);
        assert!(second < later);
    }

    #[test]
    fn write_private_file_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private_file(&path, b"one").unwrap();
        write_private_file(&path, b"two").unwrap();

        let meta = fs_err::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs_err::read(&path).unwrap(), b"two");
    }

    #[test]
    fn proc_stat_field_reads_numbered_fields() {
        let pid = proc_stat_field("self", 1);
        let utime = proc_stat_field("self", 14);

        assert!(pid.is_err(), "fields before the state are not read: {pid:?}");
        assert!(utime.is_ok(), "{utime:?}");
        assert!(proc_stat_field("self", 500).is_err());
    }
}
