//! The Usage tab: 30 days of spending, your keys against the app's, as a chart (inline SVG)
//! and the same figures as tables.

use byok_vault::{Totals, UsageReport};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::Ctx;
use crate::spend::{self, DayBar, ProviderRow};
use crate::words;

/// What the page shows.
#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Asking,
    Ready {
        bars: Vec<DayBar>,
        providers: Vec<ProviderRow>,
        with_app: bool,
    },
    Failed(String),
}

/// The Usage tab.
#[component]
pub fn UsagePage() -> impl IntoView {
    let ctx = Ctx::get();
    let loaded = RwSignal::new(Loaded::Asking);
    let by_cost = RwSignal::new(true);
    Effect::new(move |_| {
        ctx.spend_changed.track();
        let ids: Vec<String> = ctx.keys.get().into_iter().map(|k| k.id).collect();
        let with_app = ctx.user_token.get();
        spawn_local(async move {
            let vault = ctx.vault();
            let mut reports = Vec::with_capacity(ids.len());
            for id in &ids {
                match vault.key_usage(id).await {
                    Ok((report, _)) => reports.push(report),
                    Err(err) => return loaded.set(Loaded::Failed(words::vault_error(&err))),
                }
            }
            let user: Option<UsageReport> = if with_app {
                match vault.user_usage().await {
                    Ok((report, _)) => Some(report),
                    Err(err) => return loaded.set(Loaded::Failed(words::vault_error(&err))),
                }
            } else {
                None
            };
            let (bars, providers) = spend::combine(&reports, user.as_ref(), &today());
            loaded.set(Loaded::Ready {
                bars,
                providers,
                with_app,
            });
        });
    });
    view! {
        <section class="panel" aria-labelledby="usage-title">
            <h1 id="usage-title">"Usage"</h1>
            <p class="lead">
                "What your keys spent in the last 30 days (UTC), as the proxy counted the answers it passed on. Costs come from the proxy's price table; tokens of models it has no price for are counted, their cost shown as unknown."
            </p>
            {move || match loaded.get() {
                Loaded::Asking => view! { <p class="loading" role="status">"Asking the proxy…"</p> }.into_any(),
                Loaded::Failed(message) => view! { <p class="field-error" role="alert">{message}</p> }.into_any(),
                Loaded::Ready { bars, providers, with_app } => view! {
                    <UsageView bars=bars providers=providers with_app=with_app by_cost=by_cost />
                }
                .into_any(),
            }}
        </section>
    }
}

