//! `cargo xtask bench`: measures `backup_cron` against the shell pipelines it replaces and
//! writes `docs/benchmarks.md`.
//!
//! For each size, an inventory database is generated (and kept under `target/bench/` for the
//! next run), then every case of [`cases::sections`] runs `--runs` times. The report shows the
//! minimum and median wall time, the output size and, for our own binary, the peak resident
//! memory measured by `/usr/bin/time -v`. Caches are warm: the generated file was just
//! written, so the figures compare CPU and write cost, not cold reads.
//!
//! `backup_cron backup` always verifies what it wrote. Its log line `backup finished` carries
//! the time of each stage, so the report also shows the backup without its verification pass
//! as measured by the run itself (wall time minus `verify_ms`), not as a difference between
//! two separate commands.

pub(crate) mod cases;
pub(crate) mod measure;
mod report;

use std::path::{Path, PathBuf};

use crate::inventory::{self, Spec};
use crate::tools::{self, Profile};
use anyhow::{Context as _, bail};

use cases::{Case, Input};
use measure::Stats;

/// Arguments of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Database sizes, comma-separated, in binary units with a K, M or G suffix.
    #[arg(long, value_delimiter = ',', default_value = "100M,1G", value_parser = parse_size)]
    sizes: Vec<u64>,

    /// Runs of each case; the report shows the minimum and the median.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// The report to write, relative to the workspace root. With the default, the recovery
    /// time in `docs/restore.md` is updated as well.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_OUTPUT)]
    output: PathBuf,
}

/// The report `cargo xtask bench` writes without `--output`.
const DEFAULT_OUTPUT: &str = "docs/benchmarks.md";

/// Programs and files every case may use.
#[derive(Debug)]
pub struct Setup {
    /// Working directory of the benchmark, `target/bench/`.
    pub work: PathBuf,
    /// The release build of `backup_cron`.
    pub backup_cron: PathBuf,
    /// The release build of the `decode` example of invguard-backup: decryption and
    /// decompression alone.
    pub decode: PathBuf,
    /// GNU time, for peak memory.
    pub time: PathBuf,
    /// Passphrase file (0600) of every encrypting case.
    pub passphrase: PathBuf,
    /// `GNUPGHOME` of every gpg run.
    pub gnupg: PathBuf,
    /// Runs per case.
    pub runs: u32,
    /// The load averages when the benchmark started, for the report.
    pub load_at_start: String,
}

/// The measurements of one database size.
#[derive(Debug)]
pub struct SizeResult {
    /// The database measured.
    pub input: Input,
    /// Statistics per section, in [`cases::sections`] order, each with its cases in order.
    pub sections: Vec<(&'static str, Vec<(Case, Stats)>)>,
}

/// Runs `cargo xtask bench`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let setup = prepare(args.runs)?;
    let mut results = Vec::new();

    for &bytes in &args.sizes {
        let input = generate_input(&setup, bytes)?;
        results.push(measure_size(&setup, input)?);
    }
    let _ = std::process::Command::new("gpgconf")
        .args(["--kill", "all"])
        .env("GNUPGHOME", &setup.gnupg)
        .status();

    let output = tools::workspace_root().join(&args.output);
    let text = report::render(&setup, &results);
    fs_err::write(&output, text)?;
    println!("==> wrote {}", output.display());
    if args.output == Path::new(DEFAULT_OUTPUT) {
        update_recovery_time(&setup, &results)?;
    }
    Ok(())
}

/// Writes the measured recovery time into the marked paragraph of `docs/restore.md`.
fn update_recovery_time(setup: &Setup, results: &[SizeResult]) -> anyhow::Result<()> {
    let Some(figure) = report::recovery_time(setup, results) else {
        return Ok(());
    };
    let paragraph = format!(
        "{figure} The figures come from [benchmarks.md](benchmarks.md), which `cargo xtask \
         bench` rewrites together with this paragraph. Scale them with the database size and \
         the speed of your machine."
    );
    let path = tools::workspace_root().join("docs/restore.md");
    let document = fs_err::read_to_string(&path)?;
    match report::replace_recovery_time(&document, &paragraph) {
        Some(updated) => {
            fs_err::write(&path, updated)?;
            println!("==> wrote the recovery time into {}", path.display());
        }
        None => println!("==> {} has no recovery-time marks; left unchanged", path.display()),
    }
    Ok(())
}

