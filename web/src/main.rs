//! Mounts the playground; everything else lives in the library crate.

fn main() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(plse_web::start());
}
