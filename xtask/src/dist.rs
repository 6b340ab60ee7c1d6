//! `cargo xtask dist`: builds the binaries and packs the release bundle with its checksum.
//!
//! The bundle is `target/dist/invguard-cron-<version>-<target>.tar.gz`, a gzip-compressed tar
//! archive with one top-level directory of the same name, and `<bundle>.tar.gz.sha256` in the
//! format of `sha256sum`. Entries are sorted, owned by uid 0, mode 0755 for binaries and 0644
//! otherwise, and dated `SOURCE_DATE_EPOCH` (or the last commit), so two runs over the same
//! binaries produce the same archive.
//!
//! `--profile dev` packs unoptimised binaries for tests; such a bundle carries the profile in
//! its name (`...-<target>-dev.tar.gz`) so it is never mistaken for a release.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// Directory of the systemd units, relative to the workspace root.
pub(crate) const SYSTEMD_DIR: &str = "dist/systemd";

/// The systemd units in [`SYSTEMD_DIR`], packed into `systemd/` of the bundle.
pub(crate) const SYSTEMD_UNITS: [&str; 3] =
    ["invguard-backup.service", "invguard-backup.timer", "invguard-cron.service"];

/// The binaries packed into `bin/` of the bundle.
pub(crate) const BINARIES: [&str; 2] = ["backup_cron", "monitor"];

/// Files at the workspace root packed at the top of the bundle.
const TOP_LEVEL_FILES: [&str; 4] = ["README.md", "CHANGELOG.md", "crontab", "config.example.toml"];

/// A file of the bundle other than the binaries.
#[derive(Debug)]
pub(crate) struct BundledFile {
    /// Path relative to the workspace root.
    pub(crate) source: PathBuf,
    /// Path inside the bundle's top-level directory.
    pub(crate) dest: PathBuf,
}

/// Arguments of `cargo xtask dist`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// Cargo profile of the binaries; `dev` builds faster and marks the bundle `-dev`.
    #[arg(long, default_value = "release")]
    pub(crate) profile: String,
    /// Directory the bundle is written to [default: target/dist].
    #[arg(long)]
    pub(crate) out_dir: Option<PathBuf>,
}

/// The files `cargo xtask dist` wrote.
#[derive(Debug)]
pub(crate) struct Artifacts {
    /// The `.tar.gz` bundle.
    pub(crate) tarball: PathBuf,
    /// The `.sha256` file beside it.
    pub(crate) checksum_file: PathBuf,
}

/// Runs `cargo xtask dist`.
pub(crate) fn run(args: &Args) -> Result<()> {
    let artifacts = dist(&crate::tidy::workspace_root(), args)?;
    println!("dist: wrote {}", artifacts.tarball.display());
    println!("dist: wrote {}", artifacts.checksum_file.display());
    Ok(())
}

/// Builds the binaries with `options.profile` and writes the bundle and its checksum file.
pub(crate) fn dist(root: &Path, options: &Args) -> Result<Artifacts> {
    build_binaries(root, &options.profile)?;
    let binary_dir = target_dir(root).join(profile_dir_name(&options.profile));
    pack(root, &binary_dir, &options.profile, options.out_dir.as_deref())
}

/// Packs the binaries in `binary_dir`, built with `profile`, into the bundle and writes its
/// checksum file to `out_dir` (default `target/dist`).
pub(crate) fn pack(
    root: &Path,
    binary_dir: &Path,
    profile: &str,
    out_dir: Option<&Path>,
) -> Result<Artifacts> {
    let target = host_target()?;
    let bundle_name = bundle_name(env!("CARGO_PKG_VERSION"), &target, profile);
    let out_dir = out_dir.map_or_else(|| target_dir(root).join("dist"), Path::to_path_buf);
    fs_err::create_dir_all(&out_dir)?;

    let tarball = out_dir.join(format!("{bundle_name}.tar.gz"));
    write_tarball(root, binary_dir, &bundle_name, &tarball)?;

    let checksum_file = out_dir.join(format!("{bundle_name}.tar.gz.sha256"));
    let digest = sha256_hex(&tarball)?;
    fs_err::write(&checksum_file, format!("{digest}  {bundle_name}.tar.gz\n"))?;

    Ok(Artifacts { tarball, checksum_file })
}

