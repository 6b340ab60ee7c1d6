//! The measured cases, grouped in sections; each section is one table of the report.
//!
//! A new row is a function with the [`Case::run`] signature listed in a section of
//! [`sections`]. A new table (a restore, a cleanup over many backups, a monitor report or an
//! idle daemon) is a new [`Section`] whose `before` step prepares what its cases need.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools;
use anyhow::Context as _;

use super::Setup;
use super::measure::{self, Sample, Stats};

/// One database size and the files the cases share for it.
#[derive(Debug)]
pub struct Input {
    /// Size label such as `100M`.
    pub label: String,
    /// Directory of this size under `target/bench/`.
    pub dir: PathBuf,
    /// The generated database.
    pub database: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// `backup_cron` configuration for this database.
    pub config: PathBuf,
    /// Backup directory of `backup_cron`.
    pub backups: PathBuf,
    /// The backup the decryption cases read, set by their section's `before` step.
    pub reference_backup: Option<PathBuf>,
}

impl Input {
    /// Describes the database and writes the `backup_cron` configuration for it.
    pub fn new(
        setup: &Setup,
        label: String,
        dir: PathBuf,
        database: PathBuf,
        bytes: u64,
    ) -> anyhow::Result<Input> {
        let backups = dir.join("backups");
        let config = dir.join("invguard.toml");
        let text = format!(
            "timezone = \"UTC\"\n\n[database]\npath = {:?}\nname = \"inventory\"\n\n\
             [backup]\ndir = {:?}\n\n[encryption]\nmode = \"passphrase\"\npassphrase_file = {:?}\n\n\
             [verify]\nlevel = \"quick\"\n",
            database.display().to_string(),
            backups.display().to_string(),
            setup.passphrase.display().to_string(),
        );
        tools::write_private_file(&config, text.as_bytes())?;
        Ok(Input { label, dir, database, bytes, config, backups, reference_backup: None })
    }

    /// A scratch file of this size's directory; removed first if it exists.
    fn scratch(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(name);
        tools::remove_file_if_exists(&path)?;
        Ok(path)
    }
}

/// One measured operation.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Row label in the report.
    pub name: &'static str,
    /// Whether this is our binary: its peak memory is reported and checked.
    pub ours: bool,
    /// Runs the operation once.
    pub run: fn(&Setup, &Input) -> anyhow::Result<Sample>,
}

/// A table of the report.
#[derive(Debug, Clone)]
pub struct Section {
    /// Table heading.
    pub title: &'static str,
    /// Runs once before the cases, for example to make the file they read.
    pub before: fn(&Setup, &mut Input) -> anyhow::Result<()>,
    /// The rows.
    pub cases: Vec<Case>,
}

/// Every section, in report order.
pub fn sections() -> Vec<Section> {
    let mut sections = vec![
        Section {
            title: "Backup",
            before: |_, _| Ok(()),
            cases: vec![
                Case { name: BACKUP, ours: true, run: ours_backup },
                Case { name: ORIGINAL, ours: false, run: original_pipeline },
                Case { name: EXPERT, ours: false, run: expert_pipeline },
                Case { name: ZSTD, ours: false, run: |_, input| zstd_raw(input, &[]) },
                Case { name: ZSTD_T2, ours: false, run: |_, input| zstd_raw(input, &["-T2"]) },
                Case { name: CP, ours: false, run: copy },
            ],
        },
        Section {
            title: "Decrypt and check",
            before: find_reference_backup,
            cases: vec![
                Case { name: VERIFY_QUICK, ours: true, run: |s, i| ours_verify(s, i, "--quick") },
                Case { name: VERIFY_FULL, ours: true, run: |s, i| ours_verify(s, i, "--full") },
                Case { name: OUR_DECRYPT, ours: true, run: ours_decrypt },
                Case { name: GPG_ZSTD_DECRYPT, ours: false, run: gpg_zstd_decrypt },
            ],
        },
    ];
    sections.extend(crate::bench_restore::sections());
    sections.extend(crate::bench_monitor::sections());
    sections.extend(crate::bench_daemon::sections());
    sections.push(Section {
        title: COMPRESSION_LEVELS,
        before: |_, _| Ok(()),
        cases: LEVELS
            .iter()
            .map(|&(name, level)| Case { name, ours: true, run: LEVEL_RUNS[level_index(level)] })
            .collect(),
    });
    sections
}

/// Title of the section that compares zstd levels; the report gives it its own table.
pub const COMPRESSION_LEVELS: &str = "Compression levels";

/// The compared levels and their row names.
pub const LEVELS: [(&str, i32); 4] = [
    ("backup_cron backup, compression_level = 1", 1),
    ("backup_cron backup, compression_level = 3", 3),
    ("backup_cron backup, compression_level = 6", 6),
    ("backup_cron backup, compression_level = 9", 9),
];

