//! The JavaScript side (`web/js/src`, bundled into `plse-ui.js` as `globalThis.PlseUi`):
//! CodeMirror views, the engine worker and the two check workers. Texts cross as strings, structured data as
//! JSON strings, so nothing from a pattern is ever handed to the DOM as markup.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The pattern editor.
    pub type YamlEditor;
    /// Creates the pattern editor in `parent`; `on_change` gets the text after each user edit.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = yamlEditor)]
    pub fn yaml_editor(parent: &web_sys::HtmlElement, text: &str, on_change: &JsValue, on_run: &JsValue) -> YamlEditor;
    /// Replaces the text (not reported as an edit).
    #[wasm_bindgen(method, js_name = setDoc)]
    pub fn set_doc(this: &YamlEditor, text: &str);
    /// Shows diagnostics (JSON `[{from, to, severity, message}]`, UTF-16 offsets) of `text`:
    /// ignored when the editor holds another text by now.
    #[wasm_bindgen(method, js_name = setMarkers)]
    pub fn set_markers(this: &YamlEditor, json: &str, text: &str);
    /// Moves the cursor to a UTF-16 offset and focuses the editor.
    #[wasm_bindgen(method)]
    pub fn jump(this: &YamlEditor, offset: u32);

    /// A read-only, highlighted code view.
    pub type CodeView;
    /// Creates a code view in `parent`.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = codeView)]
    pub fn code_view(parent: &web_sys::HtmlElement) -> CodeView;
    /// Shows `text` highlighted as `lang`, with ruff markers (JSON findings).
    #[wasm_bindgen(method)]
    pub fn show(this: &CodeView, text: &str, lang: &str, markers_json: &str);

    /// The flawed/fixed side-by-side diff.
    pub type DiffView;
    /// Creates a diff view in `parent`.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = diffView)]
    pub fn diff_view(parent: &web_sys::HtmlElement) -> DiffView;
    /// Shows `a` against `b`.
    #[wasm_bindgen(method, js_name = show)]
    pub fn show_diff(this: &DiffView, a: &str, b: &str, lang: &str);

    /// Lints `[{side, code}]` (JSON) with ruff; resolves to JSON `[{side, findings}]`.
    #[wasm_bindgen(js_namespace = PlseUi, catch)]
    pub async fn lint(files_json: &str) -> Result<JsValue, JsValue>;
    /// Runs `{modules, runs}` (JSON) in Pyodide; resolves to JSON `{unavailable, results}`.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = runPython, catch)]
    pub async fn run_python(request_json: &str, timeout_ms: u32) -> Result<JsValue, JsValue>;
    /// Registers `cb(tool, state, detail)` for loading/running/restart notices.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = onStatus)]
    pub fn on_status(cb: &JsValue);
    /// Sends a request (JSON) to the engine worker; resolves to the reply's JSON, or null when
    /// a newer request with the same non-empty `key` replaced it before it ran.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = engine, catch)]
    pub async fn engine(request_json: &str, key: &str) -> Result<JsValue, JsValue>;
    /// Has the engine worker load `library.json`; resolves to the reply's JSON.
    #[wasm_bindgen(js_namespace = PlseUi, js_name = engineLibrary, catch)]
    pub async fn engine_library() -> Result<JsValue, JsValue>;
    /// Whether ruff has been started (then every render is linted right away).
    #[wasm_bindgen(js_namespace = PlseUi, js_name = ruffLoaded)]
    pub fn ruff_loaded() -> bool;
}

/// A JS callback from a Rust closure that lives as long as the page.
pub fn callback<F: FnMut(String) + 'static>(f: F) -> JsValue {
    Closure::<dyn FnMut(String)>::new(f).into_js_value()
}

/// A JS callback of no arguments that lives as long as the page.
pub fn callback0<F: FnMut() + 'static>(f: F) -> JsValue {
    Closure::<dyn FnMut()>::new(f).into_js_value()
}

/// A JS callback of three string arguments that lives as long as the page.
pub fn callback3<F: FnMut(String, String, String) + 'static>(f: F) -> JsValue {
    Closure::<dyn FnMut(String, String, String)>::new(f).into_js_value()
}

/// A JS error or rejection as text.
pub fn js_error(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| format!("{e:?}"))
}
