//! Alerts before the money runs out: signed webhook events when spend passes a share of a daily
//! budget or cap, and when a user's key starts being refused by its provider.
//!
//! - `budget.threshold`: spend passed one of the thresholds (`BYOK_ALERT_THRESHOLDS`, by
//!   default half, 80% and all) of a user's daily budget on the app's key, of a grant's daily
//!   cap, or of a key's daily cap sent with a user token. Checked after an answer is recorded,
//!   only for requests that carry such a budget or cap.
//! - `key.rejected`: a provider refused (401 or 403) a user's own key, on a request made with a
//!   user token.
//!
//! Exactly one event per subject, threshold (or key) and UTC day across every instance: the
//! store decides, by a name set once ([`Store::first_use`]) that the server secret makes the
//! same on every instance and says nothing of the subject. Events are delivered in the
//! background with retries for ten minutes ([`deliver`]); a slow or dead receiver never delays
//! a request. An event names its subject (a user's `sub`, a grant id), provider, model, day,
//! spend, cap and threshold, never a key or a fingerprint.

mod deliver;
mod event;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::Mac;
use secrecy::SecretString;
use zeroize::Zeroizing;

pub use self::event::{Event, sign};
use crate::core::grant_id::GrantId;
use crate::core::key::KeyFingerprint;
use crate::core::ledger::Subject;
use crate::core::money::usd;
use crate::core::sync::lock;
use crate::core::{BuildError, Provider};
use crate::metrics::Metrics;
use crate::store::Store;

/// How long the store remembers that an event was sent: past the end of its UTC day, wherever
/// in the day it was sent.
const CLAIM_TTL: Duration = Duration::from_secs(2 * 86_400);
/// Claims this process remembers per day before it stops remembering (and asks the store).
const MAX_REMEMBERED: usize = 100_000;

/// Where alerts go and when they are sent.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// The receiver (`BYOK_ALERT_WEBHOOK`); no alerts without one.
    pub webhook: Option<url::Url>,
    /// The HMAC key events are signed with (`BYOK_ALERT_SECRET`).
    pub secret: Option<SecretString>,
    /// The shares of a budget that raise `budget.threshold`, ascending.
    pub thresholds: Vec<f64>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            webhook: None,
            secret: None,
            thresholds: vec![0.5, 0.8, 1.0],
        }
    }
}

/// A budget a request's answer counts toward, and who it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    /// Whose spend the budget is measured on, and in which field of its counters.
    pub measured: Subject,
    /// The counter field.
    pub field: &'static str,
    /// The budget, nano-USD.
    pub cap_nano: i64,
    /// Who the event is about.
    pub about: About,
}

/// Who a `budget.threshold` event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// A key's own daily cap, sent with a user token.
    UserKey {
        /// The user (`sub`).
        user: String,
    },
    /// A grant's daily cap.
    Grant {
        /// The grant.
        grant: GrantId,
        /// Its maker, when a user made it.
        user: Option<String>,
    },
    /// A user's daily budget on the app's key.
    AppKey {
        /// The user (`sub`).
        user: String,
    },
}

/// Sends alerts, or does nothing when none are configured. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Alerts(Option<Arc<Inner>>);

struct Inner {
    thresholds: Vec<f64>,
    claim_key: Zeroizing<[u8; 32]>,
    queue: tokio::sync::mpsc::Sender<Event>,
    metrics: Arc<Metrics>,
    /// Claims this process made or found made today: asked of the store once.
    claimed: Mutex<(u64, HashSet<[u8; 16]>)>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("thresholds", &self.thresholds)
            .finish_non_exhaustive()
    }
}

