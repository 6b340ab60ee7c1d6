//! `cargo xtask tidy`: workspace hygiene checks, run by CI and by a unit test.
//!
//! The source checks read files only, so the `tidy_source_checks_pass` test runs them on every
//! `cargo test`:
//!
//! - every `.rs` file opens with a `//!` line and every library's `lib.rs` has
//!   `#![deny(missing_docs)]`;
//! - no `todo!`, `dbg!` or `unimplemented!` outside test code;
//! - every `TODO`, `FIXME` or `NOTE` marker is followed by a colon and a sentence stating the
//!   gap;
//! - library code does file I/O through `fs-err` (clippy's `disallowed-methods` is the complete
//!   check; this one only catches `std::fs` functions without compiling);
//! - every dependency in a `Cargo.toml` is referenced from the sources that may use it;
//! - `docs/configuration.md` matches the configuration key registry;
//! - relative links in the Markdown docs point to files that exist, and README.md links every
//!   file in `docs/`;
//! - the Dockerfile, the systemd units and the release bundle name binaries and files that exist;
//! - the Dockerfile builds with `--locked`, and its final stage runs the daemon as a non-root
//!   user with a WORKDIR, volumes, the `backup_cron health` check, SIGTERM as stop signal and
//!   gnupg and sqlite3 installed. No container engine runs here, so this static check is what
//!   guards the image.
//!
//! `cargo xtask tidy` also runs `cargo fmt --check`, `cargo clippy -D warnings` on all targets
//! and `cargo deny check licenses bans sources`. Outside CI, a missing cargo-deny is skipped
//! with a note; in CI (`CI=true`) it fails the run.
//! `--skip-fmt-clippy` leaves out rustfmt and clippy, for CI scripts that run them separately.
//!
//! Test code is any file under a `tests/` or `benches/` directory and, in other files, every
//! line from the first `#[cfg(test)]` on: unit tests sit at the bottom of their file.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One violation found by a source check.
#[derive(Debug)]
pub(crate) struct Problem {
    /// File relative to the workspace root.
    path: PathBuf,
    /// 1-based line, when the problem is on one line.
    line: Option<usize>,
    message: String,
}

impl Problem {
    fn file(path: &Path, message: impl Into<String>) -> Self {
        Problem { path: path.to_path_buf(), line: None, message: message.into() }
    }

    fn line(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Problem { path: path.to_path_buf(), line: Some(line), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Arguments of `cargo xtask tidy`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Skip rustfmt and clippy, for CI scripts that run them separately.
    #[arg(long)]
    skip_fmt_clippy: bool,
}

/// Runs `cargo xtask tidy`.
pub(crate) fn run(args: &Args) -> Result<()> {
    let root = workspace_root();
    let mut failures = Vec::new();

    let problems = source_checks(&root)?;
    for problem in &problems {
        println!("tidy: {problem}");
    }
    if !problems.is_empty() {
        failures.push(format!("{} source check problem(s)", problems.len()));
    }

    if !args.skip_fmt_clippy {
        failures.extend(fmt_and_clippy(&root)?);
    }
    failures.extend(cargo_deny(&root)?);

    if failures.is_empty() {
        println!("tidy: all checks passed");
        return Ok(());
    }
    bail!("tidy failed: {}", failures.join(", "))
}

/// Returns the workspace root: the parent of the xtask package.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Runs every check that reads files only and returns the problems found.
pub(crate) fn source_checks(root: &Path) -> Result<Vec<Problem>> {
    let packages = find_packages(root)?;
    let mut sources = Vec::new();
    for package in &packages {
        sources.extend(read_sources(root, &package.dir)?);
    }

    let mut problems = Vec::new();
    problems.extend(check_module_docs(&sources));
    problems.extend(check_forbidden_macros(&sources));
    problems.extend(check_gap_markers(&sources));
    problems.extend(check_missing_docs_lint(root, &packages)?);
    problems.extend(check_fs_err(&sources, &packages));
    problems.extend(check_unused_dependencies(&packages, &sources));
    problems.extend(check_generated_docs(root)?);
    problems.extend(check_markdown_links(root)?);
    problems.extend(check_readme_links_docs(root)?);
    problems.extend(check_dockerfile(root, &packages)?);
    problems.extend(check_release_files(root, &packages)?);
    Ok(problems)
}

/// Runs rustfmt and clippy; returns a description of each failed step.
fn fmt_and_clippy(root: &Path) -> Result<Vec<String>> {
    let mut failures = Vec::new();

    let steps: [(&str, &[&str]); 2] = [
        ("rustfmt", &["fmt", "--all", "--", "--check"]),
        ("clippy", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]),
    ];
    for (name, args) in steps {
        println!("tidy: running cargo {}", args.join(" "));
        if !run_cargo(root, args)? {
            failures.push(format!("{name} failed"));
        }
    }
    Ok(failures)
}

/// Runs `cargo deny check licenses bans sources`; advisories are left out because their
/// database cannot be fetched here. A missing cargo-deny fails the run in CI (`CI=true`, where
/// `.ci/run` installs it) and is skipped with a note elsewhere.
fn cargo_deny(root: &Path) -> Result<Vec<String>> {
    if !cargo_deny_installed() {
        if running_in_ci() {
            return Ok(vec![format!("cargo deny is not installed ({CARGO_DENY_INSTALL})")]);
        }
        println!("tidy: skipped cargo deny: not installed ({CARGO_DENY_INSTALL})");
        return Ok(Vec::new());
    }

    let args =
        ["deny", "--locked", "check", "--hide-inclusion-graph", "licenses", "bans", "sources"];
    println!("tidy: running cargo {}", args.join(" "));
    if run_cargo(root, &args)? { Ok(Vec::new()) } else { Ok(vec!["cargo deny failed".to_owned()]) }
}

/// How to install cargo-deny, for the messages of [`cargo_deny`].
const CARGO_DENY_INSTALL: &str = "install it with `cargo install --locked cargo-deny`";

/// Returns whether this runs in CI, where the CI service sets `CI=true`.
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

fn run_cargo(root: &Path, args: &[&str]) -> Result<bool> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("failed to run cargo {}", args.join(" ")))?;
    Ok(status.success())
}

