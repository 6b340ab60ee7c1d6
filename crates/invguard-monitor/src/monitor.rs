//! [`Monitor`]: runs the checks, updates the alert state and sends the notices.

use chrono::{DateTime, Utc};
use invguard_config::Config;

use crate::alerts::{AlertRules, AlertStore};
use crate::auth::ApiClient;
use crate::catalog::{BackupCatalog, DirectoryCatalog};
use crate::notify::{self, Delivery, DeliveryPolicy, Notice};
use crate::{CheckName, CheckResult, MonitorError, Report, checks};

/// Runs checks and monitoring cycles for one configuration.
///
/// A `Monitor` keeps its API token between runs, so a long-running caller (`monitor watch`,
/// the daemon) logs in once and renews the token only before it expires.
#[derive(Debug)]
pub struct Monitor {
    config: Config,
    api: ApiClient,
    catalog: Box<dyn BackupCatalog>,
    delivery: DeliveryPolicy,
}

/// The outcome of one monitoring cycle.
#[derive(Debug, Clone)]
pub struct CycleReport {
    /// The check results.
    pub report: Report,
    /// The notices that were due, each with its delivery results.
    pub notices: Vec<SentNotice>,
}

/// A notice and what each notifier did with it.
#[derive(Debug, Clone)]
pub struct SentNotice {
    /// The notice.
    pub notice: Notice,
    /// One result per configured notifier; empty when no notifier is configured.
    pub deliveries: Vec<Delivery>,
}

impl SentNotice {
    /// Returns whether at least one notifier delivered the notice. With no notifier
    /// configured no one heard of it, so the alert state keeps the notice due for the next
    /// run.
    pub fn is_delivered(&self) -> bool {
        self.deliveries.iter().any(Delivery::is_delivered)
    }

    /// Returns whether the notice had nowhere to go because no notifier is configured.
    pub fn has_no_notifier(&self) -> bool {
        self.deliveries.is_empty()
    }
}

impl Monitor {
    /// A monitor for `config` that reads backups through [`DirectoryCatalog`].
    pub fn new(config: &Config) -> Monitor {
        Monitor {
            config: config.clone(),
            api: ApiClient::new(&config.api),
            catalog: Box::new(DirectoryCatalog),
            delivery: DeliveryPolicy::default(),
        }
    }

    /// Replaces the source of backup listings.
    pub fn with_catalog(mut self, catalog: Box<dyn BackupCatalog>) -> Monitor {
        self.catalog = catalog;
        self
    }

    /// Replaces the timeouts and retries of notifier deliveries.
    pub fn with_delivery_policy(mut self, policy: DeliveryPolicy) -> Monitor {
        self.delivery = policy;
        self
    }

    /// Logins to the backend so far (at first use, before a token expires and after a 401).
    pub fn logins(&self) -> u32 {
        self.api.logins()
    }

    /// Runs one check. `now` is the time the result is judged at, such as a backup's age.
    pub fn check(&mut self, name: CheckName, now: DateTime<Utc>) -> CheckResult {
        tracing::debug!(check = %name, "running check");
        let result = match name {
            CheckName::ApiHealth => checks::api_health::run(&self.api, &self.config, now),
            CheckName::LowStock => checks::low_stock::run(&mut self.api, &self.config, now),
            CheckName::BackupStatus => {
                checks::backup_status::run(self.catalog.as_ref(), &self.config, now)
            }
            CheckName::DiskSpace => {
                checks::disk_space::run(self.catalog.as_ref(), &self.config, now)
            }
            CheckName::Database => checks::database::run(&self.config, now),
        };
        tracing::debug!(check = %name, level = %result.level, summary = %result.summary, "check done");
        result
    }

    /// Runs every check.
    pub fn report(&mut self, now: DateTime<Utc>) -> Report {
        let checks = CheckName::ALL.into_iter().map(|name| self.check(name, now)).collect();
        Report { timestamp: now, checks }
    }

    /// Runs one monitoring cycle: every check, then the alert state update and the notices
    /// due, under the state lock.
    ///
    /// # Errors
    ///
    /// Returns an error when the alert state cannot be locked, read or written. Notifier
    /// failures are not errors: they are in the returned deliveries. A notice counts as
    /// delivered only when a notifier delivered it ([`SentNotice::is_delivered`]). With no
    /// notifier configured it stays due. A notifier added later then gets the FIRING notice
    /// and, after the recovery, the RESOLVED one.
    pub fn cycle(
        &mut self,
        store: &mut AlertStore,
        now: DateTime<Utc>,
    ) -> Result<CycleReport, MonitorError> {
        let report = self.report(now);
        let rules = AlertRules::from_config(&self.config.monitor);

        let _lock = store.lock()?;
        store.reload()?;
        let due = store.evaluate(&report.checks, rules, now);
        let mut notices = Vec::new();
        for notice in due {
            let sent = SentNotice { deliveries: self.send(&notice), notice };
            store.record(&sent.notice, sent.is_delivered(), now);
            notices.push(sent);
        }
        store.save()?;
        Ok(CycleReport { report, notices })
    }

    /// Sends a test notice through every configured notifier.
    pub fn test_notify(&self, now: DateTime<Utc>) -> Vec<Delivery> {
        self.send(&Notice::test(now))
    }

    fn send(&self, notice: &Notice) -> Vec<Delivery> {
        let deliveries = notify::deliver_all(&self.config.monitor.notifiers, notice, self.delivery);
        for delivery in deliveries.iter().filter(|delivery| !delivery.is_delivered()) {
            tracing::debug!(
                notifier = %delivery.notifier,
                check = %notice.check,
                kind = ?notice.kind,
                error = delivery.error.as_deref().unwrap_or_default(),
                "notifier failed"
            );
        }
        deliveries
    }
}

/// Runs one monitoring cycle for `config`: the entry point for the scheduler's health job.
///
/// Equivalent to `Monitor::new(config).cycle(store, now)`; callers that run cycles
/// repeatedly should keep a [`Monitor`] to reuse its API token.
///
/// # Errors
///
/// Returns an error when the alert state cannot be locked, read or written.
pub fn run_cycle(
    config: &Config,
    store: &mut AlertStore,
    now: DateTime<Utc>,
) -> Result<CycleReport, MonitorError> {
    Monitor::new(config).cycle(store, now)
}
