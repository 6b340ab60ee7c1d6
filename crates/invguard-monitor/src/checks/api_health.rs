//! `api_health`: `GET {API_URL}/health` must answer 2xx, quickly, with a healthy body.

use chrono::{DateTime, Utc};
use invguard_config::Config;
use serde_json::Value;

use crate::auth::{ApiClient, ApiFailure};
use crate::checks::round;
use crate::{CheckName, CheckResult, Level, Metric};

/// Values of a top-level `status` field that mean the backend reports itself unhealthy.
const UNHEALTHY_STATUS_VALUES: [&str; 5] = ["error", "unhealthy", "fail", "failed", "down"];

pub(crate) fn run(api: &ApiClient, config: &Config, now: DateTime<Utc>) -> CheckResult {
    let threshold_ms = config.monitor.api_response_time_ms;
    let base = |level, summary: String| {
        CheckResult::new(CheckName::ApiHealth, level, summary)
            .at(now)
            .threshold("api_response_time_ms", threshold_ms)
    };

    let response = match api.get_public("/health") {
        Ok(response) => response,
        Err(failure) => {
            let summary = format!("backend unreachable: {failure}");
            let reason = match &failure {
                ApiFailure::Http { failure, .. } => failure.to_string(),
                ApiFailure::Auth(reason) => reason.clone(),
            };
            return base(Level::Critical, summary)
                .detail("status", "unhealthy")
                .detail("error", reason);
        }
    };

    let elapsed_ms = round(response.elapsed.as_secs_f64() * 1000.0, 1);
    let (level, summary) = judge(response.status, &response.body, elapsed_ms, config);
    let healthy = if level == Level::Critical { "unhealthy" } else { "healthy" };
    base(level, summary)
        .detail("status", healthy)
        .detail("response_time_ms", elapsed_ms)
        .detail("status_code", response.status)
        .metric(
            Metric::new("response_time", elapsed_ms, "ms")
                .warn(threshold_ms as f64)
                .range(Some(0.0), None),
        )
}

fn judge(status: u16, body: &[u8], elapsed_ms: f64, config: &Config) -> (Level, String) {
    if !(200..300).contains(&status) {
        return (Level::Critical, format!("GET /health returned HTTP {status}"));
    }
    if let Some(problem) = body_problem(body, config) {
        return (Level::Critical, format!("GET /health returned HTTP {status} but {problem}"));
    }

    let threshold_ms = config.monitor.api_response_time_ms;
    if elapsed_ms > threshold_ms as f64 {
        let summary = format!("backend answered in {elapsed_ms} ms, above {threshold_ms} ms");
        return (Level::Warning, summary);
    }
    (Level::Ok, format!("backend answered HTTP {status} in {elapsed_ms} ms"))
}

/// Finds what makes a 2xx body unhealthy: a configured field with another value, or a
/// top-level `status` such as `"error"`.
fn body_problem(body: &[u8], config: &Config) -> Option<String> {
    let document: Option<Value> = serde_json::from_slice(body).ok();

    if let Some(field) = &config.api.health_expect_field {
        let expected = config.api.health_expect_value.as_deref().unwrap_or("ok");
        let Some(document) = &document else {
            return Some(format!("the body is not JSON, expected {field:?} = {expected:?}"));
        };
        let found = field.split('.').try_fold(document, |value, key| value.get(key));
        return match found {
            None => Some(format!("the body has no field {field:?}")),
            Some(value) if json_text(value) == expected => None,
            Some(value) => Some(format!("{field:?} is {value}, expected {expected:?}")),
        };
    }

    let status = document.as_ref()?.get("status")?.as_str()?;
    let unhealthy = UNHEALTHY_STATUS_VALUES.iter().any(|bad| status.eq_ignore_ascii_case(bad));
    unhealthy.then(|| format!("the body reports status {status:?}"))
}

/// A JSON value as text, strings without their quotes.
fn json_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
