//! A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for fault injection
//! (the real-model test is `llm_e2e.rs`): it answers each request with what a handler makes of
//! its last user turn, records what it was asked, and can be told to fail requests about a name.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// What the server was asked.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The Authorization header.
    pub authorization: Option<String>,
    /// The request body.
    pub body: Value,
}

struct State {
    seen: Mutex<Vec<Seen>>,
    count: AtomicUsize,
    /// Answer requests whose user turn names this (in backticks) with this status while set.
    fail: Mutex<Option<(String, u16)>>,
    stop: AtomicBool,
    answer: fn(&str) -> Value,
}

/// The server; stops when dropped.
pub struct Server {
    /// Its API root (`http://127.0.0.1:PORT/v1`).
    pub url: String,
    state: Arc<State>,
}

impl Server {
    /// Starts a server answering each request with `answer(last user turn)` (status 200).
    pub fn start(answer: fn(&str) -> Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let state = Arc::new(State {
            seen: Mutex::default(),
            count: AtomicUsize::new(0),
            fail: Mutex::default(),
            stop: AtomicBool::new(false),
            answer,
        });
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(stream, &st));
            }
        });
        Server { url, state }
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    /// What was asked so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Fail requests whose user turn names `` `name` `` with `status` (or stop failing).
    pub fn fail_on(&self, name: Option<(&str, u16)>) {
        *self.state.fail.lock().unwrap() = name.map(|(n, status)| (n.to_owned(), status));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://").trim_end_matches("/v1"));
    }
}

/// Serves the requests of one connection (clients keep connections alive).
fn serve(stream: TcpStream, state: &State) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        state.count.fetch_add(1, Ordering::SeqCst);
        state.seen.lock().unwrap().push(Seen { authorization: headers.get("authorization").cloned(), body: body.clone() });
        let user = body["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_owned();
        let fail = state.fail.lock().unwrap().clone();
        let (status, reply) = match fail {
            Some((name, status)) if user.contains(&format!("`{name}`")) => (status, json!({"error": {"message": "cannot serve this"}})),
            _ => (200, (state.answer)(&user)),
        };
        let text = reply.to_string();
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Error" },
            text.len()
        );
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(text.as_bytes())).is_err() {
            return;
        }
    }
}

/// A chat completion with `content`, an optional reasoning channel and a finish reason.
pub fn completion(content: &str, reasoning: Option<&str>, finish: &str) -> Value {
    let mut message = json!({"role": "assistant", "content": content});
    if let Some(r) = reasoning {
        message["reasoning_content"] = json!(r);
    }
    json!({"id": "stub", "object": "chat.completion", "model": "stub-model",
           "choices": [{"index": 0, "message": message, "finish_reason": finish}],
           "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}})
}