fn cargo_deny_installed() -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// A package of the workspace.
#[derive(Debug)]
pub(crate) struct Package {
    /// Package name from its `Cargo.toml`.
    name: String,
    /// Directory relative to the workspace root.
    dir: PathBuf,
    manifest: toml::Table,
}

impl Package {
    /// Whether this is one of the product's library crates under `crates/`.
    fn is_library(&self, root: &Path) -> bool {
        self.dir.starts_with("crates") && root.join(&self.dir).join("src/lib.rs").is_file()
    }

    fn is_binary_package(&self) -> bool {
        self.dir.starts_with("bins")
    }
}

fn find_packages(root: &Path) -> Result<Vec<Package>> {
    let mut dirs = Vec::new();
    for parent in ["crates", "bins"] {
        let Ok(entries) = fs_err::read_dir(root.join(parent)) else { continue };
        for entry in entries {
            let entry = entry?;
            dirs.push(PathBuf::from(parent).join(entry.file_name()));
        }
    }
    dirs.push(PathBuf::from("xtask"));
    dirs.sort();

    let mut packages = Vec::new();
    for dir in dirs {
        let manifest_path = root.join(&dir).join("Cargo.toml");
        if !manifest_path.is_file() {
            continue;
        }
        let text = fs_err::read_to_string(&manifest_path)?;
        let manifest: toml::Table =
            text.parse().with_context(|| format!("invalid TOML in {}", manifest_path.display()))?;
        let name = manifest
            .get("package")
            .and_then(|package| package.get("name"))
            .and_then(|name| name.as_str())
            .with_context(|| format!("{} has no package.name", manifest_path.display()))?
            .to_owned();
        packages.push(Package { name, dir, manifest });
    }
    Ok(packages)
}

/// A Rust source file and where its test code starts.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Path relative to the workspace root.
    path: PathBuf,
    text: String,
    /// 0-based index of the first line of test code; the line count when there is none.
    test_start: usize,
}

impl SourceFile {
    fn new(path: PathBuf, text: String) -> Self {
        let in_test_dir =
            path.components().any(|c| c.as_os_str() == "tests" || c.as_os_str() == "benches");
        let test_start = if in_test_dir {
            0
        } else {
            text.lines()
                .position(|line| line.trim_start().starts_with("#[cfg(test)]"))
                .unwrap_or(usize::MAX)
        };
        SourceFile { path, text, test_start }
    }

