//! Small wrappers over the browser: storage, the URL fragment, downloads, time, and the
//! `window.__plse` hook that end-to-end tests and the budget script read.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

fn window() -> web_sys::Window {
    web_sys::window().expect("a page has a window")
}

/// GETs `url` (relative to the page) as text.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let response = wasm_bindgen_futures::JsFuture::from(window().fetch_with_str(url)).await.map_err(|e| crate::ffi::js_error(&e))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "fetch did not give a response".to_owned())?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let text = response.text().map_err(|e| crate::ffi::js_error(&e))?;
    wasm_bindgen_futures::JsFuture::from(text)
        .await
        .map_err(|e| crate::ffi::js_error(&e))?
        .as_string()
        .ok_or_else(|| format!("{url} is not text"))
}

/// Milliseconds from the page's time origin.
pub fn now() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// A localStorage value (None when storage is unavailable, e.g. disabled by the user).
pub fn load(key: &str) -> Option<String> {
    window().local_storage().ok().flatten()?.get_item(key).ok().flatten()
}

/// Stores a localStorage value; false when storage is unavailable or full.
pub fn store(key: &str, value: &str) -> bool {
    window().local_storage().ok().flatten().is_some_and(|s| s.set_item(key, value).is_ok())
}

/// The URL fragment, without `#`.
pub fn fragment() -> String {
    window().location().hash().unwrap_or_default().trim_start_matches('#').to_owned()
}

/// The page's URL without its fragment.
fn here(w: &web_sys::Window) -> String {
    let l = w.location();
    format!("{}{}{}", l.origin().unwrap_or_default(), l.pathname().unwrap_or_default(), l.search().unwrap_or_default())
}

/// Replaces the page's URL without adding a history entry (no hashchange fires).
fn replace_url(w: &web_sys::Window, url: &str) {
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(url));
    }
}

/// Sets the fragment without adding a history entry; returns the full URL.
pub fn set_fragment(fragment: &str) -> String {
    let w = window();
    let url = format!("{}#{fragment}", here(&w));
    replace_url(&w, &url);
    url
}

/// Removes the fragment (after a link was opened, so a reload shows the autosave).
pub fn clear_fragment() {
    let w = window();
    replace_url(&w, &here(&w));
}

/// Copies text to the clipboard, best effort (not every context allows it).
pub fn copy(text: &str) {
    let _ = window().navigator().clipboard().write_text(text);
}

/// Offers `text` as a file download.
pub fn download(name: &str, text: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/yaml");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Some(a) =
        window().document().and_then(|d| d.create_element("a").ok()).and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Whether the system prefers a dark scheme.
pub fn prefers_dark() -> bool {
    window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches())
}

/// Sets `data-theme` on the root element (the stylesheet keys its colours on it).
pub fn apply_theme(dark: bool) {
    if let Some(root) = window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// Publishes a value on `window.__plse` (a test and measurement hook; read-only data).
pub fn hook(key: &str, value: &JsValue) {
    let w: JsValue = window().into();
    let obj = js_sys::Reflect::get(&w, &"__plse".into()).ok().filter(|o| o.is_object()).unwrap_or_else(|| {
        let o: JsValue = js_sys::Object::new().into();
        let _ = js_sys::Reflect::set(&w, &"__plse".into(), &o);
        o
    });
    let _ = js_sys::Reflect::set(&obj, &key.into(), value);
}
