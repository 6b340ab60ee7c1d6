//! A webhook receiver on 127.0.0.1 that records every notice and answers from a script.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use serde_json::Value;

use crate::backend::{read_request, respond};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A scripted answer: status, body and extra headers.
pub type ScriptedResponse = (u16, String, Vec<(String, String)>);

#[derive(Debug, Default)]
pub struct ReceiverState {
    pub received: Vec<Received>,
    /// Answers for the next requests as (status, body, headers); 200 when empty.
    pub script: VecDeque<ScriptedResponse>,
}

#[derive(Debug, Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&stream) else { continue };
                let (status, body, headers) = {
                    let mut state = shared.lock().unwrap();
                    state.received.push(Received {
                        path: request.path.clone(),
                        headers: request.headers.clone(),
                        body: String::from_utf8_lossy(&request.body).into_owned(),
                    });
                    state.script.pop_front().unwrap_or((200, "{}".into(), Vec::new()))
                };
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
                respond(&mut stream, status, &headers, &body);
            }
        });
        Receiver { addr, state }
    }

    /// URL of a hook path; the path plays the part of the secret token of real webhooks.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, ReceiverState> {
        self.state.lock().unwrap()
    }

    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// `kind` of every generic webhook notice received, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|received| received.json()["kind"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    pub fn script(&self, status: u16, body: &str, headers: &[(&str, &str)]) {
        let headers = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        self.state().script.push_back((status, body.to_owned(), headers));
    }
}
