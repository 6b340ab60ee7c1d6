//! The checks. Each one returns a [`CheckResult`](crate::CheckResult) and never an error:
//! whatever goes wrong becomes a `CRITICAL` or `UNKNOWN` result that names the cause.

pub(crate) mod api_health;
pub(crate) mod backup_status;
pub(crate) mod database;
pub(crate) mod disk_space;
pub(crate) mod low_stock;

/// Bytes per mebibyte, for the `*_mb` report fields.
pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// Bytes per gibibyte, for the `*_gb` report fields.
pub(crate) const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Rounds a report value to `digits` decimals so reports stay readable.
pub(crate) fn round(value: f64, digits: i32) -> f64 {
    let factor = 10f64.powi(digits);
    (value * factor).round() / factor
}