/// The chart and tables.
#[component]
fn UsageView(
    bars: Vec<DayBar>,
    providers: Vec<ProviderRow>,
    /// Whether the app's key's spending is known (the app named its user).
    with_app: bool,
    /// Whether the chart shows dollars (else tokens).
    by_cost: RwSignal<bool>,
) -> impl IntoView {
    let mut yours = Totals::default();
    let mut apps = Totals::default();
    for bar in &bars {
        yours.add(&bar.yours);
        apps.add(&bar.apps);
    }
    let bars = StoredValue::new(bars);
    view! {
        <div class="usage-totals">
            <p id="usage-yours"><strong>"Your keys: "</strong>{spend::summary(&yours)}</p>
            {if with_app {
                view! { <p id="usage-apps"><strong>"The app's key: "</strong>{spend::summary(&apps)}</p> }.into_any()
            } else {
                view! { <p class="hint">"The app's key: not shown, the app has not said who you are."</p> }.into_any()
            }}
        </div>
        <div class="row">
            <label for="usage-measure">"Chart"</label>
            <select id="usage-measure" on:change=move |ev| by_cost.set(event_target_value(&ev) == "cost")>
                <option value="cost" selected=move || by_cost.get()>"Cost (USD)"</option>
                <option value="tokens" selected=move || !by_cost.get()>"Tokens"</option>
            </select>
        </div>
        {move || bars.with_value(|bars| chart_svg(bars, by_cost.get()))}
        <ul class="legend" aria-hidden="true">
            <li><span class="swatch yours"></span>"Your keys"</li>
            <li><span class="swatch apps"></span>"The app's key"</li>
        </ul>
        <h2 class="small-title" id="by-provider-title">"By provider, last 30 days"</h2>
        <table class="figures" aria-labelledby="by-provider-title" id="usage-providers">
            <thead><tr><th scope="col">"Provider"</th><th scope="col">"Your keys"</th><th scope="col">"The app's key"</th></tr></thead>
            <tbody>
                {if providers.is_empty() {
                    view! { <tr><td colspan="3">"Nothing spent yet."</td></tr> }.into_any()
                } else {
                    providers
                        .into_iter()
                        .map(|row| view! {
                            <tr>
                                <th scope="row">{row.provider.map_or("Other", |p| p.display_name())}</th>
                                <td>{spend::summary(&row.yours)}</td>
                                <td>{spend::summary(&row.apps)}</td>
                            </tr>
                        })
                        .collect_view()
                        .into_any()
                }}
            </tbody>
        </table>
        <h2 class="small-title" id="by-day-title">"By day"</h2>
        <table class="figures" aria-labelledby="by-day-title" id="usage-days">
            <thead><tr><th scope="col">"Day (UTC)"</th><th scope="col">"Your keys"</th><th scope="col">"The app's key"</th></tr></thead>
            <tbody>
                {bars.with_value(|bars| {
                    bars.iter()
                        .rev()
                        .map(|bar| view! {
                            <tr>
                                <th scope="row">{bar.date.clone()}</th>
                                <td>{spend::summary(&bar.yours)}</td>
                                <td>{spend::summary(&bar.apps)}</td>
                            </tr>
                        })
                        .collect_view()
                })}
            </tbody>
        </table>
    }
}

/// 30 stacked bars: your keys below, the app's key above. Decorative for screen readers: the
/// tables below hold the same figures.
fn chart_svg(bars: &[DayBar], by_cost: bool) -> AnyView {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 160.0;
    let top = spend::scale(bars, by_cost);
    #[allow(clippy::cast_precision_loss)] // 30 bars
    let step = WIDTH / bars.len().max(1) as f64;
    let measure = |t: &Totals| spend::measure(t, by_cost);
    let peak = if by_cost {
        spend::dollars(Some(top))
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let tokens = top as u64;
        format!("{} tokens", spend::count(tokens))
    };
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            #[allow(clippy::cast_precision_loss)]
            let x = i as f64 * step + 1.0;
            let yours = measure(&bar.yours) / top * HEIGHT;
            let apps = measure(&bar.apps) / top * HEIGHT;
            let title = format!(
                "{}: your keys {}, the app's key {}",
                bar.date,
                spend::summary(&bar.yours),
                spend::summary(&bar.apps)
            );
            view! {
                <g data-date=bar.date.clone()>
                    <title>{title}</title>
                    <rect class="bar yours" x=x y=HEIGHT - yours width=step - 2.0 height=yours></rect>
                    <rect class="bar apps" x=x y=HEIGHT - yours - apps width=step - 2.0 height=apps></rect>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg
                id="usage-chart"
                viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 2.0)
                role="img"
                aria-label=format!("Spending per day for 30 days; the highest day is {peak}. The same figures are in the tables below.")
                preserveAspectRatio="none"
            >
                <line class="axis" x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT></line>
                {rects}
            </svg>
            <figcaption>
                {format!("Highest day: {peak}. {} to {}.", bars.first().map_or("", |b| b.date.as_str()), bars.last().map_or("", |b| b.date.as_str()))}
            </figcaption>
        </figure>
    }
    .into_any()
}

/// Today's UTC date, `YYYY-MM-DD`.
fn today() -> String {
    let iso: String = js_sys::Date::new_0().to_iso_string().into();
    iso.chars().take(10).collect()
}
