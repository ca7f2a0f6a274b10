//! The keys tab: one card per provider with its saved keys.

use byok_vault::{CapStatus, KeyInfo, Provider, TestStatus, UsageReport, validate_label};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::add_key::AddKeyForm;
use super::key_life::{ExpiryForm, ReplaceForm, ServingNote, expiry_badge, set_enabled};
use super::key_parts::{RowMode, capitalize};
use super::several_keys::{SeveralKeys, resting_badge, served_last};
use super::state::Ctx;
use super::widgets::focus_when_shown;
use crate::spend;
use crate::timefmt;
use crate::words;

/// The featured providers' cards and those of every provider with a key (or just picked),
/// a picker for the others, and damaged records if there are any.
#[component]
pub fn KeysPage() -> impl IntoView {
    let ctx = Ctx::get();
    // Providers picked from the list this visit: their cards stay until the page is left.
    let picked = RwSignal::new(Vec::<Provider>::new());
    let shown = Memo::new(move |_| {
        let keys = ctx.keys.get();
        let picked = picked.get();
        Provider::ALL
            .into_iter()
            .filter(|p| {
                Provider::FEATURED.contains(p)
                    || picked.contains(p)
                    || keys.iter().any(|k| k.provider == *p)
            })
            .collect::<Vec<_>>()
    });
    let others = move || {
        let shown = shown.get();
        Provider::ALL
            .into_iter()
            .filter(|p| !shown.contains(p))
            .collect::<Vec<_>>()
    };
    // What the list shows is what is picked: read from it, not from a copy of it.
    let select = NodeRef::<leptos::html::Select>::new();
    let pick = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(provider) = select
            .get()
            .and_then(|s| s.value().parse::<Provider>().ok())
        else {
            return;
        };
        picked.update(|p| p.push(provider));
    };
    view! {
        <div class="stack-lg">
            <Show when=move || !ctx.unreadable.get().is_empty()>
                <Unreadable />
            </Show>
            <div class="cards">
                <For each=move || shown.get() key=|p| *p let:provider>
                    <ProviderCard
                        provider=provider
                        adding_at_first=picked.with_untracked(|p| p.contains(&provider))
                    />
                </For>
            </div>
            <Show when=move || !others().is_empty()>
                <form class="panel row wrap" id="more-providers" on:submit=pick aria-label="Add a key for another provider">
                    <label for="other-provider">"Another provider"</label>
                    <select id="other-provider" node_ref=select>
                        {move || others().into_iter().map(|p| view! {
                            <option value=p.id()>{p.display_name()}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit" class="button secondary">"Add a key"</button>
                </form>
            </Show>
        </div>
    }
}

/// A provider, its keys and the add form.
#[component]
fn ProviderCard(
    /// The provider shown.
    provider: Provider,
    /// Whether the add form is open from the start (a provider just picked from the list).
    #[prop(optional)]
    adding_at_first: bool,
) -> impl IntoView {
    let ctx = Ctx::get();
    let adding = RwSignal::new(adding_at_first);
    let keys = Memo::new(move |_| {
        ctx.keys
            .get()
            .into_iter()
            .filter(|k| k.provider == provider)
            .collect::<Vec<_>>()
    });
    let not_served = move || {
        ctx.served
            .get()
            .is_some_and(|served| !served.contains(&provider))
    };
    let title_id = format!("card-{}", provider.id());
    let labelled_by = title_id.clone();
    view! {
        <section class="card" id=format!("provider-{}", provider.id()) aria-labelledby=labelled_by>
            <header class="card-head">
                <h2 id=title_id>{provider.display_name()}</h2>
                <span class="count">
                    {move || match keys.get().len() {
                        0 => "no keys".to_owned(),
                        1 => "1 key".to_owned(),
                        n => format!("{n} keys"),
                    }}
                </span>
            </header>
            <Show when=not_served>
                <p class="hint">"This proxy is not set up to serve this provider; saved keys cannot be used through it yet."</p>
            </Show>
            <ul class="keys" aria-label=format!("{} keys", provider.display_name())>
                <For each=move || keys.get() key=|k| (k.id.clone(), k.updated_ms, k.label.clone(), k.is_default, k.test_status, k.last_tested_ms, k.last_used_ms, k.daily_cap_usd.clone(), k.cooldown_until_ms) let:info>
                    <KeyRow info=info />
                </For>
            </ul>
            <ServingNote provider=provider keys=keys />
            <SeveralKeys provider=provider keys=keys />
            <Show
                when=move || adding.get()
                fallback=move || {
                    view! {
                        <button class="button secondary add" on:click=move |_| adding.set(true)>
                            {format!("Add {} key", provider.display_name())}
                        </button>
                    }
                }
            >
                <AddKeyForm provider=provider adding=adding />
            </Show>
        </section>
    }
}

/// One saved key: what we know of it and what can be done with it.
#[component]
fn KeyRow(
    /// The key's metadata.
    info: KeyInfo,
) -> impl IntoView {
    let ctx = Ctx::get();
    let id = StoredValue::new(info.id.clone());
    let label = StoredValue::new(info.label.clone());
    let mode = RwSignal::new(RowMode::View);
    let testing = RwSignal::new(false);
    let described = format!(
        "{} key {} ending {}",
        info.provider.display_name(),
        info.label,
        info.preview
    );

    let test = move |_| {
        testing.set(true);
        spawn_local(async move {
            let result = ctx.vault().test_key(&id.get_value()).await;
            testing.set(false);
            ctx.refresh();
            let name = label.get_value();
            match result {
                Ok(r) if r.valid => ctx.done(format!("“{name}” works: the provider accepted it.")),
                Ok(r) => ctx.failed(words::key_refused(
                    "The provider",
                    &format!("“{name}”"),
                    r.status,
                )),
                Err(err) => ctx.vault_failed(&err),
            }
        });
    };
    let make_default = move |_| {
        spawn_local(async move {
            match ctx.vault().core().set_default(&id.get_value()).await {
                Ok(()) => {
                    ctx.refresh();
                    ctx.done(format!("“{}” is now the default key.", label.get_value()));
                }
                Err(err) => ctx.vault_failed(&err),
            }
        });
    };
    let delete = move |_| {
        spawn_local(async move {
            // Its grants go first: without the key nothing could revoke them later.
            let vault = ctx.vault();
            let grants = vault.revoke_grants_of(&id.get_value()).await;
            match vault.core().remove(&id.get_value()).await {
                Ok(()) => {
                    ctx.refresh();
                    let name = label.get_value();
                    match grants {
                        Ok(0) => ctx.done(format!("“{name}” was deleted.")),
                        Ok(_) => ctx.done(format!("“{name}” was deleted, and its grants revoked.")),
                        Err(_) => ctx.done(format!(
                            "“{name}” was deleted. Its grants could not be revoked now; they stop when they expire."
                        )),
                    }
                }
                Err(err) => ctx.vault_failed(&err),
            }
        });
    };

    let status = move || {
        let now = ctx.now_ms.get();
        let when = info
            .last_tested_ms
            .map(|t| timefmt::ago(now, t))
            .unwrap_or_default();
        match info.test_status {
            TestStatus::Untested => ("untested", "Not tested yet".to_owned()),
            TestStatus::Valid => ("valid", format!("Valid · tested {when}")),
            TestStatus::Invalid => ("invalid", format!("Rejected · tested {when}")),
        }
    };
    let enabled = info.enabled;
    let expires_ms = info.expires_ms;
    let expiry = move || expiry_badge(expires_ms, ctx.now_ms.get());
    let usable = {
        let info = info.clone();
        Signal::derive(move || info.is_usable(ctx.now_ms.get()))
    };
    let cooldown = info.cooldown_until_ms;
    let resting = move || resting_badge(cooldown, ctx.now_ms.get());
    let last = {
        let info = info.clone();
        move || ctx.keys.with(|keys| served_last(keys, &info))
    };
    let used = move || {
        info.last_used_ms.map_or_else(
            || "Never used".to_owned(),
            |t| format!("Used {}", timefmt::ago(ctx.now_ms.get(), t)),
        )
    };

    view! {
        <li class="key" data-key-id=info.id.clone()>
            <div class="key-main">
                <span class="key-label">{info.label.clone()}</span>
                <code class="preview" aria-label=format!("ending in {}", info.preview.trim_start_matches('…'))>
                    {info.preview.clone()}
                </code>
                {info.resource.clone().map(|resource| view! {
                    <span class="resource" title="The Azure resource this key belongs to">
                        {format!("{resource}.openai.azure.com")}
                    </span>
                })}
                <Show when=move || info.is_default>
                    <span class="badge default">"Default"</span>
                </Show>
                <Show when=move || !enabled>
                    <span class="badge off">"Off: not sent"</span>
                </Show>
                {move || expiry().map(|(class, text)| view! { <span class=format!("badge expiry {class}")>{text}</span> })}
                <span class=move || format!("badge status {}", status().0)>{move || status().1}</span>
                {move || resting().map(|text| view! {
                    <span class="badge resting" title="The provider answered 429 (a rate limit or used-up credit): the other keys go first until then.">{text}</span>
                })}
                <Show when=last.clone()>
                    <span class="badge served" title="The provider's last request went with this key.">"Served the last request"</span>
                </Show>
                <span class="used">{used}</span>
            </div>
            <KeySpend id=id cap=info.daily_cap_usd.clone() />
            {move || match mode.get() {
                RowMode::View => view! {
                    <div class="key-actions" role="group" aria-label=format!("Actions for {described}")>
                        // An off or expired key is never sent, not even to be tested.
                        <Show when=move || usable.get()>
                            <button class="button small" on:click=test disabled=move || testing.get()>
                                {move || if testing.get() { "Testing…" } else { "Test" }}
                            </button>
                        </Show>
                        <button class="button small" on:click=move |_| mode.set(RowMode::Rename)>"Rename"</button>
                        <button class="button small" on:click=move |_| mode.set(RowMode::Replace)>"Replace"</button>
                        <button class="button small" on:click=move |_| set_enabled(id, label, !enabled)>
                            {if enabled { "Turn off" } else { "Turn on" }}
                        </button>
                        <button class="button small" on:click=move |_| mode.set(RowMode::Expiry)>"Expiry"</button>
                        <button class="button small" on:click=move |_| mode.set(RowMode::Cap)>"Daily cap"</button>
                        <Show when=move || !info.is_default>
                            <button class="button small" on:click=make_default>"Make default"</button>
                        </Show>
                        <button class="button small danger-text" on:click=move |_| mode.set(RowMode::ConfirmDelete)>"Delete"</button>
                    </div>
                }
                .into_any(),
                RowMode::Rename => view! { <RenameForm id=id label=label mode=mode /> }.into_any(),
                RowMode::Cap => view! { <CapForm id=id label=label cap=info.daily_cap_usd.clone() mode=mode /> }.into_any(),
                RowMode::Replace => view! { <ReplaceForm id=id label=label provider=info.provider mode=mode /> }.into_any(),
                RowMode::Expiry => view! { <ExpiryForm id=id label=label expires_ms=info.expires_ms mode=mode /> }.into_any(),
                RowMode::ConfirmDelete => {
                    let keep = NodeRef::<leptos::html::Button>::new();
                    focus_when_shown(keep);
                    view! {
                    <div class="confirm" role="alertdialog" aria-label="Confirm deletion">
                        <p>
                            {format!("Delete “{}” ({})? Apps using it stop working until you add another {} key.",
                                label.get_value(), info.preview, info.provider.display_name())}
                        </p>
                        <button class="button small danger" on:click=delete>"Delete key"</button>
                        <button class="button small" node_ref=keep on:click=move |_| mode.set(RowMode::View)>"Keep it"</button>
                    </div>
                    }
                    .into_any()
                }
            }}
        </li>
    }
}

/// What a key spent today and in 30 days (asked of the proxy with that key), and its cap.
#[component]
fn KeySpend(
    /// The key's id.
    id: StoredValue<String>,
    /// Its daily cap in dollars, if any.
    cap: Option<String>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let spend = RwSignal::new(None::<Result<UsageReport, String>>);
    let cap_note = move || {
        let report = spend.get()?.ok()?;
        let cap = ctx.vault().core().daily_cap(&id.get_value()).ok()?;
        spend::cap_note(CapStatus::of(cap, &report.today).as_ref())
    };
    Effect::new(move |_| {
        // Again after each answer on the Try-it tab.
        ctx.spend_changed.track();
        spawn_local(async move {
            let report = ctx.vault().key_usage(&id.get_value()).await;
            spend.set(Some(
                report.map(|(r, _)| r).map_err(|e| words::vault_error(&e)),
            ));
        });
    });
    let cap_text = cap.map_or_else(
        || "No daily cap".to_owned(),
        |usd| format!("Daily cap ${usd}"),
    );
    view! {
        <p class="key-spend" data-spend=move || spend.get().map(|s| s.is_ok().to_string())>
            {move || match spend.get() {
                None => "Usage: asking the proxy…".to_owned(),
                Some(Ok(r)) => format!(
                    "Today: {}; last 30 days: {}",
                    spend::summary(&r.today),
                    spend::summary(&r.last_30_days)
                ),
                Some(Err(_)) => "Usage: the proxy could not say".to_owned(),
            }}
            <span class="cap">{cap_text}</span>
            {move || cap_note().map(|note| view! { <span class="cap-note" role="status">{note}</span> })}
        </p>
    }
}

/// Setting or removing a key's daily spend cap.
#[component]
fn CapForm(
    /// The key's id.
    id: StoredValue<String>,
    /// Its label, for the message.
    label: StoredValue<String>,
    /// The cap now, in dollars.
    cap: Option<String>,
    /// Its row's mode, back to view when done.
    mode: RwSignal<RowMode>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(String::new());
    let field_id = format!("cap-{}", id.get_value());
    let hint_id = format!("{field_id}-hint");
    focus_when_shown(input);
    let set = move |cap: Option<u64>| {
        spawn_local(async move {
            match ctx.vault().core().set_daily_cap(&id.get_value(), cap).await {
                Ok(info) => {
                    mode.set(RowMode::View);
                    ctx.refresh();
                    let name = label.get_value();
                    ctx.done(match info.daily_cap_usd {
                        Some(usd) => format!("“{name}” may spend at most ${usd} a day (UTC)."),
                        None => format!("“{name}” has no daily cap now."),
                    });
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = input
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        match byok_vault::parse_usd(&value) {
            Ok(micros) => set(Some(micros)),
            Err(problem) => error.set(format!("{}.", capitalize(&problem))),
        }
    };
    let has_cap = cap.is_some();
    view! {
        <form class="inline-form" on:submit=save>
            <label for=field_id.clone()>"Daily cap (USD)"</label>
            <input
                id=field_id
                type="text"
                inputmode="decimal"
                required
                node_ref=input
                value=cap.unwrap_or_default()
                aria-describedby=hint_id.clone()
            />
            <button class="button small primary" type="submit">"Save cap"</button>
            <Show when=move || has_cap>
                <button class="button small" type="button" on:click=move |_| set(None)>"Remove cap"</button>
            </Show>
            <button class="button small" type="button" on:click=move |_| mode.set(RowMode::View)>"Cancel"</button>
            <p class="hint" id=hint_id>
                "Once this key has spent this much in a UTC day, the proxy refuses its requests until midnight UTC. A request already running may go over by its own cost."
            </p>
            <p class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// Inline rename of a key.
#[component]
fn RenameForm(
    /// The key's id.
    id: StoredValue<String>,
    /// Its current label.
    label: StoredValue<String>,
    /// Its row's mode, back to view when done.
    mode: RwSignal<RowMode>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(String::new());
    let field_id = format!("rename-{}", id.get_value());
    focus_when_shown(input);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(value) = input.get_untracked().map(|el| el.value()) else {
            return;
        };
        if let Err(problem) = validate_label(&value) {
            error.set(format!("{}.", capitalize(&problem)));
            return;
        }
        spawn_local(async move {
            match ctx.vault().core().rename(&id.get_value(), &value).await {
                Ok(info) => {
                    mode.set(RowMode::View);
                    ctx.refresh();
                    ctx.done(format!("Renamed to “{}”.", info.label));
                }
                Err(err) => error.set(words::vault_error(&err)),
            }
        });
    };
    view! {
        <form class="inline-form" on:submit=save>
            <label for=field_id.clone()>"New name"</label>
            <input id=field_id type="text" maxlength="64" required node_ref=input value=label.get_value() />
            <button class="button small primary" type="submit">"Save"</button>
            <button class="button small" type="button" on:click=move |_| mode.set(RowMode::View)>"Cancel"</button>
            <p class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// Damaged records: say so and offer to delete them.
#[component]
fn Unreadable() -> impl IntoView {
    let ctx = Ctx::get();
    let remove = move |_| {
        spawn_local(async move {
            let vault = ctx.vault();
            for id in ctx.unreadable.get_untracked() {
                if let Err(err) = vault.core().remove(&id).await {
                    ctx.vault_failed(&err);
                    return;
                }
            }
            ctx.refresh();
            ctx.done("The damaged records were deleted.");
        });
    };
    view! {
        <section class="panel warning" role="alert">
            <h2>"Some saved keys cannot be read"</h2>
            <p>
                {move || format!("{} record(s) in this browser's storage are damaged and could not be decrypted. The other keys work normally.", ctx.unreadable.get().len())}
            </p>
            <button class="button danger" on:click=remove>"Delete the damaged records"</button>
        </section>
    }
}