    /// Lines outside test code, with their 1-based numbers.
    fn non_test_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text.lines().enumerate().take(self.test_start).map(|(index, line)| (index + 1, line))
    }

    fn is_in(&self, dir: &Path) -> bool {
        self.path.starts_with(dir)
    }
}

fn read_sources(root: &Path, dir: &Path) -> Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    collect_files(root, dir, "rs", &mut files)?;

    let mut sources = Vec::new();
    for path in files {
        let text = fs_err::read_to_string(root.join(&path))?;
        sources.push(SourceFile::new(path, text));
    }
    Ok(sources)
}

/// Collects files with `extension` under `dir` (relative to `root`), skipping `target` and
/// hidden directories, in sorted order.
fn collect_files(root: &Path, dir: &Path, extension: &str, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(root.join(dir))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());

    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = dir.join(&*name);
        if entry.file_type()?.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_files(root, &path, extension, files)?;
            }
        } else if path.extension().is_some_and(|ext| ext == extension) {
            files.push(path);
        }
    }
    Ok(())
}

/// Splits a line into its code and its `//` comment, if any.
///
/// A `//` inside a string literal also starts the "comment", which only shortens the code part
/// that the checks search.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    match line.find("//") {
        Some(index) => (&line[..index], Some(&line[index..])),
        None => (line, None),
    }
}

fn check_module_docs(sources: &[SourceFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for source in sources {
        let first = source.text.lines().find(|line| !line.trim().is_empty());
        if !first.is_some_and(|line| line.starts_with("//!")) {
            problems.push(Problem::file(
                &source.path,
                "module does not open with a `//!` line saying what it is for",
            ));
        }
    }
    problems
}

fn check_forbidden_macros(sources: &[SourceFile]) -> Vec<Problem> {
    // Built with concat! so that this file does not match its own search.
    let macros = [concat!("todo", "!("), concat!("dbg", "!("), concat!("unimplemented", "!(")];

    let mut problems = Vec::new();
    for source in sources {
        for (number, line) in source.non_test_lines() {
            let (code, _) = split_comment(line);
            for needle in macros {
                if contains_word(code, needle) {
                    let name = needle.trim_end_matches('(');
                    problems.push(Problem::line(
                        &source.path,
                        number,
                        format!("`{name}` outside test code: finish the code or mark the gap"),
                    ));
                }
            }
        }
    }
    problems
}

/// Minimum number of words after a `TODO:` style marker.
const MIN_MARKER_WORDS: usize = 3;

fn check_gap_markers(sources: &[SourceFile]) -> Vec<Problem> {
    let markers = [concat!("TO", "DO"), concat!("FIX", "ME"), concat!("NO", "TE")];

    let mut problems = Vec::new();
    for source in sources {
        for (index, line) in source.text.lines().enumerate() {
            let (_, Some(comment)) = split_comment(line) else { continue };
            for marker in markers {
                if let Some(message) = check_marker(comment, marker) {
                    problems.push(Problem::line(&source.path, index + 1, message));
                }
            }
        }
    }
    problems
}

/// Returns a problem description when `comment` uses `marker` without a sentence after it.
///
/// A marker quoted in backticks is a mention, not a marker.
fn check_marker(comment: &str, marker: &str) -> Option<String> {
    let mut search_from = 0;
    while let Some(offset) = comment[search_from..].find(marker) {
        let start = search_from + offset;
        let end = start + marker.len();
        search_from = end;

        let before = comment[..start].chars().next_back();
        let after = comment[end..].chars().next();
        let is_word = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '`')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !is_word {
            continue;
        }

        let rest = &comment[end..];
        let Some(sentence) = rest.strip_prefix(':') else {
            return Some(format!("`{marker}` without a colon and a sentence stating the gap"));
        };
        if sentence.split_whitespace().count() < MIN_MARKER_WORDS {
            return Some(format!("`{marker}:` needs a sentence stating the gap"));
        }
    }
    None
}

fn check_missing_docs_lint(root: &Path, packages: &[Package]) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for package in packages.iter().filter(|package| package.is_library(root)) {
        let lib = package.dir.join("src/lib.rs");
        let text = fs_err::read_to_string(root.join(&lib))?;
        if !text.lines().any(|line| line.trim() == "#![deny(missing_docs)]") {
            problems.push(Problem::file(&lib, "library crate lacks `#![deny(missing_docs)]`"));
        }
    }
    Ok(problems)
}

