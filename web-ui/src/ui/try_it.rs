//! "Try it": a streamed chat request through the proxy with the vault's key, shown as it
//! arrives. Also the reference for how a web app attaches keys per request.

use byok_providers::UnifiedKind;
use byok_vault::wasm::BrowserVault;
use byok_vault::{ModelChoice, Provider, Serves, Totals, VaultError};
use js_sys::{Object, Reflect, Uint8Array};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, ReadableStreamDefaultReader, Response};

use super::app_example::AppExample;
use super::state::Ctx;
use crate::spend;
use crate::sse::{ChatEvent, SseDecoder, chat_event};
use crate::words;

/// A model to start with for each provider (any model the provider offers works).
fn default_model(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "gpt-4o-mini",
        Provider::Anthropic => "claude-3-5-haiku-latest",
        Provider::Gemini => "gemini-2.0-flash",
        Provider::Openrouter => "openai/gpt-4o-mini",
        Provider::Mistral => "mistral-small-latest",
        Provider::Groq => "llama-3.1-8b-instant",
        Provider::Deepseek => "deepseek-chat",
        Provider::Xai => "grok-3-mini",
        Provider::Together => "openai/gpt-oss-120b",
        Provider::Fireworks => "accounts/fireworks/models/gpt-oss-20b",
        Provider::Cerebras => "gpt-oss-120b",
        // A deployment's name, which the user chose; Azure's default is the model's.
        Provider::Azure => "gpt-4o-mini",
        Provider::Perplexity | Provider::Custom => "",
    }
}

/// Where a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Run {
    Idle,
    Waiting,
    Streaming,
    Done {
        source: String,
        spent: Option<String>,
    },
    Failed(String),
}

