//! `low_stock` against the test backend: ratios, envelopes, caps and malformed responses.

use invguard_monitor::{CheckName, Level};
use serde_json::json;

use crate::backend::{Backend, Fault};
use crate::support::{Fixture, t0};

#[test]
fn low_stock_below_threshold_is_ok() {
    let backend = Backend::start(100, 20);
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    assert_eq!(result.summary, "5 of 100 items (5%) are low on stock");
    assert_eq!(result.details["low_stock_count"], 5);
    assert_eq!(result.details["total_items"], 100);
    assert_eq!(result.details["low_stock_percentage"], 0.05);
    assert_eq!(
        result.details["items"][0],
        json!({"sku": "SKU-00000", "name": "Item 0", "quantity": 1, "minimum": 5})
    );
}

#[test]
fn low_stock_above_threshold_warns_and_caps_list() {
    let backend = Backend::start(100, 5);
    let mut fixture = Fixture::new(&backend);
    fixture.config.monitor.low_stock_max_items = 3;
    let result = fixture.monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Warning);
    assert_eq!(result.summary, "20 of 100 items (20%) are low on stock, above 10%");
    assert_eq!(result.details["items"].as_array().unwrap().len(), 3);
    assert_eq!(result.details["items_listed"], 3);
    assert_eq!(result.details["low_stock_count"], 20);
}

#[test]
fn low_stock_zero_items_is_ok() {
    let backend = Backend::start(0, 0);
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Ok);
    assert_eq!(result.summary, "the inventory has no items");
    assert_eq!(result.details["low_stock_percentage"], 0.0);
}

#[test]
fn low_stock_reads_envelopes() {
    let backend = Backend::start(40, 4);
    backend.state().envelope = true;
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Warning);
    assert_eq!(result.details["low_stock_count"], 10);
    assert_eq!(result.details["total_items"], 40);
}

#[test]
fn low_stock_malformed_json_is_unknown() {
    let backend = Backend::start(10, 2);
    backend.fault("/api/items", Fault::Body("[{\"id\": 1,".into()));
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Unknown);
    assert!(
        result.summary.starts_with("GET /items returned malformed JSON: "),
        "{}",
        result.summary
    );
}

#[test]
fn low_stock_wrong_shape_is_unknown() {
    let backend = Backend::start(10, 2);
    backend.fault("/api/analytics/low-stock", Fault::Body(json!({"data": []}).to_string()));
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Unknown);
    assert_eq!(
        result.summary,
        "GET /analytics/low-stock returned an object without \"items\" (keys: data), expected an array"
    );
}

#[test]
fn low_stock_items_of_wrong_type_is_unknown() {
    let backend = Backend::start(10, 2);
    backend.fault("/api/items", Fault::Body("\"ten\"".into()));
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Unknown);
    assert!(
        result
            .summary
            .starts_with("GET /items returned an unexpected shape: invalid type: string \"ten\""),
        "{}",
        result.summary
    );
}

#[test]
fn low_stock_http_500_is_critical() {
    let backend = Backend::start(10, 2);
    backend.fault("/api/items", Fault::Status(500, "{}".into()));
    let result = Fixture::new(&backend).monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(result.summary, "GET /items returned HTTP 500");
}

#[test]
fn low_stock_huge_body_is_unknown() {
    let backend = Backend::start(10, 2);
    backend.fault("/api/items", Fault::Huge(50 * 1024 * 1024));
    let mut fixture = Fixture::new(&backend);
    fixture.config.api.max_body_bytes = 2 * 1024 * 1024;
    let result = fixture.monitor().check(CheckName::LowStock, t0());

    assert_eq!(result.level, Level::Unknown);
    assert_eq!(result.summary, "GET /items: response body larger than the limit of 2097152 bytes");
}
