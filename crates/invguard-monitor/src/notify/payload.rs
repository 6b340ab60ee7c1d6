//! The request each notifier kind expects: generic JSON, Slack, Discord, Teams Adaptive Card
//! and ntfy.

use std::time::Duration;

use chrono::SecondsFormat;
use invguard_config::{NotifierConfig, Secret};
use serde_json::{Value, json};

use super::{Notice, NoticeKind};
use crate::Level;
use crate::http::{HttpRequest, HttpResponse};

/// `format_version` of the generic webhook payload.
pub const WEBHOOK_FORMAT_VERSION: u32 = 1;

/// Maximum length of a Discord message's `content`, in characters.
const DISCORD_CONTENT_LIMIT: usize = 2000;

/// A request built for one notifier; the URL and token stay secrets until sent.
#[derive(Debug)]
pub(super) struct NotifierRequest<'a> {
    url: &'a Secret,
    token: Option<&'a Secret>,
    body: Body,
    headers: Vec<(&'static str, String)>,
}

#[derive(Debug)]
enum Body {
    Json(Value),
    Text(String),
}

impl NotifierRequest<'_> {
    pub(super) fn as_request(&self) -> HttpRequest<'_> {
        let mut request = match &self.body {
            Body::Json(value) => HttpRequest::post_json(self.url.expose(), value),
            Body::Text(text) => HttpRequest::post_text(self.url.expose(), text.clone()),
        };
        request = request.bearer(self.token);
        for (name, value) in &self.headers {
            request = request.header(name, value.clone());
        }
        request
    }
}

/// Builds the HTTP request for a notifier, or `None` for a kind that is not HTTP.
pub(super) fn http_request<'a>(
    notifier: &'a NotifierConfig,
    notice: &Notice,
    host: &str,
) -> Option<NotifierRequest<'a>> {
    let json = |url, value| NotifierRequest {
        url,
        token: None,
        body: Body::Json(value),
        headers: Vec::new(),
    };
    let request = match notifier {
        NotifierConfig::Webhook { url } => json(url, webhook_json(notice, host)),
        NotifierConfig::Slack { url } => json(url, json!({"text": message_text(notice, host)})),
        NotifierConfig::Discord { url } => json(url, discord_json(notice, host)),
        NotifierConfig::Teams { url } => json(url, teams_json(notice, host)),
        NotifierConfig::Ntfy { url, token } => ntfy_request(url, token.as_ref(), notice, host),
        _ => return None,
    };
    Some(request)
}

/// Builds the generic webhook payload, which command notifiers also get on stdin.
pub(super) fn webhook_json(notice: &Notice, host: &str) -> Value {
    json!({
        "format_version": WEBHOOK_FORMAT_VERSION,
        "source": "invguard-cron",
        "version": env!("CARGO_PKG_VERSION"),
        "host": host,
        "kind": notice.kind,
        "check": notice.check,
        "level": notice.level,
        "summary": notice.summary,
        "incident_id": notice.incident_id,
        "incident_started": notice.incident_started.to_rfc3339_opts(SecondsFormat::Secs, true),
        "time": notice.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "consecutive_failures": notice.consecutive_failures,
    })
}

/// `[FIRING] CRITICAL api_health on host`.
fn title(notice: &Notice, host: &str) -> String {
    match notice.kind {
        NoticeKind::Resolved | NoticeKind::Test => {
            format!("[{}] {} on {host}", notice.kind.as_str(), notice.check)
        }
        NoticeKind::Firing | NoticeKind::Reminder => {
            format!("[{}] {} {} on {host}", notice.kind.as_str(), notice.level, notice.check)
        }
    }
}

fn message_text(notice: &Notice, host: &str) -> String {
    let started = notice.incident_started.to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        "{}\n{}\nincident {} since {started}",
        title(notice, host),
        notice.summary,
        notice.incident_id
    )
}

fn discord_json(notice: &Notice, host: &str) -> Value {
    let text = message_text(notice, host);
    let content = if text.chars().count() > DISCORD_CONTENT_LIMIT {
        let mut cut: String = text.chars().take(DISCORD_CONTENT_LIMIT - 1).collect();
        cut.push('…');
        cut
    } else {
        text
    };
    // No @everyone or role pings from text that came from the backend.
    json!({"content": content, "allowed_mentions": {"parse": []}})
}

fn teams_json(notice: &Notice, host: &str) -> Value {
    let color = match (notice.kind, notice.level) {
        (NoticeKind::Resolved | NoticeKind::Test, _) | (_, Level::Ok) => "Good",
        (_, Level::Warning) => "Warning",
        _ => "Attention",
    };
    let started = notice.incident_started.to_rfc3339_opts(SecondsFormat::Secs, true);
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title(notice, host), "weight": "Bolder",
             "size": "Medium", "color": color, "wrap": true},
            {"type": "TextBlock", "text": notice.summary, "wrap": true},
            {"type": "FactSet", "facts": [
                {"title": "Check", "value": notice.check},
                {"title": "Level", "value": notice.level.as_str()},
                {"title": "Incident", "value": notice.incident_id},
                {"title": "Since", "value": started},
            ]},
        ],
    });
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

fn ntfy_request<'a>(
    url: &'a Secret,
    token: Option<&'a Secret>,
    notice: &Notice,
    host: &str,
) -> NotifierRequest<'a> {
    let (priority, tags) = match (notice.kind, notice.level) {
        (NoticeKind::Resolved, _) => ("3", "white_check_mark"),
        (NoticeKind::Test, _) => ("2", "test_tube"),
        (_, Level::Critical) => ("5", "rotating_light"),
        (_, Level::Unknown) => ("4", "question"),
        _ => ("4", "warning"),
    };
    // HTTP header values must be ASCII; the title keeps only printable ASCII characters.
    let header_title: String =
        title(notice, host).chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
    NotifierRequest {
        url,
        token,
        body: Body::Text(notice.summary.clone()),
        headers: vec![
            ("Title", header_title),
            ("Priority", priority.to_owned()),
            ("Tags", format!("invguard,{tags}")),
        ],
    }
}

/// Returns the delay a 429 response requests: Discord's JSON `retry_after` (seconds) or the
/// `Retry-After` header.
pub(super) fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let from_body = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|body| body.get("retry_after")?.as_f64())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(Duration::from_secs_f64);
    from_body.or(response.retry_after)
}

/// Returns the host name reported in notices.
pub(super) fn host_name() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn discord_json_caps_content_length() {
        let mut notice = Notice::test(Utc::now());
        notice.summary = "é".repeat(5000);
        let content = discord_json(&notice, "host")["content"].as_str().unwrap().to_owned();
        assert_eq!(content.chars().count(), DISCORD_CONTENT_LIMIT);
        assert!(content.ends_with('…'));
    }

    #[test]
    fn retry_after_prefers_discord_body() {
        let response = HttpResponse {
            status: 429,
            body: br#"{"message": "rate limited", "retry_after": 0.25}"#.to_vec(),
            elapsed: Duration::ZERO,
            retry_after: Some(Duration::from_secs(9)),
        };
        assert_eq!(retry_after(&response), Some(Duration::from_millis(250)));
    }
}
