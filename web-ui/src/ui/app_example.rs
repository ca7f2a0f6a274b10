//! How an app does what the Try it tab does: the client library's snippet, for this vault.

use leptos::prelude::*;

/// The panel with the snippet.
#[component]
pub fn AppExample() -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="code-title">
            <h2 id="code-title">"Do the same from your web app"</h2>
            <p>
                "Import the client library from this vault and ask it to make the request: the key is added here, "
                "and no script of your app's page ever holds it. The vault's operator lists your app's origin in "
                <code>"BYOK_EMBED_ORIGINS"</code>"; the person connects your app once, in a window of this vault."
            </p>
            <pre class="code" id="try-example"><code>{example(&window().location().origin().unwrap_or_default())}</code></pre>
        </section>
    }
}

/// The snippet an app writes, for the vault at `origin`.
fn example(origin: &str) -> String {
    format!(
        r#"import {{ Byok }} from "{origin}/byok-client.js";
const byok = await Byok.connect({{ vault: "{origin}" }});
button.onclick = () => byok.requestAccess();  // once: the person allows it here

const res = await byok.fetch("openai", "/v1/chat/completions", {{
  method: "POST",
  headers: {{ "Content-Type": "application/json" }},
  body: JSON.stringify({{
    model: "gpt-4o-mini",
    stream: true,
    messages: [{{ role: "user", content: "Say hello" }}],
  }}),
}});
res.headers.get("x-byok-key-source");         // "user""#
    )
}
