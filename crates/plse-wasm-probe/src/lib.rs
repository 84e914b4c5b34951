//! Raw `wasm32-unknown-unknown` exports of the shared engine: no JS glue, no imports, so
//! any host (Node's `WebAssembly`, a browser) can load the module and call it.
//!
//! Protocol: the host asks [`plse_alloc`] for a buffer, writes a JSON [`Request`] into it and
//! calls [`plse_render`] with its address and length; the [`answer`] of `plse-dataset`'s render
//! entry (the record `plse-batch render --json` prints, a newline, then what `render --row`
//! prints — the sample drawn as its scheduled task — or the rendered diagnostics) is then at
//! [`plse_result_ptr`] for the returned number of bytes.
//!
//! **Invariant:** the answer for a request is byte-identical to [`handle`] run natively;
//! `cargo xtask wasm-check` verifies that for the whole library and the fixtures.
// The FFI boundary needs `unsafe` (exported symbols, raw buffers); nothing else in the
// workspace does.
#![allow(unsafe_code)]

use std::sync::Mutex;

use plse_dataset::TaskMix;
use plse_dataset::entry::{self, EntryError, Rendered, TaskChoice};
use plse_schema::RenderStyle;
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

/// Handles a request: [`answer`] for it, or `ERROR\nbad request: ...`.
pub fn handle(request: &str) -> String {
    let req: Request = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(e) => return format!("ERROR\nbad request: {e}"),
    };
    let (Ok(seed), Ok(index)) = (req.seed.parse::<u64>(), req.index.parse::<u64>()) else {
        return "ERROR\nbad request: seed and index must be decimal u64 strings".to_owned();
    };
    let mix = TaskMix::default();
    answer(&entry::render(&entry::Request {
        name: &req.name,
        bytes: &req.bytes,
        category: &req.category,
        seed,
        index,
        params: &req.params,
        task: TaskChoice::Scheduled(&mix),
    }))
}

/// The render entry's result as bytes to compare: the pretty JSON record (what
/// `plse-batch render --json` prints), a newline and the row (what `render --row` prints); or
/// `ERROR\n` and why — the plain diagnostics of a file with errors or of a failed render,
/// the message of another error.
pub fn answer(rendered: &Rendered) -> String {
    let plain = RenderStyle::Plain;
    match &rendered.outcome {
        Ok(d) => match (serde_json::to_string_pretty(&d.sample), serde_json::to_string(&d.row)) {
            (Ok(record), Ok(row)) => format!("{record}\n{row}"),
            (Err(e), _) | (_, Err(e)) => format!("ERROR\n{e}"),
        },
        Err(EntryError::NotLoaded) => {
            format!("ERROR\n{}", plse_schema::render_all(&rendered.file.diagnostics, &rendered.file.source, plain))
        }
        Err(EntryError::Render(_) | EntryError::Prepare(_)) => match rendered.diagnostic() {
            Some(d) => format!("ERROR\n{}", d.render(&rendered.file.source, plain)),
            None => "ERROR\nno diagnostic".to_owned(),
        },
        Err(EntryError::NoTask { .. }) => "ERROR\nno task".to_owned(),
        Err(e) => format!("ERROR\n{e}"),
    }
}

static RESULT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Allocates `len` bytes (zeroed) for the host to write a request into; [`plse_render`]
/// takes the buffer back.
#[unsafe(no_mangle)]
pub extern "C" fn plse_alloc(len: usize) -> *mut u8 {
    // A boxed slice has exactly `len` bytes: no spare capacity for the host to mistake for
    // the length, and nothing for `plse_render` to guess when it frees it.
    Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>()
}

/// Renders the request at `ptr..ptr+len` (taking ownership of that buffer); returns the
/// answer's length.
///
/// # Safety
/// `ptr` must come from [`plse_alloc`] with the same `len`, not yet passed here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plse_render(ptr: *mut u8, len: usize) -> usize {
    // SAFETY: by the contract above, `ptr` is the leaked `Box<[u8]>` of `len` bytes that
    // plse_alloc(len) made, handed back once.
    let bytes = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
    let answer = handle(&String::from_utf8_lossy(&bytes));
    let mut result = RESULT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *result = answer.into_bytes();
    result.len()
}

/// Address of the last answer (valid until the next [`plse_render`]).
#[unsafe(no_mangle)]
pub extern "C" fn plse_result_ptr() -> *const u8 {
    RESULT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ptr()
}
