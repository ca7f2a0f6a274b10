//! Spending in figures: dollar amounts and token counts as the page writes them, and the 30
//! days of the Usage chart (your keys against the app's, per day and per provider).

use byok_providers::day::{date, day_number};
use byok_vault::{CapStatus, KeySource, Provider, Totals, UsageReport};

/// Days in the chart, today included.
pub const DAYS: usize = 30;

/// Dollars as people read them: `$0.00`, `$12.30`, or "unknown"; amounts under a cent keep
/// two significant digits (`$0.0042`, `$0.0000056`) so a single request is not shown as free.
#[must_use]
pub fn dollars(usd: Option<f64>) -> String {
    match usd {
        None => "unknown".into(),
        Some(usd) if usd > 0.0 && usd < 0.01 => {
            // -log10 of an amount in (1e-300, 0.01) is in (2, 300): a small positive count.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let decimals = (1.0 - usd.log10().floor()).min(12.0) as usize;
            format!("${usd:.decimals$}")
        }
        Some(usd) => format!("${usd:.2}"),
    }
}

/// What a key row says of its daily cap today: nothing below 80% of it, a warning from there,
/// and that it is reached at 100%.
#[must_use]
pub fn cap_note(cap: Option<&CapStatus>) -> Option<String> {
    let cap = cap.filter(|c| c.near)?;
    Some(if cap.reached {
        format!(
            "Today's cap of {} is reached: the proxy refuses this key until midnight UTC.",
            dollars(Some(cap.cap_usd))
        )
    } else {
        format!(
            "{}% of today's cap spent ({} of {}).",
            cap.used_percent,
            dollars(Some(cap.spent_usd)),
            dollars(Some(cap.cap_usd))
        )
    })
}

/// A count with thousands separators: `12,345` (the vault's, so every number reads alike).
pub use byok_vault::group_thousands as count;

/// "1,234 tokens · $0.0042", with "cost unknown" when some of it could not be priced.
#[must_use]
pub fn summary(t: &Totals) -> String {
    let tokens = match t.tokens() {
        1 => "1 token".to_owned(),
        n => format!("{} tokens", count(n)),
    };
    let cost = if t.requests == 0 {
        "$0.00".to_owned()
    } else if t.unpriced_requests == t.requests {
        "cost unknown".to_owned()
    } else if t.unpriced_requests > 0 {
        format!("{} + unpriced", dollars(t.cost_usd))
    } else {
        dollars(t.cost_usd.or(Some(0.0)))
    };
    format!("{tokens} · {cost}")
}

/// One day of the chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayBar {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Spent on the user's keys (directly or through grants).
    pub yours: Totals,
    /// Spent on the app's key.
    pub apps: Totals,
}

/// One provider over the 30 days.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderRow {
    /// The provider.
    pub provider: Option<Provider>,
    /// On the user's keys.
    pub yours: Totals,
    /// On the app's key.
    pub apps: Totals,
}

/// The chart's 30 days ending `today` (every day, zero when nothing was spent) and the
/// per-provider totals, from a report asked for `?by=source`.
#[must_use]
pub fn chart(report: &UsageReport, today: &str) -> (Vec<DayBar>, Vec<ProviderRow>) {
    let Some(last) = day_number(today) else {
        return (Vec::new(), Vec::new());
    };
    let mut bars: Vec<DayBar> = (0..DAYS as i64)
        .rev()
        .map(|back| DayBar {
            date: date(last - back),
            ..DayBar::default()
        })
        .collect();
    let mut providers: Vec<ProviderRow> = Vec::new();
    for day in &report.days {
        let Some(bar) = bars.iter_mut().find(|b| b.date == day.date) else {
            continue; // older than the chart (the proxy's clock ahead of this one)
        };
        for source in &day.sources {
            let row = match providers
                .iter_mut()
                .position(|r| r.provider == Some(source.provider))
            {
                Some(i) => &mut providers[i],
                None => {
                    providers.push(ProviderRow {
                        provider: Some(source.provider),
                        ..ProviderRow::default()
                    });
                    let last = providers.len() - 1;
                    &mut providers[last]
                }
            };
            if source.key_source == KeySource::Server {
                bar.apps.add(&source.totals);
                row.apps.add(&source.totals);
            } else {
                bar.yours.add(&source.totals);
                row.yours.add(&source.totals);
            }
        }
    }
    providers.sort_by_key(|r| r.provider);
    (bars, providers)
}

/// The chart from the user's keys' reports (each asked with its key) and, when the app has
/// named its user, the user's report, of which only the app's key is taken: the user's own
/// keys are already counted per key.
#[must_use]
pub fn combine(
    keys: &[UsageReport],
    user: Option<&UsageReport>,
    today: &str,
) -> (Vec<DayBar>, Vec<ProviderRow>) {
    let (mut bars, mut providers) = chart(&UsageReport::sum(keys), today);
    for bar in &mut bars {
        bar.apps = Totals::default();
    }
    for row in &mut providers {
        row.apps = Totals::default();
    }
    if let Some(user) = user {
        let (user_bars, user_providers) = chart(user, today);
        for (bar, theirs) in bars.iter_mut().zip(user_bars) {
            bar.apps = theirs.apps;
        }
        for theirs in user_providers.into_iter().filter(|r| r.apps.requests > 0) {
            match providers.iter_mut().find(|r| r.provider == theirs.provider) {
                Some(row) => row.apps = theirs.apps,
                None => providers.push(ProviderRow {
                    yours: Totals::default(),
                    ..theirs
                }),
            }
        }
        providers.sort_by_key(|r| r.provider);
    }
    providers.retain(|r| r.yours.requests + r.apps.requests > 0);
    (bars, providers)
}

