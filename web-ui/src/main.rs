//! Entry point: mounts the settings page.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(byok_web_ui::App);
}