/// Returns the files of the bundle other than the binaries.
pub(crate) fn bundled_files(root: &Path) -> Result<Vec<BundledFile>> {
    let mut files: Vec<BundledFile> = TOP_LEVEL_FILES
        .iter()
        .map(|name| BundledFile { source: name.into(), dest: name.into() })
        .collect();

    for unit in SYSTEMD_UNITS {
        let source = Path::new(SYSTEMD_DIR).join(unit);
        files.push(BundledFile { source, dest: Path::new("systemd").join(unit) });
    }

    let mut docs: Vec<PathBuf> = match fs_err::read_dir(root.join("docs")) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<io::Result<Vec<_>>>()?
            .into_iter()
            .filter(|name| Path::new(name).extension().is_some_and(|ext| ext == "md"))
            .map(PathBuf::from)
            .collect(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    docs.sort();
    for doc in docs {
        let path = Path::new("docs").join(doc);
        files.push(BundledFile { source: path.clone(), dest: path });
    }
    Ok(files)
}

fn build_binaries(root: &Path, profile: &str) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(["build", "--locked", "--profile", profile]);
    for binary in BINARIES {
        command.args(["--package", binary]);
    }

    let status = command.status().context("failed to run cargo build")?;
    if !status.success() {
        bail!("cargo build --profile {profile} failed with {status}");
    }
    Ok(())
}

/// Returns the host target triple from `rustc -vV`.
fn host_target() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("-vV").output().context("failed to run rustc -vV")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let host = text.lines().find_map(|line| line.strip_prefix("host: "));
    host.map(str::to_owned).context("rustc -vV printed no host line")
}

fn bundle_name(version: &str, target: &str, profile: &str) -> String {
    match profile {
        "release" => format!("invguard-cron-{version}-{target}"),
        other => format!("invguard-cron-{version}-{target}-{other}"),
    }
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Directory under `target/` that contains the binaries of a Cargo profile.
fn profile_dir_name(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

/// Timestamp of every entry: `SOURCE_DATE_EPOCH`, else the time of the last commit, else 0.
fn entry_mtime(root: &Path) -> u64 {
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.parse().ok()) {
        return epoch;
    }
    let output = Command::new("git").args(["log", "-1", "--format=%ct"]).current_dir(root).output();
    output
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(0)
}

/// Writes the bundle to `<tarball>.partial` and renames it into place once complete.
fn write_tarball(root: &Path, binary_dir: &Path, bundle_name: &str, tarball: &Path) -> Result<()> {
    let mtime = entry_mtime(root);
    let top = PathBuf::from(bundle_name);

    let mut entries: Vec<(PathBuf, PathBuf, u32)> = Vec::new();
    for binary in BINARIES {
        entries.push((binary_dir.join(binary), top.join("bin").join(binary), 0o755));
    }
    for file in bundled_files(root)? {
        entries.push((root.join(&file.source), top.join(&file.dest), 0o644));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));

    let mut partial_name = tarball.as_os_str().to_owned();
    partial_name.push(".partial");
    let partial = PathBuf::from(partial_name);

    let file = fs_err::File::create(&partial)?;
    let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::best()));

    let mut directories: Vec<&Path> =
        entries.iter().filter_map(|(_, dest, _)| dest.parent()).collect();
    directories.sort();
    directories.dedup();
    for directory in directories {
        let mut header = entry_header(tar::EntryType::Directory, 0o755, 0, mtime);
        builder.append_data(&mut header, directory, io::empty())?;
    }

    for (source, dest, mode) in &entries {
        let contents = fs_err::read(source)
            .with_context(|| format!("cannot pack {} into the bundle", source.display()))?;
        let mut header = entry_header(tar::EntryType::Regular, *mode, contents.len() as u64, mtime);
        builder.append_data(&mut header, dest, contents.as_slice())?;
    }

    let encoder = builder.into_inner()?;
    let mut file = encoder.finish()?;
    file.flush()?;
    file.sync_all()?;
    fs_err::rename(&partial, tarball)?;
    Ok(())
}

fn entry_header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Returns the SHA-256 of a file as lowercase hex.
pub(crate) fn sha256_hex(path: &Path) -> Result<String> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests;
