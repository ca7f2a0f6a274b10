//! Grants: short-lived tokens that let an app's background jobs use one of your keys without
//! ever holding it. Make one, see the live ones (requests left, time left), revoke one or all.

use byok_vault::wasm::GrantStatus;
use byok_vault::{GrantRecord, Provider, VaultError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::Ctx;
use crate::{timefmt, words};

/// The lifetimes offered, in seconds.
const LIFETIMES: [(u64, &str); 4] = [
    (300, "5 minutes"),
    (3600, "1 hour"),
    (8 * 3600, "8 hours"),
    (24 * 3600, "24 hours"),
];

/// A grant as the page shows it: the vault's record and, once asked, the proxy's word.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    grant: GrantRecord,
    status: Option<GrantStatus>,
}

/// What a grant failure means to a person.
fn grant_error(err: &VaultError) -> String {
    match err {
        VaultError::Proxy(message) => {
            format!("The proxy refused: {}.", message.trim_end_matches('.'))
        }
        other => words::vault_error(other),
    }
}

/// The grants tab.
#[component]
pub fn GrantsPage() -> impl IntoView {
    let ctx = Ctx::get();
    let rows = RwSignal::new(Vec::<Row>::new());
    let reload = move || {
        spawn_local(async move {
            let vault = ctx.vault();
            let grants = match vault.core().grants().await {
                Ok(grants) => grants,
                Err(err) => return ctx.vault_failed(&err),
            };
            let now_s = ctx.now_ms.get_untracked() / 1000;
            rows.set(
                grants
                    .iter()
                    .cloned()
                    .map(|grant| Row {
                        grant,
                        status: None,
                    })
                    .collect(),
            );
            for grant in grants.into_iter().filter(|g| !g.expired(now_s)) {
                let status = vault.grant_status(&grant.id).await.ok();
                rows.update(|rows| {
                    if let Some(row) = rows.iter_mut().find(|r| r.grant.id == grant.id) {
                        row.status = status;
                    }
                });
            }
        });
    };
    reload();
    let revoke_all = move |_| {
        spawn_local(async move {
            match ctx.vault().revoke_all_grants().await {
                Ok(n) => ctx.done(match n {
                    1 => "1 grant revoked. Jobs using it are refused from now on.".to_owned(),
                    n => format!("{n} grants revoked. Jobs using them are refused from now on."),
                }),
                Err(err) => ctx.failed(grant_error(&err)),
            }
            reload();
        });
    };
    let live = move || {
        let now_s = ctx.now_ms.get() / 1000;
        rows.get()
            .into_iter()
            .filter(|r| !r.grant.expired(now_s) && r.status.as_ref().is_none_or(|s| s.active))
            .collect::<Vec<_>>()
    };
    view! {
        <div class="stack-lg">
            <NewGrant on_made=Callback::new(move |()| reload()) />
            <section class="panel" aria-labelledby="grants-title">
                <h2 id="grants-title">"Active grants"</h2>
                <p>"A grant lets a background job of your app use one of your keys until it expires, without ever holding the key. Revoking one stops it everywhere at once."</p>
                <Show
                    when=move || !live().is_empty()
                    fallback=|| view! { <p class="empty" id="no-grants">"No active grants."</p> }
                >
                    <table class="grants" id="grants">
                        <caption class="visually-hidden">"Active grants"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Label"</th>
                                <th scope="col">"Provider"</th>
                                <th scope="col">"Key"</th>
                                <th scope="col">"Requests left"</th>
                                <th scope="col">"Expires in"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=live key=|r| (r.grant.id.clone(), r.status.clone().map(|s| s.requests_left)) let:row>
                                <GrantRow row=row on_revoked=Callback::new(move |()| reload()) />
                            </For>
                        </tbody>
                    </table>
                    <button class="button secondary danger-text" id="revoke-all" on:click=revoke_all>
                        "Revoke all"
                    </button>
                </Show>
            </section>
        </div>
    }
}

/// One live grant.
#[component]
fn GrantRow(
    /// The grant and what the proxy says of it.
    row: Row,
    /// Called once it is revoked.
    on_revoked: Callback<()>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let Row { grant, status } = row;
    let key_label = ctx
        .keys
        .get_untracked()
        .into_iter()
        .find(|k| k.id == grant.key_id)
        .map_or_else(
            || "a deleted key".to_owned(),
            |k| format!("{} ({})", k.label, k.preview),
        );
    let left = match (
        status.as_ref().and_then(|s| s.requests_left),
        grant.max_requests,
    ) {
        (Some(left), Some(max)) => format!("{left} of {max}"),
        (None, Some(max)) => format!("up to {max}"),
        (_, None) => "no limit".to_owned(),
    };
    let expires_ms = grant.expires_at * 1000;
    let label = if grant.label.is_empty() {
        "Unnamed grant".to_owned()
    } else {
        grant.label.clone()
    };
    let id = grant.id.clone();
    let revoke = move |_| {
        let id = id.clone();
        spawn_local(async move {
            match ctx.vault().revoke_grant(&id).await {
                Ok(()) => ctx.done("Grant revoked. Jobs using it are refused from now on."),
                Err(err) => ctx.failed(grant_error(&err)),
            }
            on_revoked.run(());
        });
    };
    view! {
        <tr data-grant-id=grant.id.clone()>
            <td class="grant-label">{label.clone()}</td>
            <td>{grant.provider.display_name()}</td>
            <td>{key_label}</td>
            <td class="requests-left">{left}</td>
            <td>{move || timefmt::left(expires_ms.saturating_sub(ctx.now_ms.get()))}</td>
            <td>
                <button class="button small danger-text revoke" aria-label=format!("Revoke {label}") on:click=revoke>
                    "Revoke"
                </button>
            </td>
        </tr>
    }
}

