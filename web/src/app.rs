//! The page: layout, the render effect, keyboard shortcut, worker status and link opening.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::components::{ChecklistPanel, ChecksPanel, Controls, EditorPanel, LibraryPanel, OutputPanel, Toolbar};
use crate::session::Session;
use crate::state::{AppState, ToolStatus};
use crate::{browser, ffi};

/// The playground, opened on `session`.
#[component]
pub fn App(
    /// What is edited first.
    session: Session,
    /// A message to show at once (a damaged link).
    notice: Option<(bool, String)>,
) -> impl IntoView {
    let state = AppState::new(session, notice);
    provide_context(state);
    // Render whenever the session changes (edits arrive debounced from the editor).
    Effect::new(move |_| {
        state.session.track();
        state.evaluate();
    });
    ffi::on_status(&ffi::callback3(move |tool, s, detail| {
        let status = ToolStatus { state: s, detail };
        match tool.as_str() {
            "python" => state.python.set(status),
            _ => state.ruff.set(status),
        }
    }));
    // Ctrl+Enter / Cmd+Enter runs the checks from anywhere on the page.
    let keys = window_event_listener(leptos::ev::keydown, move |e| {
        if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) {
            e.prevent_default();
            state.run_checks(true);
        }
    });
    // A permalink pasted into this tab's address bar.
    let hash = window_event_listener(leptos::ev::hashchange, move |_| {
        let f = browser::fragment();
        if f.is_empty() {
            return;
        }
        match Session::from_fragment(&f) {
            Ok(s) => {
                browser::clear_fragment();
                state.open(s);
            }
            Err(e) => state.notice.set(Some((true, format!("Could not open the link: {e}")))),
        }
    });
    on_cleanup(move || {
        keys.remove();
        hash.remove();
    });
    browser::hook("ready", &JsValue::TRUE);
    let notice = move || {
        state.notice.get().map(|(is_error, text)| {
            view! {
                <div class="notice" class:error=is_error role="alert" data-testid="notice">
                    <span>{text}</span>
                    <button aria-label="Dismiss" on:click=move |_| state.notice.set(None)>"×"</button>
                </div>
            }
        })
    };
    view! {
        <Toolbar />
        {notice}
        <main class="layout">
            <LibraryPanel />
            <div class="work">
                <EditorPanel />
                <Controls />
            </div>
            <div class="results">
                <OutputPanel />
                <ChecksPanel />
                <ChecklistPanel />
            </div>
        </main>
    }
}