impl Alerts {
    /// Alerts as `settings` say, names made with `claim_key`, delivered over `tls` by a thread
    /// of their own; off without a webhook.
    ///
    /// # Errors
    ///
    /// When the delivery thread cannot start.
    pub fn start(
        settings: &AlertSettings,
        claim_key: &[u8; 32],
        tls: rustls::ClientConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, BuildError> {
        let (Some(webhook), Some(secret)) = (&settings.webhook, &settings.secret) else {
            return Ok(Self(None));
        };
        let queue = deliver::start(webhook.clone(), secret.clone(), tls, Arc::clone(&metrics))?;
        Ok(Self(Some(Arc::new(Inner {
            thresholds: settings.thresholds.clone(),
            claim_key: Zeroizing::new(*claim_key),
            queue,
            metrics,
            claimed: Mutex::new((0, HashSet::new())),
        }))))
    }

    /// Whether alerts are sent (a webhook is set).
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// After an answer counted toward `watches` was recorded on `day`: one event per threshold
    /// each budget's spend has passed, unless one was sent for it today.
    pub async fn after_answer(
        &self,
        store: &Store,
        watches: &[Watch],
        provider: Provider,
        model: &str,
        day: u64,
    ) {
        let Some(inner) = &self.0 else { return };
        for watch in watches.iter().filter(|w| w.cap_nano > 0) {
            let spent = match store.spend(&watch.measured, day, watch.field).await {
                Ok(spent) => spent,
                Err(e) => {
                    tracing::warn!(error = %e, "alerts: the store could not say today's spend");
                    inner.metrics.alert(event::BUDGET, "store_error");
                    continue;
                }
            };
            #[allow(clippy::cast_precision_loss)] // nano-USD amounts stay far below 2^52
            let share = spent as f64 / watch.cap_nano as f64;
            for &threshold in inner.thresholds.iter().filter(|t| share >= **t) {
                let id = inner.name(&[
                    event::BUDGET.as_bytes(),
                    &about_bytes(&watch.about),
                    &threshold.to_bits().to_be_bytes(),
                    &day.to_be_bytes(),
                ]);
                if inner.claim(store, id, event::BUDGET).await {
                    inner.send(Event::budget(
                        id,
                        &watch.about,
                        provider,
                        model,
                        day,
                        usd(spent),
                        usd(watch.cap_nano),
                        threshold,
                    ));
                }
            }
        }
    }

    /// A provider refused (`status`) `user`'s own key (`key`): one event per user, key and
    /// day, sent from a task of its own.
    pub fn key_rejected(
        &self,
        store: &Store,
        user: &str,
        key: KeyFingerprint,
        provider: Provider,
        model: Option<&str>,
        status: u16,
    ) {
        let Some(inner) = &self.0 else { return };
        let day = crate::core::clock::today();
        let id = inner.name(&[
            event::REJECTED.as_bytes(),
            user.as_bytes(),
            b"\0",
            key.to_string().as_bytes(),
            &day.to_be_bytes(),
        ]);
        let event = Event::rejected(id, user, provider, model, day, status);
        let (inner, store) = (Arc::clone(inner), store.clone());
        tokio::spawn(async move {
            if inner.claim(&store, id, event::REJECTED).await {
                inner.send(event);
            }
        });
    }
}

impl Inner {
    /// The event's id and its name in the store: an HMAC of what makes it one event, so
    /// every instance names it alike and the name says nothing of the subject.
    fn name(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut mac = event::hmac(self.claim_key.as_ref());
        for part in parts {
            // Each part's length first, so no two lists of parts run together alike.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        id
    }

    /// Whether this instance sends event `id`: the store says whether it is the first to ask
    /// (a store that cannot say sends nothing now; the next answer asks again).
    async fn claim(&self, store: &Store, id: [u8; 16], kind: &'static str) -> bool {
        let day = crate::core::clock::today();
        {
            let mut claimed = lock(&self.claimed);
            if claimed.0 != day || claimed.1.len() >= MAX_REMEMBERED {
                *claimed = (day, HashSet::new());
            }
            if claimed.1.contains(&id) {
                return false;
            }
        }
        match store
            .first_use(&format!("alert:{}", hex::encode(id)), CLAIM_TTL)
            .await
        {
            Ok(first) => {
                lock(&self.claimed).1.insert(id);
                first
            }
            Err(e) => {
                tracing::warn!(error = %e, "alerts: the store could not say whether an alert was sent");
                self.metrics.alert(kind, "store_error");
                false
            }
        }
    }

    fn send(&self, event: Event) {
        let kind = event.kind;
        match self.queue.try_send(event) {
            Ok(()) => self.metrics.alert(kind, "queued"),
            Err(_) => {
                tracing::warn!(
                    kind,
                    "alerts: the delivery queue is full; an alert is dropped"
                );
                self.metrics.alert(kind, "dropped");
            }
        }
    }
}

/// What names the subject of a budget event, for its id.
fn about_bytes(about: &About) -> Vec<u8> {
    let (kind, name) = match about {
        About::UserKey { user } => ("user_key", user.clone()),
        About::Grant { grant, .. } => ("grant", grant.to_string()),
        About::AppKey { user } => ("app_key", user.clone()),
    };
    [kind.as_bytes(), b"\0", name.as_bytes()].concat()
}
