//! Raw `wasm32-unknown-unknown` exports of the shared engine: no JS glue, no imports, so
//! any host (Node's `WebAssembly`, a browser) can load the module and call it.
//!
//! Protocol: the host asks [`plse_alloc`] for a buffer, writes a JSON [`Request`] into it and
//! calls [`plse_render`] with its address and length; the answer (the text
//! `plse-batch render --json` prints, a newline, then what `render --row` prints — the sample
//! drawn as its scheduled task — or the rendered diagnostics) is then at [`plse_result_ptr`]
//! for the returned number of bytes.
//!
//! **Invariant:** the answer for a request is byte-identical to the native CLI's output;
//! `cargo xtask wasm-check` verifies that for the whole library and the fixtures.
// The FFI boundary needs `unsafe` (exported symbols, raw buffers); nothing else in the
// workspace does.
#![allow(unsafe_code)]

use std::sync::Mutex;

use serde::Deserialize;

/// One render request.
#[derive(Debug, Deserialize)]
pub struct Request {
    /// File name shown in diagnostics.
    pub name: String,
    /// The pattern file's bytes (not text: invalid UTF-8 must be reported, not repaired).
    pub bytes: Vec<u8>,
    /// Category of the pattern.
    pub category: String,
    /// Seed, as a decimal string: JavaScript numbers cannot hold every `u64`.
    pub seed: String,
    /// Index, as a decimal string.
    pub index: String,
    /// `name=value` overrides.
    #[serde(default)]
    pub params: Vec<String>,
}

/// Handles a request: the pretty JSON record on success, else `ERROR\n` and the plain
/// diagnostics text.
pub fn handle(request: &str) -> String {
    let req: Request = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(e) => return format!("ERROR\nbad request: {e}"),
    };
    let (Ok(seed), Ok(index)) = (req.seed.parse::<u64>(), req.index.parse::<u64>()) else {
        return "ERROR\nbad request: seed and index must be decimal u64 strings".to_owned();
    };
    let file = plse_schema::load(&req.name, &req.bytes);
    let diagnostics = plse_schema::render_all(&file.diagnostics, &file.source, plse_schema::RenderStyle::Plain);
    let Some(pattern) = &file.pattern else { return format!("ERROR\n{diagnostics}") };
    let overrides = match plse_sampling::Overrides::parse(pattern, &req.params) {
        Ok(o) => o,
        Err(e) => return format!("ERROR\n{e}"),
    };
    let mix = plse_dataset::TaskMix::default();
    let drawn = plse_render::Prepared::new(pattern, &req.category)
        .and_then(|p| plse_dataset::draw(&p, &req.category, seed, index, &mix, &overrides).transpose());
    match drawn {
        Ok(Some(d)) => match (serde_json::to_string_pretty(&d.sample), serde_json::to_string(&d.row)) {
            (Ok(record), Ok(row)) => format!("{record}\n{row}"),
            (Err(e), _) | (_, Err(e)) => format!("ERROR\n{e}"),
        },
        Ok(None) => "ERROR\nno task".to_owned(),
        Err(e) => format!("ERROR\n{}", e.to_diagnostic(pattern, &file.source).render(&file.source, plse_schema::RenderStyle::Plain)),
    }
}

static RESULT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Allocates `len` bytes for the host to write a request into.
#[unsafe(no_mangle)]
pub extern "C" fn plse_alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Renders the request at `ptr..ptr+len` (taking ownership of that buffer); returns the
/// answer's length.
///
/// # Safety
/// `ptr` must come from [`plse_alloc`] with the same `len`, with `len` bytes written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plse_render(ptr: *mut u8, len: usize) -> usize {
    // SAFETY: the contract above: a buffer from plse_alloc(len), fully written.
    let bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let answer = handle(&String::from_utf8_lossy(&bytes));
    let mut result = RESULT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *result = answer.into_bytes();
    result.len()
}

/// Address of the last answer.
#[unsafe(no_mangle)]
pub extern "C" fn plse_result_ptr() -> *const u8 {
    RESULT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ptr()
}