/// One run function per level of [`LEVELS`], since a case is a plain function pointer.
const LEVEL_RUNS: [fn(&Setup, &Input) -> anyhow::Result<Sample>; 4] = [
    |setup, input| ours_backup_at_level(setup, input, LEVELS[0].1),
    |setup, input| ours_backup_at_level(setup, input, LEVELS[1].1),
    |setup, input| ours_backup_at_level(setup, input, LEVELS[2].1),
    |setup, input| ours_backup_at_level(setup, input, LEVELS[3].1),
];

fn level_index(level: i32) -> usize {
    LEVELS.iter().position(|&(_, candidate)| candidate == level).unwrap_or(0)
}

/// Returns the level of a row of the compression-level section.
pub fn level_of(name: &str) -> Option<i32> {
    LEVELS.iter().find(|(candidate, _)| *candidate == name).map(|&(_, level)| level)
}

/// Returns the derived row "backup without its verification pass" that follows the backup
/// row, computed from the stage times the backup runs logged.
pub fn without_verification_row(case: &Case, stats: &Stats) -> Option<(Case, Stats)> {
    if case.name != BACKUP {
        return None;
    }
    let (min, median) = stats.without_verify?;
    let row = Case { name: BACKUP_WITHOUT_VERIFY, ours: true, run: |_, _| unreachable_case() };
    let stats = Stats { min, median, cpu: None, stages: None, without_verify: None, ..*stats };
    Some((row, stats))
}

fn unreachable_case() -> anyhow::Result<Sample> {
    anyhow::bail!("the row {BACKUP_WITHOUT_VERIFY:?} is derived from the backup row, not run")
}

/// Row names the report's target table refers to.
pub const BACKUP: &str = "backup_cron backup (snapshot, encrypt, fsync, verify)";
/// The pipeline of the original Python service.
pub const ORIGINAL: &str = "original: sqlite3 .backup, gpg --symmetric";
/// What an expert would write in shell.
pub const EXPERT: &str = "sqlite3 .backup, zstd -3, gpg --symmetric --compress-algo none";
/// The backup row without its verification pass, from the stage times each run logged.
pub const BACKUP_WITHOUT_VERIFY: &str =
    "backup_cron backup without its verification pass (wall time minus the logged verify_ms)";
/// Decryption and decompression through the library, without the SQLite checks.
pub const OUR_DECRYPT: &str = "our decrypt and decompress (invguard-backup decode example)";
/// Plain single-threaded compression of the database file.
pub const ZSTD: &str = "zstd -3 of the database file";
/// Plain two-thread compression of the database file.
pub const ZSTD_T2: &str = "zstd -T2 -3 of the database file";
/// Copying the database file.
pub const CP: &str = "cp of the database file";
/// Our decryption, decompression, hash check and `quick_check`.
pub const VERIFY_QUICK: &str = "backup_cron verify --quick";
/// As quick, with `integrity_check`.
pub const VERIFY_FULL: &str = "backup_cron verify --full";
/// Decryption and decompression with the standard tools.
pub const GPG_ZSTD_DECRYPT: &str = "gpg -d | zstd -d";

fn ours_backup(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    if input.backups.exists() {
        fs_err::remove_dir_all(&input.backups)?;
    }
    let sample = run_backup_logged(setup, input, &[])?;
    sample.with_output(&tools::newest_backup(&input.backups)?)
}

/// Runs a backup at `level` into its own directory, so the other sections' backups stay.
fn ours_backup_at_level(setup: &Setup, input: &Input, level: i32) -> anyhow::Result<Sample> {
    let dir = input.dir.join(format!("backups-level-{level}"));
    if dir.exists() {
        fs_err::remove_dir_all(&dir)?;
    }
    let env = [
        ("INVGUARD_BACKUP__DIR", dir.to_string_lossy().into_owned()),
        ("INVGUARD_BACKUP__COMPRESSION_LEVEL", level.to_string()),
    ];
    let sample =
        run_backup_logged(setup, input, &env)?.with_output(&tools::newest_backup(&dir)?)?;
    fs_err::remove_dir_all(&dir)?;
    Ok(sample)
}

/// Runs `backup_cron backup` with JSON logs and reads its stage times from them.
fn run_backup_logged(
    setup: &Setup,
    input: &Input,
    env: &[(&str, String)],
) -> anyhow::Result<Sample> {
    let report = input.scratch("time-report.txt")?;
    let mut command = Command::new(&setup.time);
    command.arg("-v").arg("-o").arg(&report).arg(&setup.backup_cron);
    command.arg("--config").arg(&input.config).args(["--log-format", "json", "backup"]);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.envs(env.iter().map(|(name, value)| (name, value)));

    let (sample, log) = measure::timed_with_log(&mut command, Some(&report))?;
    let stages = measure::parse_stages(&log)
        .with_context(|| format!("no stage times in the backup log:\n{log}"))?;
    Ok(Sample { stages: Some(stages), ..sample })
}