/// A day's height in the chart's unit: dollars, or tokens.
#[must_use]
pub fn measure(t: &Totals, by_cost: bool) -> f64 {
    if by_cost {
        t.cost_usd.unwrap_or(0.0)
    } else {
        // Token counts of a day stay far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        let tokens = t.tokens() as f64;
        tokens
    }
}

/// The tallest bar's height in the chart's unit (dollars or tokens), never zero.
#[must_use]
pub fn scale(bars: &[DayBar], by_cost: bool) -> f64 {
    bars.iter()
        .map(|b| measure(&b.yours, by_cost) + measure(&b.apps, by_cost))
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use byok_vault::{SourceUsage, UsageDay};

    #[test]
    fn a_cap_is_mentioned_from_eighty_percent() {
        let status = |usd: f64| CapStatus::of(Some(2_000_000), &spent(1, usd));
        assert_eq!(cap_note(None), None);
        assert_eq!(cap_note(status(1.5).as_ref()), None, "75%: not yet");
        assert_eq!(
            cap_note(status(1.8).as_ref()).as_deref(),
            Some("90% of today's cap spent ($1.80 of $2.00).")
        );
        assert_eq!(
            cap_note(status(2.4).as_ref()).as_deref(),
            Some("Today's cap of $2.00 is reached: the proxy refuses this key until midnight UTC.")
        );
    }

    fn spent(requests: u64, cost: f64) -> Totals {
        Totals {
            requests,
            input_tokens: 10 * requests,
            output_tokens: 5 * requests,
            cost_usd: Some(cost),
            ..Totals::default()
        }
    }

    #[test]
    fn amounts_and_counts_read_naturally() {
        assert_eq!(dollars(Some(0.0)), "$0.00");
        assert_eq!(dollars(Some(0.00042)), "$0.00042");
        assert_eq!(dollars(Some(0.0042)), "$0.0042");
        assert_eq!(dollars(Some(5.55e-6)), "$0.0000056");
        assert_eq!(dollars(Some(12.3)), "$12.30");
        assert_eq!(dollars(None), "unknown");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(summary(&spent(2, 0.5)), "30 tokens · $0.50");
        assert_eq!(summary(&Totals::default()), "0 tokens · $0.00");
        let unknown = Totals {
            unpriced_requests: 1,
            cost_usd: Some(0.0),
            ..spent(1, 0.0)
        };
        assert_eq!(summary(&unknown), "15 tokens · cost unknown");
    }

    #[test]
    fn the_chart_has_thirty_days_and_splits_yours_from_the_apps() {
        let report = UsageReport {
            days: vec![
                UsageDay {
                    date: "2026-11-01".into(), // 30 days before: outside the chart
                    totals: spent(9, 9.0),
                    sources: vec![SourceUsage {
                        provider: Provider::Openai,
                        key_source: KeySource::User,
                        totals: spent(9, 9.0),
                    }],
                },
                UsageDay {
                    date: "2026-11-30".into(),
                    totals: spent(3, 0.6),
                    sources: vec![
                        SourceUsage {
                            provider: Provider::Openai,
                            key_source: KeySource::User,
                            totals: spent(1, 0.1),
                        },
                        SourceUsage {
                            provider: Provider::Anthropic,
                            key_source: KeySource::Grant,
                            totals: spent(1, 0.2),
                        },
                        SourceUsage {
                            provider: Provider::Openai,
                            key_source: KeySource::Server,
                            totals: spent(1, 0.3),
                        },
                    ],
                },
            ],
            ..UsageReport::default()
        };
        let (bars, providers) = chart(&report, "2026-12-01");
        assert_eq!(bars.len(), DAYS);
        assert_eq!(bars[0].date, "2026-11-02");
        assert_eq!(bars[29].date, "2026-12-01");
        assert_eq!(bars[29].yours.requests, 0);
        let nov30 = &bars[28];
        assert_eq!((nov30.yours.requests, nov30.apps.requests), (2, 1));
        assert!((nov30.yours.cost_usd.unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(providers.len(), 2);
        assert_eq!(providers[0].provider, Some(Provider::Openai));
        assert_eq!(
            (providers[0].yours.requests, providers[0].apps.requests),
            (1, 1)
        );
        assert_eq!(providers[1].yours.cost_usd, Some(0.2));
        assert_eq!(chart(&report, "not a date"), (Vec::new(), Vec::new()));

        // The user's report counts the user's own keys again: only its app's-key part is used.
        let (bars, providers) = combine(std::slice::from_ref(&report), Some(&report), "2026-12-01");
        assert_eq!((bars[28].yours.requests, bars[28].apps.requests), (2, 1));
        assert_eq!(providers.len(), 2);
        let (bars, _) = combine(&[report.clone(), report.clone()], None, "2026-12-01");
        assert_eq!(
            (bars[28].yours.requests, bars[28].apps.requests),
            (4, 0),
            "no app's key without the user"
        );
        assert!((scale(&bars, true) - 0.6).abs() < 1e-12);
        assert!((scale(&bars, false) - 60.0).abs() < 1e-12);
        assert!(
            scale(&[], true) > 0.0,
            "an empty chart divides by something"
        );
    }
}