/// `std::fs` functions that `fs_err` wraps with the path in the error.
const STD_FS_FUNCTIONS: &[&str] = &[
    "read",
    "read_to_string",
    "write",
    "remove_file",
    "remove_dir",
    "remove_dir_all",
    "rename",
    "copy",
    "create_dir",
    "create_dir_all",
    "read_dir",
    "metadata",
    "symlink_metadata",
    "canonicalize",
    "hard_link",
    "set_permissions",
    "File::open",
    "File::create",
    "File::create_new",
    "OpenOptions",
];

fn check_fs_err(sources: &[SourceFile], packages: &[Package]) -> Vec<Problem> {
    let library_dirs: Vec<PathBuf> = packages
        .iter()
        .filter(|package| package.dir.starts_with("crates"))
        .map(|package| package.dir.join("src"))
        .collect();

    let mut problems = Vec::new();
    for source in sources {
        if !library_dirs.iter().any(|dir| source.is_in(dir)) {
            continue;
        }
        let imports_std_fs = source.text.contains("use std::fs;");
        for (number, line) in source.non_test_lines() {
            let (code, _) = split_comment(line);
            for function in STD_FS_FUNCTIONS {
                let qualified = format!("std::fs::{function}");
                let short = format!("fs::{function}");
                let uses_std = code.contains(&qualified)
                    || (imports_std_fs && contains_word(code, &short) && !code.contains("fs_err"));
                if uses_std && is_call_or_type_use(code, function) {
                    problems.push(Problem::line(
                        &source.path,
                        number,
                        format!("`std::fs::{function}` in library code: use `fs_err`"),
                    ));
                }
            }
        }
    }
    problems
}

/// Whether `function` is used as a path segment followed by `(` or `::` rather than being a
/// prefix of a longer name (`read` in `read_dir`).
fn is_call_or_type_use(code: &str, function: &str) -> bool {
    code.match_indices(function).any(|(index, _)| {
        let after = &code[index + function.len()..];
        after.starts_with('(') || after.starts_with("::") || after.starts_with(';')
    })
}

