//! Dead-man's-switch pings in the Healthchecks convention: `URL/start` when a run starts,
//! `URL` when it succeeds, `URL/fail` with a short text body when it fails.
//!
//! The URL is a secret (it carries the check's token), so it never reaches a log line;
//! failures are logged with the job name only.
//!
//! Redirects are followed only to the same scheme, host name and port, because a redirect to
//! another host would hand the token to it. ureq cannot restrict redirects by host, so its own
//! redirect handling is off and [`post`] follows redirects itself. Host names are compared as
//! written: `localhost` and `127.0.0.1` are different hosts.

use std::time::{Duration, Instant};

use invguard_config::Secret;
use invguard_monitor::{resolve_location, same_origin};
use ureq::http::{Uri, header};

/// Time limit of one ping, connection and redirects included.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest body sent with a failure ping, in bytes.
const MAX_BODY_BYTES: usize = 1000;

/// Same-host redirects followed before the ping counts as failed.
const MAX_REDIRECTS: usize = 5;

/// The reason a ping failed when a redirect leads to another host.
const OTHER_HOST: &str = "redirect to another host, not followed";

/// Kind of ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// The run started.
    Start,
    /// The run succeeded.
    Success,
    /// The run failed.
    Fail,
}

/// Sends one ping; a failure is logged and otherwise ignored, because monitoring must not
/// stop a backup.
pub fn send(job: &str, url: &Secret, ping: Ping, body: &str) {
    let base = url.expose().trim_end_matches('/');
    let target = match ping {
        Ping::Start => format!("{base}/start"),
        Ping::Success => base.to_owned(),
        Ping::Fail => format!("{base}/fail"),
    };

    match post(&target, truncate(body, MAX_BODY_BYTES)) {
        Ok(()) => tracing::debug!(job, ping = ?ping, "ping sent"),
        Err(reason) => tracing::warn!(job, ping = ?ping, error = %reason, "ping failed"),
    }
}

