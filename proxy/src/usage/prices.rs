//! The price table: USD per million tokens by provider and model, bundled
//! (`proxy/prices.toml`) and extended or overridden by the operator's `--prices` file.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::core::Provider;
use crate::core::ledger::Tokens;

/// The bundled table.
pub const BUNDLED: &str = include_str!("../../prices.toml");

/// Longest model name or pattern in a table.
const MAX_MODEL: usize = 128;

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// The provider.
    pub provider: Provider,
    /// An exact model name, or a prefix ending in `*`.
    pub model: String,
    /// Input tokens not read from a cache.
    pub input: f64,
    /// Input tokens read from a cache (default: `input`).
    pub cached_input: Option<f64>,
    /// Output tokens, reasoning included.
    pub output: f64,
    /// Tokens written to a cache (default: `input`).
    pub cache_write: Option<f64>,
    /// The day these prices were last read from their source (`YYYY-MM-DD`; every bundled
    /// entry has one).
    #[serde(default)]
    pub checked: Option<String>,
    /// The page they were read from.
    #[serde(default)]
    pub source: Option<String>,
    /// Its place in the table (for metrics labels).
    #[serde(skip)]
    pub id: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    model: Vec<Price>,
}

/// Prices by provider and model name (see [`PriceTable::find`]).
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    exact: BTreeMap<Provider, BTreeMap<String, Price>>,
    /// Prefix entries (the `*` removed), longest first.
    prefixes: Vec<(Provider, String, Price)>,
    /// Where the bundled prices come from, for `/byok/models`.
    pub source: String,
    /// Each entry's model as written, by [`Price::id`].
    names: Vec<String>,
}

impl PriceTable {
    /// The bundled table with `extra` (the operator's file, if any) merged over it.
    ///
    /// # Errors
    ///
    /// What is wrong with the file: TOML, an unknown field, a negative or non-finite price,
    /// a pattern with `*` anywhere but the end.
    pub fn load(extra: Option<&str>) -> Result<Self, String> {
        let mut table = Self::default();
        for (text, what) in
            std::iter::once((BUNDLED, "bundled")).chain(extra.map(|t| (t, "--prices")))
        {
            let file: File =
                toml::from_str(text).map_err(|e| format!("{what} prices: {}", e.message()))?;
            if let Some(source) = file.source {
                table.source = source;
            }
            for price in file.model {
                check(&price).map_err(|p| {
                    format!(
                        "{what} prices, {}/{}: {p}",
                        price.provider,
                        price.model.chars().take(MAX_MODEL).collect::<String>()
                    )
                })?;
                match price.model.strip_suffix('*') {
                    Some(prefix) => {
                        let prefix = prefix.to_owned();
                        table
                            .prefixes
                            .retain(|(p, m, _)| !(*p == price.provider && *m == prefix));
                        table.prefixes.push((price.provider, prefix, price));
                    }
                    None => {
                        table
                            .exact
                            .entry(price.provider)
                            .or_default()
                            .insert(price.model.clone(), price);
                    }
                }
            }
        }
        table.prefixes.sort_by_key(|p| std::cmp::Reverse(p.1.len()));
        let prices = table
            .exact
            .values_mut()
            .flat_map(BTreeMap::values_mut)
            .chain(table.prefixes.iter_mut().map(|p| &mut p.2));
        for (id, price) in prices.enumerate() {
            price.id = u32::try_from(id).unwrap_or(u32::MAX);
            table.names.push(price.model.clone());
        }
        Ok(table)
    }

    /// The entry pricing `model` of `provider`: the exact name, else the longest matching
    /// prefix.
    #[must_use]
    pub fn find(&self, provider: Provider, model: &str) -> Option<&Price> {
        self.exact
            .get(&provider)
            .and_then(|models| models.get(model))
            .or_else(|| {
                self.prefixes
                    .iter()
                    .find(|(p, prefix, _)| *p == provider && model.starts_with(prefix.as_str()))
                    .map(|(_, _, price)| price)
            })
    }