/// The Try-it tab.
#[component]
pub fn TryItPage() -> impl IntoView {
    let ctx = Ctx::get();
    // The priced models: allowed by the plan? served by the app's key?
    let models = RwSignal::new(Vec::<ModelChoice>::new());
    Effect::new(move |_| {
        ctx.user_token.track();
        spawn_local(async move {
            if let Ok((list, _)) = ctx.vault().models().await {
                models.set(list.models);
            }
        });
    });
    let have_key = move |p: Provider| ctx.keys.with(|keys| keys.iter().any(|k| k.provider == p));
    // Providers with a saved key, or whose models the app's key would serve.
    let with_keys = Memo::new(move |_| {
        let models = models.get();
        Provider::ALL
            .into_iter()
            // Try it speaks chat completions; a provider without them is left out.
            .filter(|p| p.openai_compatible_path(UnifiedKind::Chat).is_some())
            .filter(|p| {
                have_key(*p)
                    || models
                        .iter()
                        .any(|m| m.provider == *p && m.server_key && m.allowed)
            })
            .collect::<Vec<_>>()
    });
    let provider = RwSignal::new(with_keys.get_untracked().first().copied());
    let model = RwSignal::new(
        provider
            .get_untracked()
            .map(default_model)
            .unwrap_or_default()
            .to_owned(),
    );
    let prompt = RwSignal::new("Say hello in five words.".to_owned());
    let answer = RwSignal::new(String::new());
    let run = RwSignal::new(Run::Idle);
    let controller: StoredValue<Option<AbortController>, LocalStorage> =
        StoredValue::new_local(None);
    on_cleanup(move || {
        if let Some(c) = controller.try_get_value().flatten() {
            c.abort();
        }
    });

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(chosen) = provider.get_untracked() else {
            return;
        };
        let Ok(abort) = AbortController::new() else {
            return;
        };
        let signal = abort.signal();
        controller.set_value(Some(abort));
        answer.set(String::new());
        run.set(Run::Waiting);
        let request = ChatRequest {
            provider: chosen,
            model: model.get_untracked().trim().to_owned(),
            prompt: prompt.get_untracked(),
        };
        spawn_local(async move {
            let before = Spend::now(&ctx, chosen).await;
            let outcome = stream_chat(&ctx.vault(), &request, &signal, |text| {
                run.set(Run::Streaming);
                answer.update(|a| a.push_str(text));
            })
            .await;
            controller.set_value(None);
            // Which key served, which rest or were rejected: the key rows show it.
            ctx.refresh();
            match outcome {
                Ok(served) => {
                    let source = describe_source(&ctx, &served);
                    ctx.done(format!("Answer complete, {source}."));
                    run.set(Run::Done {
                        source: source.clone(),
                        spent: None,
                    });
                    let spent = before.answer(&ctx, &served).await;
                    ctx.spend_changed.update(|n| *n += 1);
                    run.set(Run::Done {
                        source,
                        spent: Some(spent.map_or_else(
                            || "tokens and cost not known (the proxy could not say)".to_owned(),
                            |t| spend::summary(&t),
                        )),
                    });
                }
                Err(message) => run.set(Run::Failed(message)),
            }
        });
    };
    let stop = move |_| {
        if let Some(c) = controller.get_value() {
            c.abort();
        }
    };
    let busy = move || matches!(run.get(), Run::Waiting | Run::Streaming);

    view! {
        <section class="panel" aria-labelledby="try-title">
            <h1 id="try-title">"Try it"</h1>
            <p class="lead">
                "Send a prompt to a provider through the byok proxy. The vault attaches your saved key to this one request; the proxy turns it into the provider's own auth header and streams the answer back."
            </p>
            <Show
                when=move || !with_keys.get().is_empty()
                fallback=|| view! { <p class="hint">"Save a key first on the " <a href="#keys">"Keys"</a> " tab."</p> }
            >
                <form class="stack" on:submit=send>
                    <div class="row wrap">
                        <div class="field">
                            <label for="try-provider">"Provider"</label>
                            <select
                                id="try-provider"
                                on:change=move |ev| {
                                    let chosen = event_target_value(&ev).parse::<Provider>().ok();
                                    provider.set(chosen);
                                    model.set(chosen.map(default_model).unwrap_or_default().to_owned());
                                }
                            >
                                {move || {
                                    with_keys
                                        .get()
                                        .into_iter()
                                        .map(|p| {
                                            view! {
                                                <option value=p.id() selected=move || provider.get() == Some(p)>
                                                    {p.display_name()}
                                                </option>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </select>
                        </div>
                        <div class="field grow">
                            <label for="try-model-pick">"Priced models"</label>
                            <select
                                id="try-model-pick"
                                on:change=move |ev| {
                                    let picked = event_target_value(&ev);
                                    if !picked.is_empty() {
                                        model.set(picked);
                                    }
                                }
                            >
                                <option value="">"Choose a model…"</option>
                                {move || {
                                    let chosen = provider.get();
                                    models
                                        .get()
                                        .into_iter()
                                        .filter(|m| Some(m.provider) == chosen)
                                        .map(|m| {
                                            let serves = m.serves(have_key(m.provider));
                                            let name = m.model.clone();
                                            let selected = move || model.get() == name;
                                            view! {
                                                <option
                                                    value=m.model.clone()
                                                    disabled=matches!(serves, Serves::NotOnPlan | Serves::NoKey)
                                                    data-serves=serves_id(serves)
                                                    selected=selected
                                                >
                                                    {format!("{} — {}", m.model, serves_words(serves))}
                                                </option>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </select>
                        </div>
                        <div class="field grow">
                            <label for="try-model">"Model"</label>
                            <input
                                id="try-model"
                                type="text"
                                required
                                spellcheck="false"
                                prop:value=move || model.get()
                                on:input=move |ev| model.set(event_target_value(&ev))
                            />
                        </div>
                    </div>
                    <label for="try-prompt">"Prompt"</label>
                    <textarea
                        id="try-prompt"
                        rows="3"
                        required
                        prop:value=move || prompt.get()
                        on:input=move |ev| prompt.set(event_target_value(&ev))
                    ></textarea>
                    <div class="row">
                        <button class="button primary" type="submit" id="try-send" disabled=busy>"Send"</button>
                        <button class="button" type="button" id="try-stop" on:click=stop disabled=move || !busy()>"Stop"</button>
                    </div>
                </form>
                <div class="answer-box">
                    <h2 class="small-title">"Answer"</h2>
                    <p class="run-status" id="try-status">
                        {move || match run.get() {
                            Run::Idle => String::new(),
                            Run::Waiting => "Waiting for the provider…".into(),
                            Run::Streaming => "Streaming…".into(),
                            Run::Done { source, spent: None } => format!("Complete, {source}. Counting its cost…"),
                            Run::Done { source, spent: Some(spent) } => format!("Complete, {source}. This answer: {spent}."),
                            Run::Failed(_) => String::new(),
                        }}
                    </p>
                    <pre class="answer" id="try-answer" aria-busy=move || busy().to_string()>{move || answer.get()}</pre>
                    <p class="field-error" role="alert" id="try-error">
                        {move || match run.get() {
                            Run::Failed(message) => message,
                            _ => String::new(),
                        }}
                    </p>
                </div>
            </Show>
        </section>
        <AppExample />
    }
}

/// How the picker marks a model.
fn serves_words(serves: Serves) -> &'static str {
    match serves {
        Serves::YourKey => "your key",
        Serves::AppsKey => "app's key",
        Serves::NotOnPlan => "not on your plan",
        Serves::NoKey => "no key for it",
    }
}

/// The same, for tests and styles.
fn serves_id(serves: Serves) -> &'static str {
    match serves {
        Serves::YourKey => "yours",
        Serves::AppsKey => "apps",
        Serves::NotOnPlan => "not-on-plan",
        Serves::NoKey => "no-key",
    }
}

/// Today's spending before a request, of each of the provider's usable keys (any may serve:
/// the vault fails over) and of the app's user, to tell what the answer added.
#[derive(Debug)]
struct Spend {
    keys: Vec<(String, Totals)>,
    user: Option<Totals>,
}

impl Spend {
    async fn now(ctx: &Ctx, provider: Provider) -> Self {
        let vault = ctx.vault();
        let now = ctx.now_ms.get_untracked();
        let ids: Vec<String> = ctx
            .keys
            .get_untracked()
            .into_iter()
            .filter(|k| k.provider == provider && k.is_usable(now))
            .map(|k| k.id)
            .collect();
        // At once, not one after another: the request waits for these.
        let reads = ids.into_iter().map(|id| async {
            let today = vault.key_usage(&id).await.ok().map(|(r, _)| r.today);
            today.map(|t| (id, t))
        });
        let keys = futures::future::join_all(reads)
            .await
            .into_iter()
            .flatten()
            .collect();
        let user = if vault.has_user_token() {
            vault.user_usage().await.ok().map(|(r, _)| r.today)
        } else {
            None
        };
        Self { keys, user }
    }

    /// What the answer added, asked of whoever paid (the proxy counts it within a second of
    /// the answer's end). Another request with the same key at the same moment would be
    /// counted in too.
    async fn answer(self, ctx: &Ctx, served: &Served) -> Option<Totals> {
        let vault = ctx.vault();
        let key = served
            .key_id
            .as_ref()
            .and_then(|id| self.keys.iter().find(|(k, _)| k == id));
        for _ in 0..8 {
            sleep(250).await;
            let now = match (served.source.as_deref(), key, &self.user) {
                (Some("user"), Some((id, before)), _) => vault
                    .key_usage(id)
                    .await
                    .ok()
                    .map(|(r, _)| (r.today, before)),
                (Some("server"), _, Some(before)) => vault
                    .user_usage()
                    .await
                    .ok()
                    .map(|(r, _)| (r.today, before)),
                _ => return None,
            };
            let (after, before) = now?;
            if after.requests > before.requests {
                return Some(after.since(before));
            }
        }
        None
    }
}

/// Waits `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        // A timer on `window` cannot fail to be set.
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// What the page sends.
#[derive(Debug)]
struct ChatRequest {
    provider: Provider,
    model: String,
    prompt: String,
}

/// "served with your key “Work” (…abcd)" or "served with the app's key", and how many of
/// the user's keys the provider refused first.
fn describe_source(ctx: &Ctx, served: &Served) -> String {
    let refused = served.attempts.saturating_sub(1);
    let after = match refused {
        0 => String::new(),
        1 => ", after the provider refused your first key".to_owned(),
        n => format!(", after the provider refused {n} of your keys"),
    };
    match served.source.as_deref() {
        Some("server") => "served with the app's key (your key was not used)".into(),
        Some("user") => {
            let key = served
                .key_id
                .as_ref()
                .and_then(|id| ctx.keys.get_untracked().into_iter().find(|k| &k.id == id));
            match key {
                Some(k) => format!("served with your key “{}” ({}){after}", k.label, k.preview),
                None => format!("served with your key{after}"),
            }
        }
        _ => "key source not reported by the proxy".into(),
    }
}

/// Who served an answer: the proxy's key source, and the vault's key and attempts.
#[derive(Debug, Default)]
struct Served {
    source: Option<String>,
    key_id: Option<String>,
    attempts: u32,
}

/// Sends `request` to the unified endpoint with the vault's key and calls `on_text` with each
/// piece of the answer. Returns who served it, or the failure in words.
async fn stream_chat(
    vault: &BrowserVault,
    request: &ChatRequest,
    signal: &web_sys::AbortSignal,
    mut on_text: impl FnMut(&str),
) -> Result<Served, String> {
    let body = serde_json::json!({
        "model": format!("{}/{}", request.provider.id(), request.model),
        "stream": true,
        // So the proxy can count the answer's tokens and price it.
        "stream_options": { "include_usage": true },
        "messages": [{ "role": "user", "content": request.prompt }],
    });
    let (url, body) = match request.provider.openai_compatible_path(UnifiedKind::Chat) {
        // Azure's own OpenAI-compatible route, where the vault puts each key's resource in the
        // path (the unified route's model would have to name it); the deployment is the model.
        Some(path) if request.provider.needs_resource() => {
            let mut body = body;
            body["model"] = request.model.clone().into();
            (format!("{}{path}", request.provider.id()), body)
        }
        _ => ("v1/chat/completions".to_owned(), body),
    };
    let init =
        request_init(&body.to_string(), signal).map_err(|_| "the request could not be built")?;
    let response = vault
        .fetch(request.provider, &url, &init)
        .await
        .map_err(|e| words::vault_error(&e))?;
    let header = |name: &str| response.headers().get(name).ok().flatten();
    let source = Served {
        source: header("x-byok-key-source"),
        key_id: header(byok_vault::wasm::KEY_ID_HEADER),
        attempts: header(byok_vault::wasm::ATTEMPTS_HEADER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
    };
    if !response.ok() {
        return Err(http_failure(&response).await);
    }
    let reader: ReadableStreamDefaultReader = response
        .body()
        .ok_or("the proxy sent an empty answer")?
        .get_reader()
        .unchecked_into();
    let mut decoder = SseDecoder::default();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|err| {
            let aborted = Reflect::get(&err, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .is_some_and(|n| n == "AbortError");
            words::vault_error(&if aborted {
                VaultError::Aborted
            } else {
                VaultError::Unreachable("the answer was cut off".into())
            })
        })?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            return Ok(source);
        }
        let Ok(value) = Reflect::get(&chunk, &"value".into()) else {
            continue;
        };
        let bytes = Uint8Array::new(&value).to_vec();
        for data in decoder.push(&bytes) {
            match chat_event(&data) {
                Some(ChatEvent::Text(text)) => on_text(&text),
                Some(ChatEvent::Error(message)) => {
                    return Err(format!("The provider stopped with an error: {message}"));
                }
                Some(ChatEvent::Done) => return Ok(source),
                None => {}
            }
        }
    }
}

fn request_init(body: &str, signal: &web_sys::AbortSignal) -> Result<JsValue, JsValue> {
    let init = Object::new();
    let headers = Object::new();
    Reflect::set(&headers, &"Content-Type".into(), &"application/json".into())?;
    Reflect::set(&init, &"method".into(), &"POST".into())?;
    Reflect::set(&init, &"headers".into(), &headers)?;
    Reflect::set(&init, &"body".into(), &body.into())?;
    Reflect::set(&init, &"signal".into(), signal)?;
    Ok(init.into())
}

/// The proxy's or provider's error answer, in words.
async fn http_failure(response: &Response) -> String {
    let retry_after = response
        .headers()
        .get("retry-after")
        .ok()
        .flatten()
        .and_then(|s| s.parse().ok());
    let body = match response.json() {
        Ok(pending) => JsFuture::from(pending).await.ok(),
        Err(_) => None,
    };
    let error = body.and_then(|b| Reflect::get(&b, &"error".into()).ok());
    // Providers answer {"error":{"message","code"}} and sometimes {"error":"..."}.
    let field = |name: &str| {
        error
            .as_ref()
            .and_then(|e| Reflect::get(e, &name.into()).ok())
            .and_then(|v| v.as_string())
    };
    let message = error
        .as_ref()
        .and_then(JsValue::as_string)
        .or_else(|| field("message"));
    let code = field("code");
    words::http_error(
        response.status(),
        code.as_deref(),
        message.as_deref(),
        retry_after,
    )
}
