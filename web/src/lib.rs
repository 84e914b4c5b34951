//! The PLSE playground: a Leptos CSR app that edits, renders and checks patterns in the
//! browser with the same engine as `plse-batch`.
//!
//! Two wasm binaries share this crate. The page (`src/main.rs`: [`app`], [`components`],
//! [`state`]) shows and edits; the engine worker (`src/bin/plse-engine.rs`: [`host`] over
//! [`engine`], [`library`], [`checks`], [`checklist`]) loads, renders and judges, off the main
//! thread. They exchange [`wire`]'s plain data through [`client`]. The pure parts are tested
//! natively; the UI is exercised by the end-to-end tests in `web/e2e` in a real Chromium;
//! [`ffi`] and [`browser`] are the thin edges to JavaScript and the page.

pub mod app;
pub mod browser;
pub mod checklist;
pub mod checks;
pub mod client;
pub mod components;
pub mod engine;
pub mod ffi;
pub mod host;
pub mod library;
pub mod params;
/// The session and its permalink form live in `plse-permalink`, shared with `plse-batch render --permalink`.
pub use plse_permalink as session;
pub mod state;
pub mod wire;

pub use app::App;

/// Decides the first session (permalink, autosave or the worked example), then mounts the
/// playground in place of the boot message — or leaves a message saying why it could not
/// start. The engine worker starts with the page bundle; the library is listed after the
/// first render.
pub async fn start() {
    let boot = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot"));
    match state::first_session().await {
        Ok((session, notice)) => {
            if let Some(b) = boot {
                b.remove();
            }
            leptos::mount::mount_to_body(move || leptos::prelude::view! { <App session=session.clone() notice=notice.clone() /> });
        }
        Err(e) => {
            if let Some(b) = boot {
                b.set_text_content(Some(&format!("The playground could not load its worked example: {e}")));
            }
        }
    }
}
