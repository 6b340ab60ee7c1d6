//! Integration tests of invguard-monitor against real HTTP servers on 127.0.0.1, real files
//! and a real state directory.

#[path = "monitor/backend.rs"]
mod backend;
#[path = "monitor/receiver.rs"]
mod receiver;
#[path = "monitor/support.rs"]
mod support;

#[path = "monitor/alerting.rs"]
mod alerting;
#[path = "monitor/api_health.rs"]
mod api_health;
#[path = "monitor/authentication.rs"]
mod authentication;
#[path = "monitor/local_checks.rs"]
mod local_checks;
#[path = "monitor/low_stock.rs"]
mod low_stock;
#[path = "monitor/notifiers.rs"]
mod notifiers;