    /// The model of the entry `id`, as written.
    #[must_use]
    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    /// Every exactly named model, by provider then name (for `/byok/models`).
    pub fn exact_models(&self) -> impl Iterator<Item = &Price> {
        self.exact.values().flat_map(BTreeMap::values)
    }
}

fn check(price: &Price) -> Result<(), &'static str> {
    let name = price.model.strip_suffix('*').unwrap_or(&price.model);
    let odd = |c: char| c.is_control() || c == '"' || c == '\\' || c == '|';
    if name.is_empty() && !price.model.ends_with('*')
        || name.contains('*')
        || price.model.len() > MAX_MODEL
        || price.model.chars().any(odd)
    {
        return Err(
            "a model is a name of at most 128 characters, with `*` only at the end and no quotes, backslashes or `|`",
        );
    }
    let all = [
        Some(price.input),
        price.cached_input,
        Some(price.output),
        price.cache_write,
    ];
    if all.into_iter().flatten().any(|p| !p.is_finite() || p < 0.0) {
        return Err("prices must be finite and not negative");
    }
    Ok(())
}

impl Price {
    /// What `tokens` cost at these prices, USD.
    #[must_use]
    pub fn cost(&self, tokens: &Tokens) -> f64 {
        let fresh = tokens
            .input
            .saturating_sub(tokens.cached_input + tokens.cache_creation);
        #[allow(clippy::cast_precision_loss)] // token counts stay far below 2^52
        let per_million = fresh as f64 * self.input
            + tokens.cached_input as f64 * self.cached_input.unwrap_or(self.input)
            + tokens.cache_creation as f64 * self.cache_write.unwrap_or(self.input)
            + tokens.output as f64 * self.output;
        per_million / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, cached: u64, creation: u64, output: u64) -> Tokens {
        Tokens {
            input,
            cached_input: cached,
            cache_creation: creation,
            output,
            provider_cost: None,
        }
    }

    #[test]
    fn the_bundled_table_loads_and_prices_by_the_issue_formula() {
        let table = PriceTable::load(None).unwrap();
        assert!(table.source.contains("verify"), "{}", table.source);
        let mini = table.find(Provider::Openai, "gpt-4o-mini").unwrap();
        // 1M fresh input at 0.15, 1M cached at 0.075, 1M output at 0.60.
        let cost = mini.cost(&tokens(2_000_000, 1_000_000, 0, 1_000_000));
        assert!((cost - 0.825).abs() < 1e-9, "{cost}");
        let sonnet = table
            .find(Provider::Anthropic, "claude-sonnet-4-5-20250929")
            .unwrap();
        assert_eq!(sonnet.model, "claude-sonnet-4-5*");
        // 100 fresh (3.0), 200 cache read (0.30), 300 cache write (3.75), 50 output (15.0).
        let cost = sonnet.cost(&tokens(600, 200, 300, 50));
        let want = (100.0 * 3.0 + 200.0 * 0.30 + 300.0 * 3.75 + 50.0 * 15.0) / 1e6;
        assert!((cost - want).abs() < 1e-12, "{cost} vs {want}");
        assert!(table.find(Provider::Openai, "gpt-99").is_none());
        assert!(
            table
                .find(Provider::Openrouter, "openai/gpt-4o-mini")
                .is_none()
        );
        assert!(table.exact_models().all(|p| !p.model.ends_with('*')));
    }

    #[test]
    fn every_bundled_price_says_when_and_where_it_was_read() {
        let file: File = toml::from_str(BUNDLED).unwrap();
        assert!(file.model.len() > 50, "{}", file.model.len());
        for price in &file.model {
            let what = format!("{}/{}", price.provider, price.model);
            let checked = price
                .checked
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: no date"));
            let day = byok_providers::day::day_number(checked);
            assert!(day.is_some(), "{what}: {checked:?} is not a YYYY-MM-DD day");
            let source = price
                .source
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: no source"));
            assert!(
                url::Url::parse(source).is_ok_and(|u| u.scheme() == "https"),
                "{what}: {source:?}"
            );
        }
        // Every provider the table prices from a token table has entries (OpenRouter reports
        // its cost; Perplexity's bills no table states; custom is the operator's).
        for provider in Provider::ALL {
            let priced = file.model.iter().any(|p| p.provider == provider);
            let expected = !provider.reports_cost()
                && !matches!(provider, Provider::Perplexity | Provider::Custom);
            assert_eq!(priced, expected, "{provider}");
        }
    }

