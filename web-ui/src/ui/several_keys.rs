//! Several keys of one provider: which served last, which rest after a provider's 429, and
//! whether requests take turns over them ("spread").

use byok_vault::{KeyInfo, Provider};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::Ctx;
use crate::timefmt;

/// How a resting key is shown, if it rests at `now`: the badge's text.
pub(super) fn resting_badge(cooldown_until_ms: Option<u64>, now: u64) -> Option<String> {
    let until = cooldown_until_ms.filter(|u| *u > now)?;
    Some(format!("Resting, {} left", timefmt::left(until - now)))
}

/// Whether `info` is the key that served `provider`'s last request, among several.
pub(super) fn served_last(keys: &[KeyInfo], info: &KeyInfo) -> bool {
    let mine: Vec<_> = keys
        .iter()
        .filter(|k| k.provider == info.provider)
        .collect();
    mine.len() > 1
        && info.last_used_ms.is_some()
        && mine
            .iter()
            .max_by_key(|k| k.last_used_ms)
            .is_some_and(|k| k.id == info.id)
}

/// For a provider with more than one key: what happens when one is refused, and the spread
/// switch.
#[component]
pub(super) fn SeveralKeys(
    /// The provider.
    provider: Provider,
    /// Its keys.
    keys: Memo<Vec<KeyInfo>>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let spread = RwSignal::new(false);
    Effect::new(move |_| {
        ctx.keys.track();
        spread.set(ctx.vault().core().spreads(provider).unwrap_or(false));
    });
    let toggle = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        spawn_local(async move {
            match ctx.vault().core().set_spread(provider, on).await {
                Ok(()) => {
                    spread.set(on);
                    ctx.done(if on {
                        format!(
                            "{} requests now take turns over its usable keys.",
                            provider.display_name()
                        )
                    } else {
                        format!(
                            "{} requests start with the default key again.",
                            provider.display_name()
                        )
                    });
                }
                Err(err) => ctx.vault_failed(&err),
            }
        });
    };
    let id = format!("spread-{}", provider.id());
    view! {
        <Show when=move || { keys.with(|k| k.len() > 1) }>
            <div class="several-keys">
                <p class="hint">
                    "When the provider refuses a request with one key (it rejects the key, or asks to wait: a rate limit, used-up credit), the same request goes to the next usable key. A key the provider asked to wait rests for as long as it said (a minute if it did not), and the others go first meanwhile."
                </p>
                <label class="check" for=id.clone()>
                    <input type="checkbox" id=id.clone() prop:checked=move || spread.get() on:change=toggle />
                    " Spread requests over the usable keys"
                </label>
                <p class="hint">
                    {move || if spread.get() {
                        "On: requests take turns over every key that is on, starting one further along each time."
                    } else {
                        "Off: requests start with the default key."
                    }}
                </p>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_rests_only_until_its_time() {
        assert_eq!(resting_badge(None, 1_000), None);
        assert_eq!(resting_badge(Some(1_000), 1_000), None);
        assert_eq!(
            resting_badge(Some(1_000 + 30_000), 1_000).as_deref(),
            Some("Resting, under a minute left")
        );
        assert_eq!(
            resting_badge(Some(1_000 + 5 * 60_000), 1_000).as_deref(),
            Some("Resting, 5 minutes left")
        );
    }
}
