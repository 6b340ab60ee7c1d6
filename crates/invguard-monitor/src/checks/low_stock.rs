//! `low_stock`: the share of items at or below their minimum quantity.
//!
//! `/items` is only counted, never collected: the count streams over the array, or uses the
//! envelope's `total` when the backend sends one.

use std::fmt;

use chrono::{DateTime, Utc};
use invguard_config::Config;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::auth::{ApiClient, ApiFailure};
use crate::checks::round;
use crate::http::{HttpFailure, HttpResponse};
use crate::{CheckName, CheckResult, Level, Metric};

const LOW_STOCK_PATH: &str = "/analytics/low-stock";
const ITEMS_PATH: &str = "/items";

/// Field names accepted for an item's minimum quantity, in order of preference.
const MINIMUM_FIELDS: [&str; 5] =
    ["min_quantity", "minimum", "min_stock", "reorder_level", "low_stock_threshold"];

pub(crate) fn run(api: &mut ApiClient, config: &Config, now: DateTime<Utc>) -> CheckResult {
    let threshold = config.monitor.low_stock_percentage;
    let base = |level, summary: String| {
        CheckResult::new(CheckName::LowStock, level, summary)
            .at(now)
            .threshold("low_stock_percentage", threshold)
            .threshold("low_stock_max_items", config.monitor.low_stock_max_items)
    };

    let low_stock = match fetch(api, LOW_STOCK_PATH, now).and_then(|response| {
        parse_low_stock(&response.body).map_err(|problem| problem.for_endpoint(LOW_STOCK_PATH))
    }) {
        Ok(items) => items,
        Err(problem) => return base(problem.level, problem.summary),
    };
    let total = match fetch(api, ITEMS_PATH, now).and_then(|response| {
        count_items(&response.body).map_err(|problem| problem.for_endpoint(ITEMS_PATH))
    }) {
        Ok(total) => total,
        Err(problem) => return base(problem.level, problem.summary),
    };

    let count = low_stock.len() as u64;
    let ratio = if total == 0 { 0.0 } else { count as f64 / total as f64 };
    let alert = ratio > threshold;
    let percent = round(ratio * 100.0, 1);
    let (level, summary) = if total == 0 {
        (Level::Ok, "the inventory has no items".to_owned())
    } else if alert {
        let limit = round(threshold * 100.0, 1);
        (
            Level::Warning,
            format!("{count} of {total} items ({percent}%) are low on stock, above {limit}%"),
        )
    } else {
        (Level::Ok, format!("{count} of {total} items ({percent}%) are low on stock"))
    };

    let listed: Vec<Value> =
        low_stock.into_iter().take(config.monitor.low_stock_max_items).collect();
    base(level, summary)
        .detail("low_stock_count", count)
        .detail("total_items", total)
        .detail("low_stock_percentage", round(ratio, 4))
        .detail("items_listed", listed.len())
        .detail("items", listed)
        .metric(
            Metric::new("low_stock_items", count as f64, "").range(Some(0.0), Some(total as f64)),
        )
        .metric(
            Metric::new("low_stock_ratio", percent, "%")
                .warn(round(threshold * 100.0, 2))
                .range(Some(0.0), Some(100.0)),
        )
}

/// A reason the check could not compute the ratio, with the level it maps to.
#[derive(Debug)]
struct Problem {
    level: Level,
    summary: String,
}

impl Problem {
    fn unknown(summary: String) -> Problem {
        Problem { level: Level::Unknown, summary }
    }

    /// Prefixes a parse problem with the endpoint it came from.
    fn for_endpoint(self, path: &str) -> Problem {
        Problem { level: self.level, summary: format!("GET {path} {}", self.summary) }
    }
}

fn fetch(api: &mut ApiClient, path: &str, now: DateTime<Utc>) -> Result<HttpResponse, Problem> {
    let response = api.get_authenticated(path, now).map_err(|failure| match failure {
        ApiFailure::Http { failure: HttpFailure::BodyTooLarge(_), .. } => {
            Problem::unknown(failure.to_string())
        }
        other => Problem { level: Level::Critical, summary: other.to_string() },
    })?;

    match response.status {
        200..=299 => Ok(response),
        403 => Err(Problem {
            level: Level::Critical,
            summary: format!("GET {path} returned HTTP 403: the account lacks permission"),
        }),
        status => Err(Problem {
            level: Level::Critical,
            summary: format!("GET {path} returned HTTP {status}"),
        }),
    }
}

