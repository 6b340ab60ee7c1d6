//! Test helpers: a configuration in a temporary directory, an HTTP server on 127.0.0.1, and
//! the daemon as a child process with its JSON log lines.

#![allow(dead_code, reason = "each test module uses a different part of the helpers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Upper bound of every wait for the daemon; reaching it fails the test.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// A temporary directory with a configuration file for `backup_cron`.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("backups")).unwrap();
        TestDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state")
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.path().join("backups")
    }

    /// Writes the configuration without encryption: the common part, then `extra` TOML.
    pub fn write_config(&self, api_url: &str, extra: &str) {
        self.write_config_with("[encryption]\nmode = \"none\"", api_url, extra);
    }

    /// Writes the configuration with the given `[encryption]` section.
    pub fn write_config_with(&self, encryption: &str, api_url: &str, extra: &str) {
        let root = self.path().display();
        let text = format!(
            "timezone = \"UTC\"\n\
             [database]\npath = \"{root}/inventory.db\"\n\
             [backup]\ndir = \"{root}/backups\"\n\
             {encryption}\n\
             [state]\ndir = \"{root}/state\"\n\
             [api]\nurl = \"{api_url}\"\n\
             [daemon]\ngrace_period = \"2s\"\n\
             {extra}\n"
        );
        fs_err::write(self.config_path(), text).unwrap();
    }

    /// Creates the live database in WAL mode with `rows` rows of `blob_size` random bytes.
    pub fn create_database(&self, rows: usize, blob_size: usize) {
        let connection = rusqlite::Connection::open(self.path().join("inventory.db")).unwrap();
        connection.pragma_update(None, "journal_mode", "wal").unwrap();
        connection
            .execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, data BLOB)", [])
            .unwrap();
        for id in 0..rows {
            connection
                .execute(
                    "INSERT INTO items (name, data) VALUES (?1, randomblob(?2))",
                    rusqlite::params![format!("item {id}"), blob_size],
                )
                .unwrap();
        }
    }

    /// Names of the files in the backup directory.
    pub fn backup_files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs_err::read_dir(self.backup_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A command for the binary with this configuration and a clean environment.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_backup_cron"));
        command.env_clear();
        command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.arg("--config").arg(self.config_path());
        command
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Starts the daemon with JSON logs written to a file in the directory.
    pub fn start_daemon(&self, log_name: &str) -> Daemon {
        self.start_daemon_with_env(log_name, &[])
    }

    /// Starts the daemon with extra environment variables.
    pub fn start_daemon_with_env(&self, log_name: &str, env: &[(&str, &str)]) -> Daemon {
        let log_path = self.path().join(log_name);
        let log = fs_err::File::create(&log_path).unwrap();
        let child = self
            .command()
            .envs(env.iter().copied())
            .args(["--log-format", "json", "-v", "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log.into_parts().0))
            .spawn()
            .unwrap();
        Daemon { child, log_path }
    }
}

/// A running daemon and its log file.
pub struct Daemon {
    pub child: Child,
    log_path: PathBuf,
}

impl Daemon {
    /// The log lines so far, parsed.
    pub fn events(&self) -> Vec<Value> {
        let text = fs_err::read_to_string(&self.log_path).unwrap();
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }

    /// The raw log text.
    pub fn log_text(&self) -> String {
        fs_err::read_to_string(&self.log_path).unwrap()
    }

    /// Log events with this message.
    pub fn messages(&self, message: &str) -> Vec<Value> {
        self.events().into_iter().filter(|event| field(event, "message") == message).collect()
    }

    /// Waits until `predicate` holds for the log events; panics after [`WAIT_LIMIT`].
    pub fn wait_for(&self, what: &str, predicate: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let events = self.events();
            if predicate(&events) {
                return events;
            }
            if start.elapsed() > WAIT_LIMIT {
                panic!("timed out waiting for {what}; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for `count` events with `message` whose fields contain `fields`.
    pub fn wait_for_message(
        &self,
        message: &str,
        fields: &[(&str, &str)],
        count: usize,
    ) -> Vec<Value> {
        let matching = |events: &[Value]| -> Vec<Value> {
            events
                .iter()
                .filter(|event| field(event, "message") == message)
                .filter(|event| fields.iter().all(|(name, value)| field(event, name) == *value))
                .cloned()
                .collect()
        };
        let events = self.wait_for(&format!("{count} x {message:?} {fields:?}"), |events| {
            matching(events).len() >= count
        });
        matching(&events)
    }

    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Waits for the daemon to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if start.elapsed() > WAIT_LIMIT {
                let _ = self.child.kill();
                panic!("daemon did not exit; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A field of a JSON log event, from `fields` or the top level, as text.
pub fn field(event: &Value, name: &str) -> String {
    let value = event.get("fields").and_then(|fields| fields.get(name)).or_else(|| event.get(name));
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// How the test HTTP server answers.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// 200 with a small JSON body to every request.
    Healthy,
    /// 200 after a delay.
    Slow(Duration),
    /// Reads the request and never answers.
    Hang,
    /// 500 to every request.
    Failing,
}

/// An HTTP server on 127.0.0.1 that records request paths.
pub struct Server {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || answer(stream, behaviour, &seen));
            }
        });
        Server { url, requests }
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn answer(mut stream: TcpStream, behaviour: Behaviour, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
    seen.lock().unwrap().push(path);

    let (status, delay) = match behaviour {
        Behaviour::Healthy => ("200 OK", Duration::ZERO),
        Behaviour::Slow(delay) => ("200 OK", delay),
        Behaviour::Failing => ("500 Internal Server Error", Duration::ZERO),
        Behaviour::Hang => ("", Duration::from_secs(3600)),
    };
    std::thread::sleep(delay);
    let body = r#"{"status":"healthy"}"#;
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// A request that [`ScriptedServer`] received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_str())
    }
}

/// The response of a [`ScriptedServer`] handler.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    /// A `Location` header, for redirects.
    pub location: Option<String>,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply { status, body: body.to_owned(), delay: Duration::ZERO, location: None }
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// An HTTP server on 127.0.0.1 whose responses a closure chooses. It records every request.
pub struct ScriptedServer {
    /// `http://127.0.0.1:PORT`, without a path.
    pub base: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

impl ScriptedServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || serve_scripted(stream, handler.as_ref(), &seen));
            }
        });
        ScriptedServer { base, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Returns the recorded requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|request| request.path == path).collect()
    }
}

fn serve_scripted(mut stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let request = Request {
        method: parts.next().unwrap_or_default().to_owned(),
        path: parts.next().unwrap_or_default().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    seen.lock().unwrap().push(request.clone());

    let reply = handler(&request);
    std::thread::sleep(reply.delay);
    let location = reply.location.map(|url| format!("location: {url}\r\n")).unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         {location}connection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    let _ = stream.write_all(response.as_bytes());
}
