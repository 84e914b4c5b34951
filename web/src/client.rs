//! The page's calls to the engine worker: a [`Request`] out, a [`Reply`] back.

use crate::ffi;
use crate::library::Item;
use crate::wire::{self, Reply, Request};

/// Sends `request`; `None` when a newer request with the same `coalesce` key replaced it
/// before the worker took it (the page is already waiting for that one).
pub async fn call(request: &Request, coalesce: &str) -> Option<Result<Reply, String>> {
    let json = serde_json::to_string(request).unwrap_or_default();
    match ffi::engine(&json, coalesce).await {
        Ok(v) if v.is_null() => None,
        Ok(v) => Some(answer(v.as_string().unwrap_or_default())),
        Err(e) => Some(Err(ffi::js_error(&e))),
    }
}

/// The library, loaded by the worker.
pub async fn library() -> Result<Vec<Item>, String> {
    let json = ffi::engine_library().await.map_err(|e| ffi::js_error(&e))?;
    match answer(json.as_string().unwrap_or_default())? {
        Reply::Library { items } if !items.is_empty() => Ok(items),
        Reply::Library { .. } => Err("library.json holds no pattern".into()),
        other => Err(format!("unexpected answer to the library request: {other:?}")),
    }
}

fn answer(json: String) -> Result<Reply, String> {
    match wire::reply(&json)? {
        Reply::Error { message } => Err(message),
        reply => Ok(reply),
    }
}