    #[test]
    fn no_two_bundled_entries_for_one_model_disagree() {
        let file: File = toml::from_str(BUNDLED).unwrap();
        let mut seen = BTreeMap::new();
        for price in &file.model {
            let key = (price.provider, price.model.as_str());
            assert!(
                seen.insert(key, price).is_none(),
                "{}/{} is written twice: the later would win unseen",
                price.provider,
                price.model
            );
        }
        // A model and its dated snapshots (`gpt-4o` and `gpt-4o-2024-08-06`, `claude-x` and
        // `claude-x-20250101`) are one model: their entries must agree.
        let table = PriceTable::load(None).unwrap();
        let rates = |p: &Price| (p.input, p.cached_input, p.output, p.cache_write);
        for price in table.exact_models() {
            for snapshot in ["-2099-01-01", "-20990101"] {
                let dated = format!("{}{snapshot}", price.model);
                if let Some(other) = table.find(price.provider, &dated) {
                    assert_eq!(
                        rates(other),
                        rates(price),
                        "{}/{} and its snapshots ({}) are priced differently",
                        price.provider,
                        price.model,
                        other.model
                    );
                }
            }
        }
    }

    #[test]
    fn the_longest_prefix_wins_and_an_exact_name_beats_both() {
        let table = PriceTable::load(None).unwrap();
        assert_eq!(
            table
                .find(Provider::Openai, "gpt-4o-mini-2024-07-18")
                .unwrap()
                .model,
            "gpt-4o-mini-2*"
        );
        assert_eq!(
            table
                .find(Provider::Openai, "gpt-4o-2024-08-06")
                .unwrap()
                .model,
            "gpt-4o-2*"
        );
        assert_eq!(
            table.find(Provider::Openai, "gpt-5-mini").unwrap().model,
            "gpt-5-mini*"
        );
        assert_eq!(
            table.find(Provider::Openai, "gpt-5").unwrap().model,
            "gpt-5"
        );
    }

    #[test]
    fn an_operator_file_adds_and_overrides() {
        let extra = r#"
[[model]]
provider = "openai"
model = "gpt-4o-mini"
input = 1.0
output = 2.0

[[model]]
provider = "custom"
model = "llama*"
input = 0.0
output = 0.0
"#;
        let table = PriceTable::load(Some(extra)).unwrap();
        let mini = table.find(Provider::Openai, "gpt-4o-mini").unwrap();
        assert_eq!((mini.input, mini.cached_input), (1.0, None));
        assert!(
            (mini.cost(&tokens(10, 4, 0, 1)) - 12.0 / 1e6).abs() < 1e-15,
            "cached defaults to input"
        );
        assert!(table.find(Provider::Custom, "llama-3.1-8b").is_some());
        assert!(
            table.find(Provider::Openai, "gpt-4o").is_some(),
            "the rest stays"
        );
    }

    #[test]
    fn a_bad_file_says_what_is_wrong() {
        for (text, says) in [
            (
                "[[model]]\nprovider = \"openai\"\nmodel = \"x\"\ninput = -1.0\noutput = 1.0",
                "negative",
            ),
            (
                "[[model]]\nprovider = \"openai\"\nmodel = \"a*b\"\ninput = 1.0\noutput = 1.0",
                "only at the end",
            ),
            (
                "[[model]]\nprovider = \"nobody\"\nmodel = \"x\"\ninput = 1.0\noutput = 1.0",
                "--prices",
            ),
            (
                "[[model]]\nprovider = \"openai\"\nmodel = \"x\"\ninput = 1.0\noutput = 1.0\nextra = 1",
                "--prices",
            ),
            (
                "[[model]]\nprovider = \"openai\"\nmodel = \"x\"\ninput = 1.0",
                "output",
            ),
        ] {
            let err = PriceTable::load(Some(text)).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
