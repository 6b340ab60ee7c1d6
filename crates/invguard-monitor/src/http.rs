//! A small HTTP client over ureq: timeouts, a body size cap, and redirects followed only
//! within the same host.
//!
//! ureq cannot restrict redirects by host, so its own redirect handling is off and
//! [`HttpClient::send`] follows same-origin redirects itself. A redirect to another origin
//! is a failure: the request may carry a bearer token, and a webhook URL is itself a secret.

use std::fmt;
use std::time::{Duration, Instant};

use invguard_config::Secret;
use ureq::http::{self, Uri};

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("invguard-cron-monitor/", env!("CARGO_PKG_VERSION"));

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Timeouts and body cap of a client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpLimits {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_body_bytes: u64,
}

/// The HTTP methods the monitor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// One request. The bearer token and the URL may be secrets and are never logged here.
#[derive(Debug)]
pub(crate) struct HttpRequest<'a> {
    pub method: Method,
    pub url: &'a str,
    pub bearer: Option<&'a Secret>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<(&'static str, Vec<u8>)>,
}

impl<'a> HttpRequest<'a> {
    pub fn get(url: &'a str) -> Self {
        HttpRequest { method: Method::Get, url, bearer: None, headers: Vec::new(), body: None }
    }

    pub fn post_json(url: &'a str, body: &serde_json::Value) -> Self {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        HttpRequest {
            method: Method::Post,
            url,
            bearer: None,
            headers: Vec::new(),
            body: Some(("application/json", bytes)),
        }
    }

    pub fn post_text(url: &'a str, text: String) -> Self {
        HttpRequest {
            method: Method::Post,
            url,
            bearer: None,
            headers: Vec::new(),
            body: Some(("text/plain; charset=utf-8", text.into_bytes())),
        }
    }

    pub fn bearer(mut self, token: Option<&'a Secret>) -> Self {
        self.bearer = token;
        self
    }

    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A complete response with its body read (up to the cap).
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub elapsed: Duration,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after: Option<Duration>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request got no complete response. The messages never contain the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HttpFailure {
    Timeout,
    ConnectionRefused,
    HostNotFound,
    Tls(String),
    BodyTooLarge(u64),
    Redirect(String),
    InvalidUrl,
    Other(String),
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailure::Timeout => f.write_str("timed out"),
            HttpFailure::ConnectionRefused => f.write_str("connection refused"),
            HttpFailure::HostNotFound => f.write_str("host not found (DNS lookup failed)"),
            HttpFailure::Tls(detail) => write!(f, "TLS error: {detail}"),
            HttpFailure::BodyTooLarge(limit) => {
                write!(f, "response body larger than the limit of {limit} bytes")
            }
            HttpFailure::Redirect(detail) => f.write_str(detail),
            HttpFailure::InvalidUrl => f.write_str("invalid URL"),
            HttpFailure::Other(detail) => f.write_str(detail),
        }
    }
}

/// The HTTP client shared by the checks and the notifiers.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    max_body_bytes: u64,
}

impl HttpClient {
    pub fn new(limits: HttpLimits) -> HttpClient {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(USER_AGENT)
            .timeout_connect(Some(limits.connect_timeout))
            .timeout_recv_response(Some(limits.read_timeout))
            .timeout_recv_body(Some(limits.read_timeout))
            .build();
        HttpClient { agent: config.new_agent(), max_body_bytes: limits.max_body_bytes }
    }

