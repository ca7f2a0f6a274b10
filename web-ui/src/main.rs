//! Entry point: mounts the settings page.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(byok_web_ui::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("byok-web-ui runs in the browser: build it with `make ui` (trunk build --release)");
    std::process::exit(2);
}