/// Decrypts and decompresses the reference backup through the library alone.
fn ours_decrypt(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let backup = input.reference_backup.as_deref().context("no reference backup")?;
    let output = input.scratch("decoded.db")?;
    let report = input.scratch("time-report.txt")?;
    let mut command = Command::new(&setup.time);
    command.arg("-v").arg("-o").arg(&report).arg(&setup.decode);
    command.arg(&input.config).arg(backup).arg(&output);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());

    let sample = measure::timed(&mut command, Some(&report))?.with_output(&output)?;
    tools::remove_file_if_exists(&output)?;
    Ok(sample)
}

fn ours_verify(setup: &Setup, input: &Input, level: &str) -> anyhow::Result<Sample> {
    let backup = input.reference_backup.as_deref().context("no reference backup")?;
    let backup = backup.to_string_lossy();
    run_ours(setup, input, &["verify", level, &backup])
}

/// Runs `backup_cron --config <input config> -q ARGS` under GNU time with a clean environment.
fn run_ours(setup: &Setup, input: &Input, args: &[&str]) -> anyhow::Result<Sample> {
    let report = input.scratch("time-report.txt")?;
    let mut command = Command::new(&setup.time);
    command.arg("-v").arg("-o").arg(&report).arg(&setup.backup_cron);
    command.arg("--config").arg(&input.config).arg("-q").args(args);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    measure::timed(&mut command, Some(&report))
}

fn original_pipeline(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let snapshot = input.scratch("original.db")?;
    let encrypted = input.scratch("original.db.gpg")?;

    let copy = sqlite_backup(input, &snapshot)?;
    let encrypt = measure::timed(
        gpg(setup).arg("--symmetric").arg("-o").arg(&encrypted).arg(&snapshot),
        None,
    )?;
    let sample = copy.then(encrypt).with_output(&encrypted)?;

    tools::remove_file_if_exists(&snapshot)?;
    tools::remove_file_if_exists(&encrypted)?;
    Ok(sample)
}

fn expert_pipeline(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let snapshot = input.scratch("expert.db")?;
    let compressed = input.scratch("expert.db.zst")?;
    let encrypted = input.scratch("expert.db.zst.gpg")?;

    let copy = sqlite_backup(input, &snapshot)?;
    let compress = measure::timed(
        Command::new("zstd").args(["-3", "-q", "-f"]).arg(&snapshot).arg("-o").arg(&compressed),
        None,
    )?;
    let encrypt = measure::timed(
        gpg(setup)
            .args(["--symmetric", "--compress-algo", "none", "-o"])
            .arg(&encrypted)
            .arg(&compressed),
        None,
    )?;
    let sample = copy.then(compress).then(encrypt).with_output(&encrypted)?;

    for file in [&snapshot, &compressed, &encrypted] {
        tools::remove_file_if_exists(file)?;
    }
    Ok(sample)
}

fn zstd_raw(input: &Input, extra: &[&str]) -> anyhow::Result<Sample> {
    let output = input.scratch("raw.db.zst")?;
    let mut command = Command::new("zstd");
    command.args(extra).args(["-3", "-q", "-f"]).arg(&input.database).arg("-o").arg(&output);
    let sample = measure::timed(&mut command, None)?.with_output(&output)?;
    tools::remove_file_if_exists(&output)?;
    Ok(sample)
}

fn copy(_: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let output = input.scratch("copy.db")?;
    let sample = measure::timed(Command::new("cp").arg(&input.database).arg(&output), None)?;
    let sample = sample.with_output(&output)?;
    tools::remove_file_if_exists(&output)?;
    Ok(sample)
}

fn gpg_zstd_decrypt(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let backup = input.reference_backup.as_deref().context("no reference backup")?;
    let output = input.scratch("decrypted.db")?;
    let mut decompress = Command::new("zstd");
    decompress.args(["-d", "-q", "-f", "-o"]).arg(&output);

    let sample = measure::piped(gpg(setup).arg("--decrypt").arg(backup), &mut decompress)?;
    let sample = sample.with_output(&output)?;
    tools::remove_file_if_exists(&output)?;
    Ok(sample)
}

/// Makes sure a backup of `backup_cron` exists for the decryption cases.
fn find_reference_backup(setup: &Setup, input: &mut Input) -> anyhow::Result<()> {
    let backup = match tools::newest_backup(&input.backups) {
        Ok(backup) => backup,
        Err(_) => {
            ours_backup(setup, input)?;
            tools::newest_backup(&input.backups)?
        }
    };
    input.reference_backup = Some(backup);
    Ok(())
}

/// `sqlite3 DATABASE ".backup OUTPUT"`, timed.
fn sqlite_backup(input: &Input, output: &Path) -> anyhow::Result<Sample> {
    let dot_command = format!(".backup '{}'", output.display());
    measure::timed(Command::new("sqlite3").arg(&input.database).arg(dot_command), None)
}

/// `gpg` in batch mode with the benchmark's passphrase file and GnuPG home.
fn gpg(setup: &Setup) -> Command {
    let mut command = Command::new("gpg");
    command.env("GNUPGHOME", &setup.gnupg);
    command.args(["--batch", "--yes", "--quiet", "--pinentry-mode", "loopback"]);
    command.arg("--no-symkey-cache").arg("--passphrase-file").arg(&setup.passphrase);
    command
}