/// Whether `needle` occurs in `haystack` not preceded by an identifier character.
fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(index, _)| {
        !haystack[..index].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Dependency tables of a manifest and which source files may use their entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DependencyKind {
    /// `[dependencies]`: library and binary code outside tests.
    Normal,
    /// `[dev-dependencies]`: any Rust file of the package.
    Dev,
    /// `[build-dependencies]`: `build.rs`.
    Build,
}

fn dependency_tables(manifest: &toml::Table) -> Vec<(DependencyKind, &toml::Table)> {
    let mut tables = dependency_tables_of(manifest);
    if let Some(targets) = manifest.get("target").and_then(|value| value.as_table()) {
        for target in targets.values().filter_map(|value| value.as_table()) {
            tables.extend(dependency_tables_of(target));
        }
    }
    tables
}

/// The dependency tables directly in `table`: a manifest or one `[target.<cfg>]` table.
fn dependency_tables_of(table: &toml::Table) -> Vec<(DependencyKind, &toml::Table)> {
    let kinds = [
        ("dependencies", DependencyKind::Normal),
        ("dev-dependencies", DependencyKind::Dev),
        ("build-dependencies", DependencyKind::Build),
    ];
    kinds.into_iter().filter_map(|(key, kind)| Some((kind, table.get(key)?.as_table()?))).collect()
}

/// Dependencies a package lists in `[package.metadata.cargo-machete] ignored`, the key the
/// cargo-machete tool reads: crates needed for their features or side effects only.
fn ignored_dependencies(manifest: &toml::Table) -> BTreeSet<String> {
    manifest
        .get("package")
        .and_then(|package| package.get("metadata"))
        .and_then(|metadata| metadata.get("cargo-machete"))
        .and_then(|machete| machete.get("ignored"))
        .and_then(|ignored| ignored.as_array())
        .map(|names| names.iter().filter_map(|name| name.as_str()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn check_unused_dependencies(packages: &[Package], sources: &[SourceFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for package in packages {
        let ignored = ignored_dependencies(&package.manifest);
        let manifest_path = package.dir.join("Cargo.toml");
        let package_sources: Vec<&SourceFile> =
            sources.iter().filter(|source| source.is_in(&package.dir)).collect();

        for (kind, table) in dependency_tables(&package.manifest) {
            for dependency in table.keys() {
                if ignored.contains(dependency) {
                    continue;
                }
                let crate_name = dependency.replace('-', "_");
                let used = package_sources
                    .iter()
                    .any(|source| source_uses(package, source, kind, &crate_name));
                if !used {
                    problems.push(Problem::file(
                        &manifest_path,
                        format!(
                            "dependency `{dependency}` is not referenced as `{crate_name}::` or \
                             `use {crate_name}` in the code that can use it: remove it"
                        ),
                    ));
                }
            }
        }
    }
    problems
}

fn source_uses(
    package: &Package,
    source: &SourceFile,
    kind: DependencyKind,
    crate_name: &str,
) -> bool {
    let build_script = package.dir.join("build.rs");
    let text: String = match kind {
        DependencyKind::Normal if source.path == build_script => return false,
        DependencyKind::Normal => {
            source.non_test_lines().map(|(_, line)| line).collect::<Vec<_>>().join("\n")
        }
        DependencyKind::Dev => source.text.clone(),
        DependencyKind::Build if source.path == build_script => source.text.clone(),
        DependencyKind::Build => return false,
    };

    let path_use = format!("{crate_name}::");
    let import = format!("use {crate_name}");
    let extern_crate = format!("extern crate {crate_name}");
    text.lines().any(|line| {
        let (code, _) = split_comment(line);
        contains_word(code, &path_use) || code.contains(&import) || code.contains(&extern_crate)
    })
}

fn check_generated_docs(root: &Path) -> Result<Vec<Problem>> {
    match crate::docs::check(root)? {
        Some(message) => Ok(vec![Problem::file(Path::new(crate::docs::CONFIGURATION_MD), message)]),
        None => Ok(Vec::new()),
    }
}

fn check_markdown_links(root: &Path) -> Result<Vec<Problem>> {
    let mut files = Vec::new();
    for name in ["README.md", "CHANGELOG.md"] {
        if root.join(name).is_file() {
            files.push(PathBuf::from(name));
        }
    }
    if root.join("docs").is_dir() {
        collect_files(root, Path::new("docs"), "md", &mut files)?;
    }

    let mut problems = Vec::new();
    for file in files {
        let text = fs_err::read_to_string(root.join(&file))?;
        let base = file.parent().unwrap_or(Path::new(""));
        for (index, line) in text.lines().enumerate() {
            for target in link_targets(line) {
                if root.join(base).join(target).exists() {
                    continue;
                }
                problems.push(Problem::line(
                    &file,
                    index + 1,
                    format!("link target {target:?} does not exist"),
                ));
            }
        }
    }
    Ok(problems)
}

/// Checks that README.md links every Markdown file in `docs/`, so a newcomer finds each one.
fn check_readme_links_docs(root: &Path) -> Result<Vec<Problem>> {
    let readme = Path::new("README.md");
    let text = fs_err::read_to_string(root.join(readme))?;
    let linked: BTreeSet<&str> = text.lines().flat_map(link_targets).collect();

    let mut docs = Vec::new();
    if root.join("docs").is_dir() {
        collect_files(root, Path::new("docs"), "md", &mut docs)?;
    }
    let problems = docs
        .iter()
        .filter(|doc| !doc.to_str().is_some_and(|doc| linked.contains(doc)))
        .map(|doc| Problem::file(readme, format!("no link to {}", doc.display())))
        .collect();
    Ok(problems)
}

/// Relative file targets of the inline Markdown links `[text](target)` on a line, without the
/// `#fragment`.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    for (index, _) in line.match_indices("](") {
        let rest = &line[index + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        let external = target.contains("://") || target.starts_with("mailto:");
        if !target.is_empty() && !external && !target.contains(' ') {
            targets.push(target);
        }
    }
    targets
}

/// Names of the workspace's binaries, one per package under `bins/`.
fn binary_names(packages: &[Package]) -> Vec<&str> {
    packages
        .iter()
        .filter(|package| package.is_binary_package())
        .map(|package| package.name.as_str())
        .collect()
}

fn check_dockerfile(root: &Path, packages: &[Package]) -> Result<Vec<Problem>> {
    let path = Path::new("Dockerfile");
    if !root.join(path).is_file() {
        return Ok(vec![Problem::file(path, "Dockerfile is missing")]);
    }
    let text = fs_err::read_to_string(root.join(path))?;
    let ignored = dockerignore_patterns(root)?;
    let binaries = binary_names(packages);

    let mut problems = Vec::new();
    let instructions = dockerfile_instructions(&text);
    for (number, instruction) in &instructions {
        let words: Vec<&str> = instruction.split_whitespace().collect();
        match words.first().copied() {
            Some("FROM") => problems.extend(check_rust_image(root, path, *number, &words)?),
            Some("COPY") if !words.iter().any(|word| word.starts_with("--from")) => {
                let sources: Vec<&str> =
                    words.iter().skip(1).filter(|word| !word.starts_with("--")).copied().collect();
                for source in &sources[..sources.len().saturating_sub(1)] {
                    let source = source.trim_start_matches("./").trim_end_matches('/');
                    let message = if !root.join(source).exists() {
                        format!("COPY of missing {source:?}")
                    } else if ignored.iter().any(|pattern| pattern == source) {
                        format!("COPY of {source:?}, which .dockerignore excludes")
                    } else {
                        continue;
                    };
                    problems.push(Problem::line(path, *number, message));
                }
            }
            _ => {}
        }

        let runs_cargo = words.contains(&"cargo");
        for pair in words.windows(2).filter(|_| runs_cargo) {
            if matches!(pair[0], "-p" | "--package" | "--bin") && !binaries.contains(&pair[1]) {
                let message = format!("no binary package {:?}", pair[1]);
                problems.push(Problem::line(path, *number, message));
            }
        }
    }

    for binary in &binaries {
        if !text.contains(&format!("/{binary}")) {
            let message = format!("binary {binary} is not installed in the image");
            problems.push(Problem::file(path, message));
        }
    }
    problems.extend(check_runtime_stage(path, &instructions));
    Ok(problems)
}

/// Checks the build and the final stage of the Dockerfile for what the image must do: a
/// `--locked` build, a non-root user, the restore tools, the health check, the daemon as the
/// default command and SIGTERM as the stop signal.
fn check_runtime_stage(path: &Path, instructions: &[(usize, String)]) -> Vec<Problem> {
    let last_from =
        instructions.iter().rposition(|(_, instruction)| instruction.starts_with("FROM"));
    let final_stage = &instructions[last_from.unwrap_or(0)..];
    let non_root_user = final_stage
        .iter()
        .rev()
        .find_map(|(_, instruction)| instruction.strip_prefix("USER "))
        .and_then(|user| user.trim().split(':').next())
        .is_some_and(|user| user != "root" && user != "0");

    let requirements = [
        (
            has_instruction(instructions, "RUN", &["cargo build", "--locked"]),
            "no `cargo build --locked`",
        ),
        (non_root_user, "the final stage does not switch to a non-root USER"),
        (
            has_instruction(final_stage, "RUN", &["apt-get install", "gnupg", "sqlite3"]),
            "the final stage does not install gnupg and sqlite3 for manual restores",
        ),
        (has_instruction(final_stage, "WORKDIR", &[]), "the final stage has no WORKDIR"),
        (has_instruction(final_stage, "VOLUME", &[]), "the final stage declares no VOLUME"),
        (
            has_instruction(final_stage, "HEALTHCHECK", &["[\"backup_cron\", \"health\"]"]),
            "no HEALTHCHECK running `backup_cron health`",
        ),
        (
            has_instruction(final_stage, "CMD", &["[\"backup_cron\", \"run\"]"]),
            "the default command is not the daemon, `CMD [\"backup_cron\", \"run\"]`",
        ),
        (has_instruction(final_stage, "STOPSIGNAL", &["SIGTERM"]), "no `STOPSIGNAL SIGTERM`"),
    ];
    requirements
        .into_iter()
        .filter(|(met, _)| !met)
        .map(|(_, message)| Problem::file(path, message))
        .collect()
}

/// Returns whether an instruction starts with `keyword` and contains each of `needles`.
fn has_instruction(instructions: &[(usize, String)], keyword: &str, needles: &[&str]) -> bool {
    instructions.iter().any(|(_, instruction)| {
        instruction.starts_with(keyword)
            && needles.iter().all(|needle| instruction.contains(needle))
    })
}

/// Splits a Dockerfile into instructions with the number of their first line, joining lines
/// continued with a trailing `\\` and dropping comments.
pub(crate) fn dockerfile_instructions(text: &str) -> Vec<(usize, String)> {
    let mut instructions = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (content, continued) = match trimmed.strip_suffix('\\') {
            Some(content) => (content, true),
            None => (trimmed, false),
        };
        let (_, instruction) = current.get_or_insert_with(|| (index + 1, String::new()));
        instruction.push_str(content);
        instruction.push(' ');
        if !continued {
            instructions.extend(current.take());
        }
    }
    instructions.extend(current);
    instructions
}

/// Checks that a `FROM rust:X.Y...` line uses the toolchain pinned in `rust-toolchain.toml`.
fn check_rust_image(
    root: &Path,
    path: &Path,
    number: usize,
    words: &[&str],
) -> Result<Vec<Problem>> {
    let Some(image) = words.get(1).and_then(|image| image.strip_prefix("rust:")) else {
        return Ok(Vec::new());
    };
    let image_version: String =
        image.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();

    let toolchain_text = fs_err::read_to_string(root.join("rust-toolchain.toml"))?;
    let toolchain: toml::Table = toolchain_text.parse().context("invalid rust-toolchain.toml")?;
    let channel = toolchain
        .get("toolchain")
        .and_then(|toolchain| toolchain.get("channel"))
        .and_then(|channel| channel.as_str())
        .unwrap_or_default();

    let image_version = image_version.trim_end_matches('.');
    if channel == image_version || channel.starts_with(&format!("{image_version}.")) {
        return Ok(Vec::new());
    }
    Ok(vec![Problem::line(
        path,
        number,
        format!("build image rust:{image} does not match rust-toolchain.toml channel {channel}"),
    )])
}

/// Patterns of `.dockerignore`, without leading `/` or `./` and trailing `/`.
fn dockerignore_patterns(root: &Path) -> Result<Vec<String>> {
    let path = root.join(".dockerignore");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = fs_err::read_to_string(path)?;
    let patterns = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .map(|line| line.trim_start_matches('/').trim_start_matches("./").trim_end_matches('/'))
        .map(str::to_owned)
        .collect();
    Ok(patterns)
}

fn check_release_files(root: &Path, packages: &[Package]) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for file in crate::dist::bundled_files(root)? {
        if !root.join(&file.source).is_file() {
            problems.push(Problem::file(&file.source, "file of the release bundle is missing"));
        }
    }

    let binaries = binary_names(packages);
    let unit_dir = Path::new(crate::dist::SYSTEMD_DIR);
    for unit in crate::dist::SYSTEMD_UNITS {
        let path = unit_dir.join(unit);
        let Ok(text) = fs_err::read_to_string(root.join(&path)) else { continue };
        for (index, line) in text.lines().enumerate() {
            let Some(command) = line.strip_prefix("ExecStart=") else { continue };
            let program = command.split_whitespace().next().unwrap_or_default();
            let name = Path::new(program).file_name().and_then(|name| name.to_str());
            if !name.is_some_and(|name| binaries.contains(&name)) {
                problems.push(Problem::line(
                    &path,
                    index + 1,
                    format!("ExecStart runs {program:?}, which is not a binary of this workspace"),
                ));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_source_checks_pass() {
        let problems = source_checks(&workspace_root()).unwrap();
        let listing: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(listing.is_empty(), "tidy found problems:\n{}", listing.join("\n"));
    }

    #[test]
    fn check_marker_cases() {
        let todo = concat!("TO", "DO");
        let cases = [
            (format!("// {todo}: retention ignores leap seconds"), true),
            (format!("// {todo}"), false),
            (format!("// {todo}: fix"), false),
            (format!("// {todo}(someone): fix it later"), false),
            (format!("// the `{todo}:` marker style"), true),
            (format!("// {todo}S are fine as a word"), true),
        ];
        for (comment, passes) in cases {
            assert_eq!(check_marker(&comment, todo).is_none(), passes, "{comment}");
        }
    }

    #[test]
    fn link_targets_cases() {
        let line =
            "see [ops](operations.md#install), [site](https://example.invalid/x) and [a](#b)";
        assert_eq!(link_targets(line), vec!["operations.md"]);
    }

    #[test]
    fn source_file_test_region_starts_at_cfg_test() {
        let text = "//! m\nfn a() {}\n#[cfg(test)]\nmod tests {}\n".to_owned();
        let source = SourceFile::new(PathBuf::from("crates/x/src/lib.rs"), text);
        let lines: Vec<usize> = source.non_test_lines().map(|(number, _)| number).collect();
        assert_eq!(lines, vec![1, 2]);
    }

    #[test]
    fn source_file_in_tests_dir_is_all_test_code() {
        let source = SourceFile::new(PathBuf::from("crates/x/tests/x.rs"), "//! t\n".to_owned());
        assert_eq!(source.non_test_lines().count(), 0);
    }

    #[test]
    fn dockerfile_instructions_join_continued_lines() {
        let text = "# comment\nFROM debian\nRUN apt-get update \\\n    && true\n\nCMD [\"x\"]\n";
        let instructions = dockerfile_instructions(text);
        let numbers: Vec<usize> = instructions.iter().map(|(number, _)| *number).collect();
        assert_eq!(numbers, vec![2, 3, 6]);
        assert_eq!(
            instructions[1].1.split_whitespace().collect::<Vec<_>>().join(" "),
            "RUN apt-get update && true"
        );
    }

    #[test]
    fn check_runtime_stage_lists_missing_instructions() {
        let text = "FROM rust AS build\nRUN cargo build --release --locked\n\
                    FROM debian\nRUN apt-get install gnupg sqlite3\nWORKDIR /app\n\
                    VOLUME [\"/app/data\"]\nUSER root\nCMD [\"backup_cron\", \"run\"]\n";
        let instructions = dockerfile_instructions(text);

        let problems = check_runtime_stage(Path::new("Dockerfile"), &instructions);

        let messages: Vec<&str> = problems.iter().map(|problem| problem.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "the final stage does not switch to a non-root USER",
                "no HEALTHCHECK running `backup_cron health`",
                "no `STOPSIGNAL SIGTERM`",
            ]
        );
    }

    fn package(dir: &str, manifest: &str) -> Package {
        let manifest: toml::Table = manifest.parse().unwrap();
        Package { name: "x".to_owned(), dir: PathBuf::from(dir), manifest }
    }

    #[test]
    fn check_fs_err_flags_std_fs_in_library_code() {
        let text = "//! m\nuse std::fs::File;\nfn a() { std::fs::read_to_string(\"p\"); }\n\
                    #[cfg(test)]\nfn b() { std::fs::write(\"p\", \"x\"); }\n";
        let sources = [SourceFile::new(PathBuf::from("crates/x/src/lib.rs"), text.to_owned())];
        let packages = [package("crates/x", "[package]\nname = \"x\"\n")];

        let problems = check_fs_err(&sources, &packages);

        let lines: Vec<Option<usize>> = problems.iter().map(|problem| problem.line).collect();
        assert_eq!(lines, vec![Some(3)], "{problems:?}");
    }

    #[test]
    fn check_unused_dependencies_flags_unreferenced() {
        let manifest = "[package]\nname = \"x\"\n[dependencies]\nfs-err = \"3\"\nanyhow = \"1\"\n\
                        [dev-dependencies]\ntempfile = \"3\"\n";
        let packages = [package("crates/x", manifest)];
        let library = "//! m\nuse fs_err as fs;\n#[cfg(test)]\nfn t() { anyhow::bail!(\"x\") }\n";
        let test = "//! t\nfn t() { tempfile::tempdir(); }\n";
        let sources = [
            SourceFile::new(PathBuf::from("crates/x/src/lib.rs"), library.to_owned()),
            SourceFile::new(PathBuf::from("crates/x/tests/x.rs"), test.to_owned()),
        ];

        let problems = check_unused_dependencies(&packages, &sources);

        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("`anyhow`"), "{}", problems[0]);
    }

    #[test]
    fn contains_word_needs_boundary() {
        assert!(contains_word("let x = serde::Serialize;", "serde::"));
        assert!(!contains_word("let x = my_serde::Serialize;", "serde::"));
    }
}
