//! Benchmark row for the monitor: one full `monitor report` (all five checks) against a local
//! test backend that serves 10,000 items.
//!
//! The backend is a std `TcpListener` on 127.0.0.1 that serves the endpoints of
//! docs/backend-api.md from bodies rendered once, so the figures measure the monitor and not
//! the server. The section's `before` step builds the release `monitor`, starts the backend
//! and writes a database and a verified backup, so every check is OK and the run exits 0.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::thread;

use anyhow::{Context as _, bail};
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::bench::Setup;
use crate::bench::cases::{Case, Input, Section};
use crate::bench::measure::{self, Sample};
use crate::tools;

/// Items the benchmark backend serves.
pub const ITEMS: usize = 10_000;

/// Row name of the report.
pub const REPORT: &str = "monitor report, 10,000 items";

/// The binary, backend and files of the `before` step, shared by every database size.
#[derive(Debug)]
struct Prepared {
    monitor: PathBuf,
    backend: SocketAddr,
    dir: PathBuf,
}

static PREPARED: OnceLock<Prepared> = OnceLock::new();

/// Returns the monitor section of the report.
pub fn sections() -> Vec<Section> {
    vec![Section {
        title: "Monitor",
        before: prepare,
        cases: vec![Case { name: REPORT, ours: true, run: ours_report }],
    }]
}

fn prepare(setup: &Setup, _input: &mut Input) -> anyhow::Result<()> {
    if PREPARED.get().is_some() {
        return Ok(());
    }
    println!("==> building monitor (release)");
    let monitor = build_monitor()?;
    let backend = start_backend(ITEMS)?;

    let dir = setup.work.join("monitor");
    let backups = dir.join("backups");
    tools::create_private_dir(&dir)?;
    tools::create_private_dir(&backups)?;
    let mut header = b"SQLite format 3\0".to_vec();
    header.resize(4096, 0);
    fs_err::write(dir.join("inventory.db"), header)?;
    write_verified_backup(&backups)?;

    let _ = PREPARED.set(Prepared { monitor, backend, dir });
    Ok(())
}

fn ours_report(setup: &Setup, _input: &Input) -> anyhow::Result<Sample> {
    let prepared = PREPARED.get().context("the monitor section was not prepared")?;
    let report = prepared.dir.join("time-report-monitor.txt");
    tools::remove_file_if_exists(&report)?;

    let mut command = Command::new(&setup.time);
    command.arg("-v").arg("-o").arg(&report).arg(&prepared.monitor).args(["-q", "report"]);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("API_URL", format!("http://{}/api", prepared.backend))
        .env("DATABASE_PATH", prepared.dir.join("inventory.db"))
        .env("BACKUP_PATH", prepared.dir.join("backups"))
        .env("INVGUARD_TIMEZONE", "UTC")
        .env("INVGUARD_MONITOR__DISK_SPACE_GB", "0")
        .env("INVGUARD_MONITOR__DISK_USAGE_PERCENTAGE", "100");
    measure::timed(&mut command, Some(&report))
}

fn build_monitor() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(tools::workspace_root());
    command.args(["build", "--quiet", "--release", "--package", "monitor"]);
    let status = command.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --package monitor failed with {status}");
    }
    Ok(tools::target_dir().join("release").join("monitor"))
}

/// Writes a backup taken an hour ago and its manifest with a passed verification.
fn write_verified_backup(dir: &std::path::Path) -> anyhow::Result<()> {
    let created = Utc::now() - TimeDelta::hours(1);
    let stem = format!("inventory-{}", created.format("%Y%m%dT%H%M%SZ"));
    let name = format!("{stem}.db.zst.gpg");
    let time = created.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    fs_err::write(dir.join(&name), [0u8; 4096])?;
    let manifest = json!({
        "format_version": 1,
        "created_utc": time,
        "database": {"name": "inventory", "source_path": "/app/data/inventory.db"},
        "tool_version": env!("CARGO_PKG_VERSION"),
        "file": {"name": name},
        "plaintext": {"sha256": "00", "size": 16384},
        "ciphertext": {"sha256": "00", "size": 4096},
        "sqlite": {"page_size": 4096, "page_count": 4, "schema_hash": "00"},
        "tables": {"items": ITEMS},
        "rows_total": ITEMS,
        "encryption": {"mode": "passphrase", "recipients": []},
        "compression": {"algorithm": "zstd", "level": 3},
        "verification": {"result": "passed", "level": "quick", "time": time},
    });
    fs_err::write(dir.join(format!("{stem}.manifest.json")), manifest.to_string())?;
    Ok(())
}

/// The pre-rendered bodies of the backend.
#[derive(Debug)]
struct Bodies {
    health: String,
    items: String,
    low_stock: String,
}

/// Starts the backend on 127.0.0.1 with `count` items, every 25th low on stock (4%, below
/// the default warning ratio of 10%).
fn start_backend(count: usize) -> anyhow::Result<SocketAddr> {
    let items: Vec<Value> = (0..count)
        .map(|index| {
            let quantity = if index % 25 == 0 { 1 } else { 40 };
            json!({"id": index, "sku": format!("SKU-{index:05}"), "name": format!("Item {index}"),
                   "quantity": quantity, "min_quantity": 5, "category": "parts",
                   "description": "a stocked part of the benchmark inventory"})
        })
        .collect();
    let low_stock: Vec<&Value> = items.iter().filter(|item| item["quantity"] == 1).collect();
    let bodies = Arc::new(Bodies {
        health: json!({"status": "ok"}).to_string(),
        items: serde_json::to_string(&items)?,
        low_stock: serde_json::to_string(&low_stock)?,
    });

    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let bodies = Arc::clone(&bodies);
            thread::spawn(move || serve(stream, &bodies));
        }
    });
    Ok(addr)
}

/// Serves one request and closes the connection.
fn serve(mut stream: TcpStream, bodies: &Bodies) {
    let mut request_line = String::new();
    let mut reader = BufReader::new(&stream);
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }

    let path = request_line.split_whitespace().nth(1).unwrap_or_default();
    let (status, body) = match path {
        "/api/health" => ("200 OK", bodies.health.as_str()),
        "/api/items" => ("200 OK", bodies.items.as_str()),
        "/api/analytics/low-stock" => ("200 OK", bodies.low_stock.as_str()),
        _ => ("404 Not Found", "{}"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes()));
}
