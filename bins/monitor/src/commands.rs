//! The subcommands: each runs the library and returns the Nagios exit code.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;

use anyhow::{Context, Result};
use chrono::Utc;
use invguard_config::Config;
use invguard_monitor::{AlertStore, CheckName, CycleReport, Level, Monitor, Notice};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cli::{Command, ReportFormat};

/// Exit code of a usage or configuration error, and of `test-notify` without notifiers.
pub const EXIT_UNKNOWN: u8 = 3;

/// Runs `command` (one monitoring cycle when `None`) and returns the exit code.
pub fn run(command: Option<Command>, config: &Config) -> Result<u8> {
    match command {
        None => cycle_once(config),
        Some(Command::Report { format }) => report(config, format),
        Some(Command::Check { name }) => check(config, &name),
        Some(Command::Watch) => watch(config),
        Some(Command::TestNotify) => test_notify(config),
    }
}

fn report(config: &Config, format: ReportFormat) -> Result<u8> {
    let report = Monitor::new(config).report(Utc::now());
    let text = match format {
        ReportFormat::Json => pretty_json(&report.to_json(config.timezone)),
        ReportFormat::Text => report.to_text(config.timezone, std::io::stdout().is_terminal()),
    };
    print(&text)?;
    Ok(report.level().exit_code())
}

fn check(config: &Config, name: &str) -> Result<u8> {
    let name: CheckName = name.parse()?;
    let result = Monitor::new(config).check(name, Utc::now());
    print(&format!("{}\n", result.to_nagios()))?;
    Ok(result.level.exit_code())
}

fn cycle_once(config: &Config) -> Result<u8> {
    let mut store = open_store(config)?;
    let cycle = Monitor::new(config).cycle(&mut store, Utc::now())?;
    log_cycle(&cycle);
    print(&pretty_json(&cycle.report.to_json(config.timezone)))?;
    Ok(cycle.report.level().exit_code())
}

fn watch(config: &Config) -> Result<u8> {
    let mut store = open_store(config)?;
    let mut monitor = Monitor::new(config);
    let (sender, receiver) = mpsc::channel();
    let mut signals = Signals::new([SIGTERM, SIGINT]).context("cannot install signal handlers")?;
    let signal_handle = signals.handle();
    thread::spawn(move || {
        for signal in signals.forever() {
            let _ = sender.send(signal);
        }
    });

    let interval = config.monitor.interval;
    tracing::info!(interval_seconds = interval.as_secs(), "monitor watch started");
    loop {
        match monitor.cycle(&mut store, Utc::now()) {
            Ok(cycle) => log_cycle(&cycle),
            Err(error) => tracing::error!(error = %format!("{error:#}"), "monitoring cycle failed"),
        }
        match receiver.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => continue,
            Ok(signal) => {
                tracing::info!(signal, "monitor watch stopping");
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    signal_handle.close();
    Ok(0)
}

fn test_notify(config: &Config) -> Result<u8> {
    if config.monitor.notifiers.is_empty() {
        tracing::error!("no notifiers configured: add [[monitor.notifiers]] to the configuration");
        return Ok(EXIT_UNKNOWN);
    }
    let deliveries = Monitor::new(config).test_notify(Utc::now());
    let mut text = String::new();
    for delivery in &deliveries {
        let line = match &delivery.error {
            None => format!("{}: delivered\n", delivery.notifier),
            Some(error) => {
                let attempts = match delivery.attempts {
                    1 => "1 attempt".to_owned(),
                    count => format!("{count} attempts"),
                };
                format!("{}: failed after {attempts}: {error}\n", delivery.notifier)
            }
        };
        text.push_str(&line);
    }
    print(&text)?;
    let all_delivered = deliveries.iter().all(|delivery| delivery.is_delivered());
    Ok(if all_delivered { Level::Ok.exit_code() } else { Level::Critical.exit_code() })
}

fn open_store(config: &Config) -> Result<AlertStore> {
    Ok(AlertStore::open(&config.state.dir)?)
}

/// Logs the cycle's outcome, each notice sent and each notifier that failed.
fn log_cycle(cycle: &CycleReport) {
    for sent in &cycle.notices {
        let notice = &sent.notice;
        if sent.has_no_notifier() {
            warn_no_notifier(notice);
        }
        for delivery in &sent.deliveries {
            match &delivery.error {
                None => tracing::info!(
                    check = %notice.check, kind = notice.kind.as_str(), notifier = %delivery.notifier,
                    "notice sent"
                ),
                Some(error) => tracing::warn!(
                    check = %notice.check, kind = notice.kind.as_str(), notifier = %delivery.notifier,
                    attempts = delivery.attempts, %error, "notifier failed"
                ),
            }
        }
    }
    let failing: Vec<&str> = cycle
        .report
        .checks
        .iter()
        .filter(|check| check.level.is_failure())
        .map(|check| check.name.as_str())
        .collect();
    tracing::info!(
        level = %cycle.report.level(), failing = %failing.join(","), notices = cycle.notices.len(),
        "monitoring cycle done"
    );
}

/// Warns that an alert notice had nowhere to go. The notice stays due, so the next cycle
/// tries again and a notifier added meanwhile gets it.
fn warn_no_notifier(notice: &Notice) {
    tracing::warn!(
        check = %notice.check, kind = notice.kind.as_str(),
        "alert has no notifier configured, nobody was told; add [[monitor.notifiers]] to the \
         configuration"
    );
}

fn pretty_json(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}