/// The form for a new grant; shows the token once.
#[component]
fn NewGrant(
    /// Called once a grant is made.
    on_made: Callback<()>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let label = NodeRef::<leptos::html::Input>::new();
    let max = NodeRef::<leptos::html::Input>::new();
    let models = NodeRef::<leptos::html::Input>::new();
    let cap = NodeRef::<leptos::html::Input>::new();
    let provider = RwSignal::new(None::<Provider>);
    let ttl = RwSignal::new(LIFETIMES[1].0);
    let issued = RwSignal::new(None::<String>);
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let with_keys = move || {
        let mut providers: Vec<Provider> = ctx.keys.get().iter().map(|k| k.provider).collect();
        providers.sort();
        providers.dedup();
        providers
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(chosen) = provider
            .get_untracked()
            .or_else(|| with_keys().first().copied())
        else {
            error.set("Add a key first: a grant lends one of your keys.".into());
            return;
        };
        let value = |input: &NodeRef<leptos::html::Input>| {
            input
                .get_untracked()
                .map(|el| el.value())
                .unwrap_or_default()
        };
        let max_requests = match value(&max).trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    error.set(
                        "Requests must be a whole number of at least 1, or empty for no limit."
                            .into(),
                    );
                    return;
                }
            },
        };
        let daily_cap_usd = match value(&cap).trim() {
            "" => None,
            text => match byok_vault::parse_usd(text) {
                Ok(_) => Some(byok_vault::wasm::Amount::Text(text.to_owned())),
                Err(problem) => {
                    error.set(format!("Daily cap: {problem}."));
                    return;
                }
            },
        };
        let models: Vec<String> = value(&models)
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        let options = byok_vault::wasm::GrantOptions {
            ttl_seconds: Some(ttl.get_untracked()),
            max_requests,
            models: Some(models),
            label: Some(value(&label)),
            key_id: None,
            daily_cap_usd,
        };
        busy.set(true);
        spawn_local(async move {
            let result = ctx.vault().grant(chosen, options).await;
            busy.set(false);
            match result {
                Ok(grant) => {
                    error.set(String::new());
                    issued.set(Some(grant.token().to_owned()));
                    ctx.done("Grant made. Copy the token now: it is shown only once.");
                    on_made.run(());
                }
                Err(err) => error.set(grant_error(&err)),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="new-grant-title">
            <h2 id="new-grant-title">"New grant"</h2>
            <p>"Give the token to a job that runs without this page (a queue worker, a scheduled task). It calls the proxy with the token as its API key; the proxy uses your key for it, only for this provider, until it expires."</p>
            <form class="stack" id="new-grant" on:submit=submit>
                <div class="row">
                    <label for="grant-provider">"Provider"</label>
                    <select id="grant-provider" on:change=move |ev| provider.set(event_target_value(&ev).parse().ok())>
                        {move || with_keys().into_iter().map(|p| view! {
                            <option value=p.id() selected=move || provider.get() == Some(p)>{p.display_name()}</option>
                        }).collect_view()}
                    </select>
                    <label for="grant-ttl">"Lasts"</label>
                    <select id="grant-ttl" on:change=move |ev| {
                        if let Ok(secs) = event_target_value(&ev).parse() { ttl.set(secs) }
                    }>
                        {LIFETIMES.into_iter().map(|(secs, name)| view! {
                            <option value=secs.to_string() selected=move || ttl.get() == secs>{name}</option>
                        }).collect_view()}
                    </select>
                </div>
                <label for="grant-label">"Label"</label>
                <input type="text" id="grant-label" node_ref=label maxlength="64" placeholder="Nightly summary" />
                <label for="grant-max">"Requests allowed (empty: no limit)"</label>
                <input type="text" id="grant-max" node_ref=max inputmode="numeric" />
                <label for="grant-models">"Models (comma-separated; `*` at the end for a prefix; empty: all)"</label>
                <input type="text" id="grant-models" node_ref=models placeholder="gpt-4o-mini, o3*" />
                <label for="grant-cap">"Daily cap in USD (empty: the key's own cap, if it has one)"</label>
                <input type="text" id="grant-cap" node_ref=cap inputmode="decimal" placeholder="2.50" />
                <p class="field-error" role="alert">{move || error.get()}</p>
                <div class="row">
                    <button class="button primary" type="submit" disabled=move || busy.get()>"Make grant"</button>
                </div>
            </form>
            <Show when=move || issued.get().is_some()>
                <div class="issued" role="region" aria-label="New grant token">
                    <p>"The token, shown only this once (it is a secret: give it to the job, not to a log):"</p>
                    <output id="grant-token" class="token">{move || issued.get().unwrap_or_default()}</output>
                    <button class="button small" on:click=move |_| issued.set(None)>"Hide"</button>
                </div>
            </Show>
        </section>
    }
}
