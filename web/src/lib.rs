//! The PLSE playground: a Leptos CSR app that edits, renders and checks patterns in the
//! browser with the same engine as `plse-batch`.
//!
//! The pure parts — [`library`], [`engine`], [`params`], [`session`], [`checks`],
//! [`checklist`] — are tested natively; [`components`] and [`app`] are the UI, exercised by
//! the end-to-end tests in `web/e2e` in a real Chromium; [`ffi`] and [`browser`] are the
//! thin edges to JavaScript and the page.

pub mod app;
pub mod browser;
pub mod checklist;
pub mod checks;
pub mod components;
pub mod engine;
pub mod ffi;
pub mod library;
pub mod params;
/// The session and its permalink form live in `plse-permalink`, shared with `plse-batch render --permalink`.
pub use plse_permalink as session;
pub mod state;

pub use app::App;

use wasm_bindgen::prelude::*;

/// Budget probe: mean milliseconds of [`engine::evaluate`] for one pattern text over
/// `iterations` seeds (what a render after an edit costs). Called by `web/e2e/budgets.mjs`
/// through `window.wasmBindings`; -1 when the text does not render.
#[wasm_bindgen]
pub fn bench_evaluate(name: &str, text: &str, category: &str, iterations: u32) -> f64 {
    let start = browser::now();
    for i in 0..iterations.max(1) {
        let ev = engine::evaluate(&engine::Input { name, text, category, seed: u64::from(i), index: 0, params: &[] });
        if ev.sample.is_none() {
            return -1.0;
        }
    }
    (browser::now() - start) / f64::from(iterations.max(1))
}

/// Fetches the library (`library.json`, next to the page), then mounts the playground in
/// place of the boot message — or leaves a message saying why it could not start.
pub async fn start() {
    let boot = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot"));
    let library = browser::fetch_text("library.json").await.and_then(|json| library::parse_bundle(&json));
    match library {
        Ok(items) => {
            if let Some(b) = boot {
                b.remove();
            }
            leptos::mount::mount_to_body(move || leptos::prelude::view! { <App library=items.clone() /> });
        }
        Err(e) => {
            if let Some(b) = boot {
                b.set_text_content(Some(&format!("The playground could not load its pattern library: {e}")));
            }
        }
    }
}
