//! A test InvGuard backend on 127.0.0.1 that implements the API contract of
//! docs/backend-api.md, with scripted faults.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

/// What an endpoint does instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and body.
    Status(u16, String),
    /// Answer 200 with this body.
    Body(String),
    /// Sleep before the normal answer.
    Delay(Duration),
    /// Answer 200 with a body of this many bytes, streamed from a small buffer.
    Huge(usize),
    /// Answer with a redirect to this location.
    Redirect(String),
}

/// The backend's data and switches; tests change them between requests.
#[derive(Debug)]
pub struct BackendState {
    pub items: Vec<Value>,
    pub envelope: bool,
    pub faults: HashMap<String, Fault>,
    pub require_auth: bool,
    pub username: String,
    pub password: String,
    /// `exp` claim of issued tokens, in Unix seconds.
    pub token_exp: i64,
    pub valid_tokens: HashSet<String>,
    pub logins: u32,
    /// Requests seen, as `METHOD /path`.
    pub requests: Vec<String>,
    /// Bytes a `Huge` answer managed to write before the client hung up.
    pub huge_bytes_written: usize,
}

/// A running test backend; the thread stops with the test process.
#[derive(Debug, Clone)]
pub struct Backend {
    pub addr: SocketAddr,
    state: Arc<Mutex<BackendState>>,
}

impl Backend {
    /// Starts a backend with `items` items, every `low_every`-th one low on stock.
    pub fn start(items: usize, low_every: usize) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(BackendState {
            items: make_items(items, low_every),
            envelope: false,
            faults: HashMap::new(),
            require_auth: false,
            username: "monitor".into(),
            password: "hunter2-password".into(),
            token_exp: 4_000_000_000,
            valid_tokens: HashSet::new(),
            logins: 0,
            requests: Vec::new(),
            huge_bytes_written: 0,
        }));

        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&shared);
                thread::spawn(move || handle(stream, &shared));
            }
        });
        Backend { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, BackendState> {
        self.state.lock().unwrap()
    }

    pub fn fault(&self, path: &str, fault: Fault) {
        self.state().faults.insert(path.to_owned(), fault);
    }
}

/// Items `0..count`; every `low_every`-th has quantity 1 below its minimum of 5.
pub fn make_items(count: usize, low_every: usize) -> Vec<Value> {
    (0..count)
        .map(|index| {
            let low = low_every > 0 && index % low_every == 0;
            json!({
                "id": index,
                "sku": format!("SKU-{index:05}"),
                "name": format!("Item {index}"),
                "quantity": if low { 1 } else { 50 },
                "min_quantity": 5,
                "category": "parts",
            })
        })
        .collect()
}

/// Builds an unsigned JWT whose payload has `exp`.
pub fn jwt(exp: i64, serial: u32) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = engine.encode(json!({"sub": "monitor", "exp": exp, "n": serial}).to_string());
    format!("{header}.{payload}.dGVzdC1zaWduYXR1cmU")
}

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();

    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body })
}

fn handle(mut stream: TcpStream, state: &Mutex<BackendState>) {
    let Some(request) = read_request(&stream) else { return };
    let path = request.path.split('?').next().unwrap_or_default().to_owned();
    let fault = {
        let mut state = state.lock().unwrap();
        state.requests.push(format!("{} {}", request.method, path));
        state.faults.get(&path).cloned()
    };

    match fault {
        Some(Fault::Status(status, body)) => return respond(&mut stream, status, &[], &body),
        Some(Fault::Body(body)) => return respond(&mut stream, 200, &[], &body),
        Some(Fault::Huge(size)) => return respond_huge(&mut stream, size, state),
        Some(Fault::Redirect(location)) => {
            return respond(&mut stream, 302, &[("Location", location.as_str())], "");
        }
        Some(Fault::Delay(delay)) => thread::sleep(delay),
        None => {}
    }

    let (status, body) = route(&request, &path, state);
    respond(&mut stream, status, &[], &body);
}

fn route(request: &Request, path: &str, state: &Mutex<BackendState>) -> (u16, String) {
    let mut state = state.lock().unwrap();
    match (request.method.as_str(), path) {
        ("GET", "/api/health" | "/api/v2/health") => (200, json!({"status": "ok"}).to_string()),
        ("POST", "/api/auth/login") => login(&request.body, &mut state),
        ("GET", "/api/items" | "/api/analytics/low-stock") => {
            if state.require_auth && !authorized(request, &state) {
                return (401, json!({"error": "unauthorized"}).to_string());
            }
            let items: Vec<&Value> = if path.ends_with("low-stock") {
                state
                    .items
                    .iter()
                    .filter(|item| item["quantity"].as_i64() < item["min_quantity"].as_i64())
                    .collect()
            } else {
                state.items.iter().collect()
            };
            let body = if state.envelope {
                json!({"items": items, "total": items.len()})
            } else {
                json!(items)
            };
            (200, body.to_string())
        }
        _ => (404, json!({"error": "not found"}).to_string()),
    }
}

fn login(body: &[u8], state: &mut BackendState) -> (u16, String) {
    let credentials: Value = serde_json::from_slice(body).unwrap_or_default();
    let valid = credentials["username"] == state.username.as_str()
        && credentials["password"] == state.password.as_str();
    if !valid {
        return (401, json!({"error": "invalid credentials"}).to_string());
    }
    state.logins += 1;
    let token = jwt(state.token_exp, state.logins);
    state.valid_tokens.insert(token.clone());
    (200, json!({"access_token": token, "token_type": "bearer"}).to_string())
}

fn authorized(request: &Request, state: &BackendState) -> bool {
    let header = request.headers.get("authorization").map(String::as_str).unwrap_or_default();
    let token = header.strip_prefix("Bearer ").unwrap_or_default();
    state.valid_tokens.contains(token)
}

pub fn respond(stream: &mut TcpStream, status: u16, headers: &[(&str, &str)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status} Status\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn respond_huge(stream: &mut TcpStream, size: usize, state: &Mutex<BackendState>) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n["
    );
    let _ = stream.write_all(head.as_bytes());
    let chunk = "1,".repeat(32 * 1024);
    let mut written = 1;
    while written + chunk.len() < size {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
        written += chunk.len();
    }
    state.lock().unwrap().huge_bytes_written = written;
}