/// Checks the external programs, builds the release binary and writes the secrets.
fn prepare(runs: u32) -> anyhow::Result<Setup> {
    let missing: Vec<&str> = ["sqlite3", "gpg", "gpgconf", "zstd", "cp"]
        .into_iter()
        .filter(|program| tools::find_program(program).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the benchmark needs {} on PATH: install them (Debian: apt-get install sqlite3 \
             gnupg zstd)",
            missing.join(", ")
        );
    }
    let time = PathBuf::from("/usr/bin/time");
    if !time.exists() {
        bail!(
            "the benchmark needs GNU time at /usr/bin/time: install it (Debian: apt-get install time)"
        );
    }

    println!("==> building backup_cron (release)");
    let backup_cron = tools::build_backup_cron(Profile::Release)?;
    let decode = tools::build_release_example("invguard-backup", "decode")?;

    let work = tools::target_dir().join("bench");
    let gnupg = work.join("gnupg");
    tools::create_private_dir(&work)?;
    tools::create_private_dir(&gnupg)?;
    let passphrase = work.join("passphrase");
    tools::write_private_file(&passphrase, format!("{}\n", tools::random_passphrase()).as_bytes())?;

    let load_at_start = report::load_average();
    Ok(Setup { work, backup_cron, decode, time, passphrase, gnupg, runs, load_at_start })
}

/// Generates the database of `bytes`, or reuses the one a previous run generated.
fn generate_input(setup: &Setup, bytes: u64) -> anyhow::Result<Input> {
    let label = size_label(bytes);
    let dir = setup.work.join(&label);
    tools::create_private_dir(&dir)?;
    let database = dir.join("inventory.db");
    let stamp = dir.join("inventory.db.spec");
    let spec = Spec { target_bytes: bytes, seed: inventory::DEFAULT_SEED };
    let wanted = format!("target_bytes={} seed={}\n", spec.target_bytes, spec.seed);

    let reusable = database.exists() && fs_err::read_to_string(&stamp).is_ok_and(|s| s == wanted);
    if reusable {
        println!("==> reusing the {label} database {}", database.display());
    } else {
        println!("==> generating a {label} inventory database");
        let summary = inventory::generate(&database, &spec)?;
        println!("    {} rows in {:.1} s", summary.rows_total(), summary.elapsed.as_secs_f64());
        fs_err::write(&stamp, wanted)?;
    }

    let actual = fs_err::metadata(&database)?.len();
    Input::new(setup, label, dir, database, actual)
}

/// Runs every section on `input`.
fn measure_size(setup: &Setup, mut input: Input) -> anyhow::Result<SizeResult> {
    let mut sections = Vec::new();
    for section in cases::sections() {
        println!("==> {} ({})", section.title, input.label);
        (section.before)(setup, &mut input)
            .with_context(|| format!("cannot prepare the section {:?}", section.title))?;

        let mut measured = Vec::new();
        for case in section.cases {
            let samples = measure::repeat(setup.runs, || (case.run)(setup, &input))
                .with_context(|| format!("case {:?} failed on {}", case.name, input.label))?;
            let stats = Stats::of(&samples);
            println!("    {:<44} median {:>8.2} s", case.name, stats.median.as_secs_f64());
            let derived = cases::without_verification_row(&case, &stats);
            measured.push((case, stats));
            measured.extend(derived);
        }
        sections.push((section.title, measured));
    }
    Ok(SizeResult { input, sections })
}

/// Parses `100M`, `1G`, `512K` or a plain byte count into bytes (binary units).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((index, _)) => text.split_at(index),
        None => (text, ""),
    };
    let factor: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KIB" => 1 << 10,
        "M" | "MIB" => 1 << 20,
        "G" | "GIB" => 1 << 30,
        _ => return Err(format!("invalid size {text:?}: expected a number with K, M or G")),
    };
    let number: u64 =
        number.parse().map_err(|_| format!("invalid size {text:?}: expected a number"))?;
    Ok(number * factor)
}

/// Formats a size as a short label such as `100M` or `1G`.
fn size_label(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => format!("{}G", b >> 30),
        b if b >= 1 << 20 && b.is_multiple_of(1 << 20) => format!("{}M", b >> 20),
        b => format!("{b}B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_size_units() {
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn size_label_round_units() {
        assert_eq!(size_label(100 << 20), "100M");
        assert_eq!(size_label(1 << 30), "1G");
        assert_eq!(size_label(1000), "1000B");
    }
}
