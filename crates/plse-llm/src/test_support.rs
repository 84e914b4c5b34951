//! Test support: a scripted HTTP server on 127.0.0.1, a recording sleeper, a shared buffer.
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Sleeper;

/// Records the waits instead of sleeping.
#[derive(Debug, Default)]
pub(crate) struct RecordingSleeper(Mutex<Vec<Duration>>);

impl RecordingSleeper {
    pub(crate) fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
    }
}

/// A `Write` whose bytes the test can read afterwards.
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A chat-completions body with `message` (a JSON object) and `finish` (a JSON value).
pub(crate) fn completion_body(message: &str, finish: &str) -> String {
    format!(
        r#"{{"id":"c1","object":"chat.completion","model":"test-model","choices":[{{"index":0,"message":{message},"finish_reason":{finish}}}],"usage":{{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}}}"#
    )
}

/// A plain answer `content` that stopped normally.
pub(crate) fn answer(content: &str) -> String {
    completion_body(&serde_json::json!({ "role": "assistant", "content": content }).to_string(), r#""stop""#)
}

/// How an echo reply wraps the request headers it echoes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Echo {
    /// A chat completion whose content is the headers.
    Completion,
    /// `{"error":{"message": headers}}`.
    ErrorJson,
    /// `Authorization: …` as plain text after `pad` filler characters.
    Text { pad: usize },
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// A status, extra headers and a body, after `delay`.
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8>, delay: Duration },
    /// The request's headers sent back, the way a careless proxy's error page might.
    Echo { status: u16, echo: Echo },
    /// Reads the request and never answers (until the client hangs up).
    Hang,
}

impl Reply {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self::bytes(status, body.into().into_bytes())
    }

    pub(crate) fn bytes(status: u16, body: Vec<u8>) -> Self {
        Reply::Respond { status, headers: Vec::new(), body, delay: Duration::ZERO }
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub(crate) fn delayed(mut self, by: Duration) -> Self {
        if let Reply::Respond { delay, .. } = &mut self {
            *delay = by;
        }
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// A real HTTP/1.1 server on 127.0.0.1 (port 0), one thread per connection, answering with
/// the scripted replies in order (500 once they run out) and closing each connection.
pub(crate) struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub(crate) fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State { replies: Mutex::new(replies.into()), ..State::default() });
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || accept_loop(&listener, &thread_state, &thread_stop));
        Server { addr, state, stop }
    }

    /// The API root to configure a provider with.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub(crate) fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The most requests that were being answered at once.
    pub(crate) fn peak_in_flight(&self) -> usize {
        self.state.peak.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let state = Arc::clone(state);
        std::thread::spawn(move || serve(stream, &state));
    }
}

fn serve(mut stream: TcpStream, state: &State) {
    let Some(request) = read_request(&stream) else { return };
    state.requests.lock().unwrap().push(request.clone());
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.peak.fetch_max(now, Ordering::SeqCst);
    let reply = state.replies.lock().unwrap().pop_front();
    match reply.unwrap_or_else(|| Reply::json(500, r#"{"error":"no scripted reply left"}"#)) {
        Reply::Respond { status, headers, body, delay } => {
            std::thread::sleep(delay);
            write_response(&mut stream, status, &headers, &body);
        }
        Reply::Echo { status, echo } => write_response(&mut stream, status, &[], echo_body(&request, echo).as_bytes()),
        Reply::Hang => {
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
        }
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Recorded { method, path, headers, body: String::new() };
    let length: usize = request.header("content-length").map_or(Some(0), |v| v.parse().ok())?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    request.body = String::from_utf8(body).ok()?;
    Some(request)
}

fn echo_body(request: &Recorded, echo: Echo) -> String {
    let dump: String = request.headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
    match echo {
        Echo::Completion => answer(&dump),
        Echo::ErrorJson => serde_json::json!({ "error": { "message": format!("bad request:\n{dump}") } }).to_string(),
        Echo::Text { pad } => format!("{}Authorization: {}", "x".repeat(pad), request.header("authorization").unwrap_or_default()),
    }
}

fn write_response(stream: &mut TcpStream, status: u16, headers: &[(String, String)], body: &[u8]) {
    let mut head =
        format!("HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
}
