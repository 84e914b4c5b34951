//! The engine worker's wasm (trunk `data-type="worker"`, wasm-bindgen `web` target): the
//! [`Host`] behind two exports that `web/js/src/engine-worker.js` calls for each message.

use std::cell::RefCell;

use plse_web::host::Host;
use plse_web::wire;
use wasm_bindgen::prelude::*;

thread_local! {
    static HOST: RefCell<Host> = RefCell::new(Host::new(now));
}

/// Milliseconds from the worker's clock.
fn now() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| js_sys::Reflect::get(&p, &"now".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()).map(|f| (p, f)))
        .and_then(|(p, f)| f.call0(&p).ok())
        .and_then(|v| v.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}

/// Loads `library.json`'s text; answers a `library` reply (or an error) as JSON.
#[wasm_bindgen]
pub fn load_library(json: &str) -> String {
    HOST.with(|h| wire::to_json(&h.borrow_mut().load_library(json)))
}

/// Answers one request (JSON, `wire::Request`) as JSON (`wire::Reply`).
#[wasm_bindgen]
pub fn handle(request: &str) -> String {
    HOST.with(|h| h.borrow_mut().handle_json(request))
}

fn main() {
    console_error_panic_hook::set_once();
}
