//! Dead-man's-switch pings in the Healthchecks convention: `URL/start` when a run starts,
//! `URL` when it succeeds, `URL/fail` with a short text body when it fails.
//!
//! The URL is a secret (it carries the check's token), so it never reaches a log line;
//! failures are logged with the job name only.

use std::time::Duration;

use invguard_config::Secret;

/// Time limit of one ping, connection included.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest body sent with a failure ping, in bytes.
const MAX_BODY_BYTES: usize = 1000;

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

    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(PING_TIMEOUT)).build().into();
    let body = truncate(body, MAX_BODY_BYTES);
    match agent.post(&target).content_type("text/plain; charset=utf-8").send(body) {
        Ok(_) => tracing::debug!(job, ping = ?ping, "ping sent"),
        Err(error) => {
            // The error text may contain the URL, so only its kind is logged.
            tracing::warn!(job, ping = ?ping, error = error_kind(&error), "ping failed");
        }
    }
}

fn error_kind(error: &ureq::Error) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("HTTP status {code}"),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::Io(io) => format!("I/O error: {}", io.kind()),
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

    use super::*;

    /// Serves `count` requests with 200 and returns each request line and body.
    fn serve(count: usize) -> (String, std::thread::JoinHandle<Vec<(String, String)>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/ping/abc", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for stream in listener.incoming().take(count) {
                let mut stream = stream.unwrap();
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
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK").unwrap();
                seen.push((request_line.trim().to_owned(), String::from_utf8(body).unwrap()));
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn send_follows_healthchecks_paths() {
        let (url, server) = serve(3);
        let secret = Secret::new(url);

        send("backup", &secret, Ping::Start, "");
        send("backup", &secret, Ping::Success, "");
        send("backup", &secret, Ping::Fail, "exit status 1");

        let seen = server.join().unwrap();
        let lines: Vec<_> = seen.iter().map(|(line, _)| line.as_str()).collect();
        assert_eq!(
            lines,
            [
                "POST /ping/abc/start HTTP/1.1",
                "POST /ping/abc HTTP/1.1",
                "POST /ping/abc/fail HTTP/1.1"
            ]
        );
        assert_eq!(seen[2].1, "exit status 1");
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        assert_eq!(truncate("ääää", 3), "ä");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