/// POSTs `body` to `target`, following same-host redirects, within [`PING_TIMEOUT`] in all.
/// A 301, 302 or 303 redirect turns the request into a GET without body, as most HTTP clients do.
///
/// # Errors
///
/// A reason that names neither the URL nor the redirect target: an error status, a redirect
/// to another host, a timeout or a connection failure.
fn post(target: &str, body: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .build()
        .into();
    let deadline = Instant::now() + PING_TIMEOUT;
    let origin: Uri = target.parse().map_err(|_| "invalid URL".to_owned())?;
    let mut uri = origin.clone();
    let mut method_post = true;

    for _ in 0..=MAX_REDIRECTS {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".to_owned());
        }
        let response = if method_post {
            let request = agent.post(&uri).config().timeout_global(Some(left)).build();
            request.content_type("text/plain; charset=utf-8").send(body)
        } else {
            agent.get(&uri).config().timeout_global(Some(left)).build().call()
        };
        let response = response.map_err(|error| error_kind(&error))?;

        let status = response.status().as_u16();
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return match status {
                200..=299 => Ok(()),
                _ => Err(format!("HTTP status {status}")),
            };
        }
        let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
        let location = location.ok_or_else(|| format!("HTTP status {status} without Location"))?;
        let next = resolve_location(&uri, location)
            .ok_or_else(|| "invalid redirect Location".to_owned())?;
        if !same_origin(&origin, &next) {
            return Err(OTHER_HOST.to_owned());
        }
        if matches!(status, 301..=303) {
            method_post = false;
        }
        uri = next;
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// Describes a ureq error without its text, which may contain the URL.
fn error_kind(error: &ureq::Error) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("HTTP status {code}"),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::Io(io) => format!("I/O error: {}", io.kind()),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        _ => "request failed".to_owned(),
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A request line and body that the test server received.
    type Seen = Arc<Mutex<Vec<(String, String)>>>;

    /// Serves every request on 127.0.0.1 with the next of `responses` (the last one repeats)
    /// and records its request line and body.
    fn serve(responses: Vec<String>) -> (String, Seen) {
        serve_on(TcpListener::bind("127.0.0.1:0").unwrap(), responses)
    }

    fn serve_on(listener: TcpListener, responses: Vec<String>) -> (String, Seen) {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let recorded = Arc::clone(&seen);
        std::thread::spawn(move || {
            for (index, stream) in listener.incoming().enumerate() {
                let mut stream = stream.unwrap();
                let (line, body) = read_request(&mut stream);
                recorded.lock().unwrap().push((line, body));
                let response = &responses[index.min(responses.len() - 1)];
                stream.write_all(response.as_bytes()).unwrap();
            }
        });
        (base, seen)
    }

    fn read_request(stream: &mut std::net::TcpStream) -> (String, String) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header == "\r\n" {
                break;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (request_line.trim().to_owned(), String::from_utf8(body).unwrap())
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nOK";

    fn redirect(status: &str, location: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n"
        )
    }

    fn lines(seen: &Seen) -> Vec<String> {
        seen.lock().unwrap().iter().map(|(line, _)| line.clone()).collect()
    }

    #[test]
    fn send_follows_healthchecks_paths() {
        let (base, seen) = serve(vec![OK.to_owned()]);
        let secret = Secret::new(format!("{base}/ping/abc"));

        send("backup", &secret, Ping::Start, "");
        send("backup", &secret, Ping::Success, "");
        send("backup", &secret, Ping::Fail, "exit status 1");

        assert_eq!(
            lines(&seen),
            [
                "POST /ping/abc/start HTTP/1.1",
                "POST /ping/abc HTTP/1.1",
                "POST /ping/abc/fail HTTP/1.1"
            ]
        );
        assert_eq!(seen.lock().unwrap()[2].1, "exit status 1");
    }

    #[test]
    fn send_rejects_redirect_to_other_port() {
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = format!("http://{}/ping/abc/fail", elsewhere.local_addr().unwrap());
        let (base, seen) = serve(vec![redirect("302 Found", &target)]);
        let secret = Secret::new(format!("{base}/ping/abc"));

        send("backup", &secret, Ping::Fail, "exit status 1");

        assert_eq!(lines(&seen), ["POST /ping/abc/fail HTTP/1.1"]);
        elsewhere.set_nonblocking(true).unwrap();
        let connection = elsewhere.accept();
        assert!(connection.is_err(), "the redirect to another port was followed");
    }

    #[test]
    fn send_rejects_redirect_to_localhost() {
        // The same server under the name `localhost`, which is another host.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let location = format!("http://localhost:{port}/ping/abc");
        let (base, seen) = serve_on(listener, vec![redirect("302 Found", &location), OK.into()]);
        let secret = Secret::new(format!("{base}/ping/abc"));

        send("backup", &secret, Ping::Success, "");

        assert_eq!(lines(&seen), ["POST /ping/abc HTTP/1.1"]);
    }

    #[test]
    fn post_names_redirect_to_other_host() {
        let (base, _seen) = serve(vec![redirect("301 Moved Permanently", "https://127.0.0.1/")]);

        let outcome = post(&format!("{base}/ping/abc"), "");

        assert_eq!(outcome, Err("redirect to another host, not followed".to_owned()));
    }

    #[test]
    fn send_follows_same_host_redirects() {
        let (base, seen) = serve(vec![
            redirect("308 Permanent Redirect", "/v2/ping/abc/fail"),
            redirect("303 See Other", "done"),
            OK.to_owned(),
        ]);

        let outcome = post(&format!("{base}/ping/abc/fail"), "exit status 1");

        assert_eq!(outcome, Ok(()));
        assert_eq!(
            lines(&seen),
            [
                "POST /ping/abc/fail HTTP/1.1",
                "POST /v2/ping/abc/fail HTTP/1.1",
                "GET /v2/ping/abc/done HTTP/1.1"
            ]
        );
        let bodies: Vec<_> = seen.lock().unwrap().iter().map(|(_, body)| body.clone()).collect();
        assert_eq!(bodies, ["exit status 1", "exit status 1", ""]);
    }

    #[test]
    fn post_reports_error_status() {
        let response = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        let (base, _seen) = serve(vec![response.to_owned()]);

        assert_eq!(post(&format!("{base}/ping/abc"), ""), Err("HTTP status 404".to_owned()));
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        assert_eq!(truncate("ääää", 3), "ä");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
