//! Builds the bundle, unpacks it with the system `tar` and runs the unpacked binaries.
//!
//! The test packs release binaries when `target/release/backup_cron` exists (cargo brings them
//! up to date first). Otherwise it packs the unoptimised binaries of `cargo test --workspace`:
//! a plain `cargo build -p backup_cron` resolves dependency features differently and would
//! compile much of the workspace again.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use super::*;

/// Environment of the original service, set for every run of an unpacked binary.
fn product_env(db: &Path, backups: &Path, passphrase_file: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("DATABASE_PATH", db.to_path_buf()),
        ("BACKUP_PATH", backups.to_path_buf()),
        ("GPG_PASSPHRASE_FILE", passphrase_file.to_path_buf()),
    ]
}

/// Runs `program` with a clean environment: only `PATH`, `HOME` and `envs`.
fn run_program(program: &Path, args: &[&str], home: &Path, envs: &[(&str, PathBuf)]) -> Output {
    let mut command = Command::new(program);
    command.args(args).env_clear().env("HOME", home);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()))
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Creates a WAL-mode database with two tables and 120 rows.
fn create_database(path: &Path) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection.pragma_update(None, "journal_mode", "WAL").unwrap();
    connection
        .execute_batch(
            "CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE items (id INTEGER PRIMARY KEY, category INTEGER, name TEXT, qty INTEGER);
             INSERT INTO categories (name) VALUES ('tools'), ('parts');",
        )
        .unwrap();
    for index in 0..118 {
        connection
            .execute(
                "INSERT INTO items (category, name, qty) VALUES (?1, ?2, ?3)",
                (index % 2 + 1, format!("item {index}"), index * 3),
            )
            .unwrap();
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Brings the binaries up to date and returns their profile and directory.
fn prepare_binaries(root: &Path) -> (&'static str, PathBuf) {
    let release_dir = target_dir(root).join("release");
    if release_dir.join(BINARIES[0]).is_file() {
        build_binaries(root, "release").unwrap();
        return ("release", release_dir);
    }

    // Under `cargo test --workspace` every unit is already built, so this finishes at once.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "--workspace", "--no-run", "--locked", "--quiet"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success(), "cargo test --workspace --no-run failed with {status}");

    let debug_dir = target_dir(root).join("debug");
    if !BINARIES.iter().all(|binary| debug_dir.join(binary).is_file()) {
        build_binaries(root, "dev").unwrap();
    }
    ("dev", debug_dir)
}

#[test]
fn dist_bundle_runs_unpacked() {
    let root = crate::tidy::workspace_root();
    let work = tempfile::tempdir().unwrap();

    // Build and pack.
    let (profile, binary_dir) = prepare_binaries(&root);
    let out_dir = work.path().join("out");
    let artifacts = pack(&root, &binary_dir, profile, Some(&out_dir)).unwrap();
    let tarball_name = artifacts.tarball.file_name().unwrap().to_string_lossy().into_owned();
    assert!(tarball_name.starts_with(&format!("invguard-cron-{}-", env!("CARGO_PKG_VERSION"))));

    // The checksum file is in `sha256sum` format and matches the tarball.
    let checksum = fs_err::read_to_string(&artifacts.checksum_file).unwrap();
    let expected = format!("{}  {tarball_name}\n", sha256_hex(&artifacts.tarball).unwrap());
    assert_eq!(checksum, expected);

    // The system tar unpacks it into one top-level directory.
    let unpacked = work.path().join("unpacked");
    fs_err::create_dir(&unpacked).unwrap();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(&artifacts.tarball)
        .arg("-C")
        .arg(&unpacked)
        .output()
        .expect("the system tar command is needed to unpack the bundle");
    assert_success(&tar, "tar -xzf");
    let bundle_name = tarball_name.strip_suffix(".tar.gz").unwrap();
    assert_eq!(file_names(&unpacked), vec![bundle_name.to_owned()]);
    let bundle = unpacked.join(bundle_name);

    // Every bundled file is there, binaries executable.
    for file in bundled_files(&root).unwrap() {
        assert!(bundle.join(&file.dest).is_file(), "{} missing", file.dest.display());
    }
    for binary in BINARIES {
        let mode = fs_err::metadata(bundle.join("bin").join(binary)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "mode of bin/{binary}");
    }
    let backup_cron = bundle.join("bin/backup_cron");
    let monitor = bundle.join("bin/monitor");

    // Both binaries report the workspace version.
    let home = work.path().join("home");
    fs_err::create_dir(&home).unwrap();
    for binary in [&backup_cron, &monitor] {
        let output = run_program(binary, &["--version"], &home, &[]);
        assert_success(&output, "--version");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "--version printed {stdout:?}");
    }

    // A generated database, a backup directory and a passphrase file.
    let db = work.path().join("data/inventory.db");
    fs_err::create_dir(db.parent().unwrap()).unwrap();
    create_database(&db);
    let backups = work.path().join("backups");
    let passphrase_file = work.path().join("passphrase");
    fs_err::write(&passphrase_file, "correct horse battery staple\n").unwrap();
    fs_err::set_permissions(&passphrase_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let env = product_env(&db, &backups, &passphrase_file);

    // `config` shows the effective configuration, including the bundled example file.
    let output = run_program(&backup_cron, &["config"], &home, &env);
    assert_success(&output, "backup_cron config");
    let rendered = String::from_utf8_lossy(&output.stdout);
    assert!(rendered.contains(db.to_str().unwrap()), "config printed {rendered}");

    let example = bundle.join("config.example.toml");
    let example_args = [OsStr::new("--config"), example.as_os_str(), OsStr::new("config")];
    let example_args: Vec<&str> = example_args.iter().map(|arg| arg.to_str().unwrap()).collect();
    let output = run_program(&backup_cron, &example_args, &home, &env);
    assert_success(&output, "backup_cron --config config.example.toml config");

    // A backup of the generated database, then its verification.
    let output = run_program(&backup_cron, &["backup"], &home, &env);
    assert_success(&output, "backup_cron backup");
    let names = file_names(&backups);
    let encrypted: Vec<&String> =
        names.iter().filter(|name| name.ends_with(".db.zst.gpg")).collect();
    let manifests: Vec<&String> =
        names.iter().filter(|name| name.ends_with(".manifest.json")).collect();
    assert_eq!(encrypted.len(), 1, "backup directory holds {names:?}");
    assert_eq!(manifests.len(), 1, "backup directory holds {names:?}");
    assert!(encrypted[0].starts_with("inventory-"), "backup named {}", encrypted[0]);

    let output = run_program(&backup_cron, &["verify", "--latest"], &home, &env);
    assert_success(&output, "backup_cron verify --latest");
}

#[test]
fn bundle_name_marks_non_release_profiles() {
    let target = "x86_64-unknown-linux-gnu";
    assert_eq!(
        bundle_name("1.2.3", target, "release"),
        "invguard-cron-1.2.3-x86_64-unknown-linux-gnu"
    );
    assert_eq!(
        bundle_name("1.2.3", target, "dev"),
        "invguard-cron-1.2.3-x86_64-unknown-linux-gnu-dev"
    );
}