/// Parses the low-stock list and reduces each item to id or SKU, name, quantity and minimum.
fn parse_low_stock(body: &[u8]) -> Result<Vec<Value>, Problem> {
    let document: Value = serde_json::from_slice(body).map_err(describe_json_error)?;
    let items = match &document {
        Value::Array(items) => items,
        Value::Object(envelope) => match envelope.get("items") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                let found = json_kind(other);
                return Err(Problem::unknown(format!(
                    "returned an envelope whose \"items\" is {found}, expected an array"
                )));
            }
            None => {
                let keys: Vec<&str> = envelope.keys().map(String::as_str).take(8).collect();
                return Err(Problem::unknown(format!(
                    "returned an object without \"items\" (keys: {}), expected an array",
                    keys.join(", ")
                )));
            }
        },
        other => {
            let found = json_kind(other);
            return Err(Problem::unknown(format!("returned {found}, expected an array")));
        }
    };

    items.iter().enumerate().map(|(index, item)| summarize_item(index, item)).collect()
}

fn summarize_item(index: usize, item: &Value) -> Result<Value, Problem> {
    let Value::Object(fields) = item else {
        let found = json_kind(item);
        return Err(Problem::unknown(format!(
            "returned {found} as item {index}, expected an object"
        )));
    };
    let minimum = MINIMUM_FIELDS.iter().find_map(|key| fields.get(*key)).cloned();

    let mut summary = Map::new();
    match fields.get("sku") {
        Some(sku) if !sku.is_null() => summary.insert("sku".into(), sku.clone()),
        _ => summary.insert("id".into(), fields.get("id").cloned().unwrap_or(Value::Null)),
    };
    summary.insert("name".into(), fields.get("name").cloned().unwrap_or(Value::Null));
    summary.insert("quantity".into(), fields.get("quantity").cloned().unwrap_or(Value::Null));
    summary.insert("minimum".into(), minimum.unwrap_or(Value::Null));
    Ok(Value::Object(summary))
}

/// Counts the items of `/items` without keeping them in memory.
fn count_items(body: &[u8]) -> Result<u64, Problem> {
    let count: ItemCount = serde_json::from_slice(body).map_err(describe_json_error)?;
    Ok(count.0)
}

fn describe_json_error(error: serde_json::Error) -> Problem {
    let description = if error.is_data() { "an unexpected shape" } else { "malformed JSON" };
    Problem::unknown(format!("returned {description}: {error}"))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The number of items: the envelope's `total` when present, else the array length.
struct ItemCount(u64);

impl<'de> Deserialize<'de> for ItemCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemCountVisitor)
    }
}

struct ItemCountVisitor;

impl<'de> Visitor<'de> for ItemCountVisitor {
    type Value = ItemCount;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON array or an object with an \"items\" array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemCount, A::Error> {
        let mut count = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(ItemCount(count))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemCount, A::Error> {
        let mut listed = None;
        let mut total = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "items" => listed = Some(map.next_value::<ArrayLength>()?.0),
                "total" | "total_count" => total = map.next_value::<Option<u64>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (total, listed) {
            (_, None) => Err(serde::de::Error::custom("object without an \"items\" array")),
            (Some(total), Some(_)) => Ok(ItemCount(total)),
            (None, Some(listed)) => Ok(ItemCount(listed)),
        }
    }
}

/// The length of a JSON array, counted without keeping its elements.
struct ArrayLength(u64);

impl<'de> Deserialize<'de> for ArrayLength {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ItemCount(count) = deserializer.deserialize_seq(ItemCountVisitor)?;
        Ok(ArrayLength(count))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn count_items_counts_plain_array() {
        assert_eq!(count_items(br#"[{"id": 1}, {"id": 2}, 3]"#).unwrap(), 3);
    }

    #[test]
    fn count_items_prefers_envelope_total() {
        assert_eq!(count_items(br#"{"items": [{"id": 1}], "total": 40}"#).unwrap(), 40);
        assert_eq!(count_items(br#"{"page": 1, "items": [{}, {}]}"#).unwrap(), 2);
    }

    #[test]
    fn count_items_rejects_envelope_without_items() {
        let problem = count_items(br#"{"data": []}"#).unwrap_err();
        assert_eq!(problem.level, Level::Unknown);
        assert!(problem.summary.contains("without an \"items\" array"), "{}", problem.summary);
    }

    #[test]
    fn count_items_rejects_string() {
        let problem = count_items(br#""nope""#).unwrap_err();
        assert!(problem.summary.starts_with("returned an unexpected shape"), "{}", problem.summary);
    }

    #[test]
    fn parse_low_stock_reduces_items() {
        let body = json!([{"id": 7, "sku": "A-1", "name": "Bolt", "quantity": 2, "min_stock": 10}]);
        let items = parse_low_stock(body.to_string().as_bytes()).unwrap();
        assert_eq!(items, [json!({"sku": "A-1", "name": "Bolt", "quantity": 2, "minimum": 10})]);
    }

    #[test]
    fn parse_low_stock_names_non_object_item() {
        let problem = parse_low_stock(b"[1]").unwrap_err();
        assert_eq!(problem.summary, "returned a number as item 0, expected an object");
    }
}