    /// Sends the request, following same-origin redirects, and reads the body up to the cap.
    pub fn send(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpFailure> {
        let started = Instant::now();
        let origin: Uri = request.url.parse().map_err(|_| HttpFailure::InvalidUrl)?;
        let mut uri = origin.clone();
        let mut method = request.method;
        let mut with_body = true;

        for _ in 0..=MAX_REDIRECTS {
            let mut response = self.send_once(request, &uri, method, with_body)?;
            let status = response.status().as_u16();
            let location = redirect_location(&response);
            if let (true, Some(location)) = (is_redirect(status), location) {
                uri = resolve_redirect(&uri, &location)?;
                check_same_origin(&origin, &uri)?;
                if matches!(status, 301..=303) {
                    method = Method::Get;
                    with_body = false;
                }
                tracing::trace!(status, "following a same-origin redirect");
                continue;
            }

            let retry_after = retry_after(&response);
            let body = response
                .body_mut()
                .with_config()
                .limit(self.max_body_bytes)
                .read_to_vec()
                .map_err(classify)?;
            let elapsed = started.elapsed();
            return Ok(HttpResponse { status, body, elapsed, retry_after });
        }
        Err(HttpFailure::Redirect(format!("more than {MAX_REDIRECTS} redirects")))
    }

    fn send_once(
        &self,
        request: &HttpRequest<'_>,
        uri: &Uri,
        method: Method,
        with_body: bool,
    ) -> Result<http::Response<ureq::Body>, HttpFailure> {
        let method_name = match method {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
        };
        let mut builder = http::Request::builder().method(method_name).uri(uri.clone());
        if let Some(token) = request.bearer {
            builder = builder.header("Authorization", format!("Bearer {}", token.expose()));
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }

        let body = match (&request.body, with_body) {
            (Some((content_type, bytes)), true) => {
                builder = builder.header("Content-Type", *content_type);
                bytes.clone()
            }
            _ => Vec::new(),
        };
        let built = builder.body(body).map_err(|_| HttpFailure::InvalidUrl)?;
        self.agent.run(built).map_err(classify)
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn redirect_location(response: &http::Response<ureq::Body>) -> Option<String> {
    let value = response.headers().get(http::header::LOCATION)?;
    value.to_str().ok().map(str::to_owned)
}

fn retry_after(response: &http::Response<ureq::Body>) -> Option<Duration> {
    let value = response.headers().get(http::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Resolves a redirect's `Location` value against the URL that returned it: an absolute URL, a
/// scheme-relative `//host/path`, an absolute path, or a path relative to the base's directory.
/// Returns `None` for a value that does not form a valid URL.
pub fn resolve_location(base: &Uri, location: &str) -> Option<Uri> {
    if location.contains("://") {
        return location.parse().ok();
    }
    let scheme = base.scheme_str()?;
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}").parse().ok();
    }

    let authority = base.authority()?.as_str();
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let base_path = base.path();
        let directory = &base_path[..=base_path.rfind('/').unwrap_or(0)];
        format!("{directory}{location}")
    };
    format!("{scheme}://{authority}{path}").parse().ok()
}

/// Returns true when both URLs have the same scheme, host and port, the only redirects the
/// product follows.
pub fn same_origin(origin: &Uri, target: &Uri) -> bool {
    (origin.scheme(), origin.host(), origin.port_u16())
        == (target.scheme(), target.host(), target.port_u16())
}

fn resolve_redirect(base: &Uri, location: &str) -> Result<Uri, HttpFailure> {
    resolve_location(base, location)
        .ok_or_else(|| HttpFailure::Redirect("redirect with an invalid Location header".into()))
}

fn check_same_origin(origin: &Uri, target: &Uri) -> Result<(), HttpFailure> {
    if same_origin(origin, target) {
        return Ok(());
    }
    let host = target.host().unwrap_or("?");
    let place = match target.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Err(HttpFailure::Redirect(format!("redirect to another host ({place}) not followed")))
}

/// Maps a ureq error to a failure whose text never contains the URL.
fn classify(error: ureq::Error) -> HttpFailure {
    match error {
        ureq::Error::Timeout(_) => HttpFailure::Timeout,
        ureq::Error::HostNotFound => HttpFailure::HostNotFound,
        ureq::Error::ConnectionFailed => HttpFailure::ConnectionRefused,
        ureq::Error::BodyExceedsLimit(limit) => HttpFailure::BodyTooLarge(limit),
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => HttpFailure::InvalidUrl,
        ureq::Error::Tls(detail) => HttpFailure::Tls(detail.to_owned()),
        ureq::Error::Rustls(error) => HttpFailure::Tls(error.to_string()),
        ureq::Error::Io(error) => classify_io(&error),
        other => HttpFailure::Other(other.to_string()),
    }
}

fn classify_io(error: &std::io::Error) -> HttpFailure {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => HttpFailure::ConnectionRefused,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => HttpFailure::Timeout,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
            HttpFailure::Other("connection closed by the server".into())
        }
        // std's resolver reports a failed lookup with an uncategorized error of this text.
        _ if error.to_string().starts_with("failed to lookup address") => HttpFailure::HostNotFound,
        // The messages of std's I/O errors name no host or URL.
        _ => HttpFailure::Other(format!("I/O error: {error}")),
    }
}

/// Joins the API base URL and an endpoint path with exactly one slash between them.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_url_puts_one_slash() {
        assert_eq!(join_url("http://h/api/", "/health"), "http://h/api/health");
        assert_eq!(join_url("http://h/api", "items"), "http://h/api/items");
    }

    #[test]
    fn resolve_location_handles_every_form() {
        let base: Uri = "http://127.0.0.1:9/ping/abc/fail".parse().unwrap();
        let resolved = |location| resolve_location(&base, location).unwrap().to_string();

        assert_eq!(resolved("/v2/ping"), "http://127.0.0.1:9/v2/ping");
        assert_eq!(resolved("done"), "http://127.0.0.1:9/ping/abc/done");
        assert_eq!(resolved("//localhost:9/ping"), "http://localhost:9/ping");
        assert_eq!(resolved("https://127.0.0.1/x"), "https://127.0.0.1/x");
    }

    #[test]
    fn resolve_redirect_handles_relative_paths() {
        let base: Uri = "http://127.0.0.1:9/api/health".parse().unwrap();
        assert_eq!(resolve_redirect(&base, "/v2/health").unwrap(), "http://127.0.0.1:9/v2/health");
        assert_eq!(resolve_redirect(&base, "status").unwrap(), "http://127.0.0.1:9/api/status");
    }

    #[test]
    fn check_same_origin_rejects_other_port() {
        let origin: Uri = "http://127.0.0.1:9/a".parse().unwrap();
        let other: Uri = "http://127.0.0.1:10/a".parse().unwrap();
        let error = check_same_origin(&origin, &other).unwrap_err();
        assert_eq!(error.to_string(), "redirect to another host (127.0.0.1:10) not followed");
    }
}
