//! Connections to providers: reused while healthy, replaced when the provider closes them,
//! sent again when that is safe, kept idle for less than providers keep them, and bounded.

use std::collections::HashSet;
use std::time::Duration;

use byok_e2e::{KeepAliveProvider, ProxyProcess};

use crate::{client, get_with_key, setup};

const KEY: &str = "sk-proj-POOLpoolPOOLpool0000";

#[tokio::test]
async fn connections_to_a_provider_are_reused() {
    let (fake, proxy) = setup(&["--workers", "1"], &[]).await;
    let url = format!("{}/openai/v1/models", proxy.url());
    // Ten at once need up to ten connections...
    let burst = (0..10).map(|_| async {
        let r = get_with_key(&url, KEY).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    });
    futures_util::future::join_all(burst).await;
    let after_burst: HashSet<_> = fake.requests().iter().map(|r| r.peer).collect();
    assert!((1..=10).contains(&after_burst.len()), "{after_burst:?}");
    // ...and the requests after them reuse those connections instead of opening new ones.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = get_with_key(&url, KEY).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 20);
    let all: HashSet<_> = requests.iter().map(|r| r.peer).collect();
    assert_eq!(
        all, after_burst,
        "sequential requests opened new connections"
    );
}

#[tokio::test]
async fn connections_the_provider_closes_are_replaced() {
    let (fake, proxy) = setup(&["--workers", "1"], &[]).await;
    // Each answer closes its connection; the next request must not fail on the dead one,
    // whether the proxy notices before sending or only when sending fails.
    for i in 0..8 {
        let r = get_with_key(&format!("{}/openai/close", proxy.url()), KEY).await;
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.text().await.unwrap(), "closing");
    }
    let peers: HashSet<_> = fake.requests().iter().map(|r| r.peer).collect();
    assert_eq!(peers.len(), 8, "one connection per request");
}

/// The proxy with only the custom provider, at `provider`.
fn proxy_for(provider: &KeepAliveProvider, extra: &[&str]) -> ProxyProcess {
    let url = provider.url();
    let mut args = vec!["--upstream-custom", url.as_str(), "--workers", "1"];
    args.extend_from_slice(extra);
    ProxyProcess::start(&args, &[])
}

/// Sends `method` to the custom provider through `proxy`, `rounds` times, each after the
/// pooled connection has been idle for about `gap` (a few ms either side); the statuses.
async fn around_the_idle_close(
    proxy: &ProxyProcess,
    method: reqwest::Method,
    rounds: u64,
    gap: Duration,
) -> Vec<u16> {
    let url = format!("{}/custom/v1/models", proxy.url());
    let mut statuses = Vec::new();
    for i in 0..rounds {
        let r = client()
            .request(method.clone(), &url)
            .header("x-byok-key", KEY)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        r.bytes().await.unwrap();
        tokio::time::sleep(gap + Duration::from_millis(i % 9) - Duration::from_millis(4)).await;
    }
    statuses
}

#[tokio::test]
async fn a_get_racing_the_providers_idle_close_is_sent_again() {
    // The provider closes connections idle for 300 ms; the proxy would keep them for 10 s, so
    // requests meet the close on their way out.
    let provider = KeepAliveProvider::start(Duration::from_millis(300), Duration::ZERO).await;
    let proxy = proxy_for(&provider, &["--upstream-idle-timeout", "10s"]);
    let statuses =
        around_the_idle_close(&proxy, reqwest::Method::GET, 40, Duration::from_millis(300)).await;
    let failed = statuses.iter().filter(|s| **s != 200).count();
    eprintln!(
        "GET at the provider's idle close: {failed} of {} failed, {} connections",
        statuses.len(),
        provider.opened()
    );
    assert_eq!(failed, 0, "{statuses:?}");
    assert_eq!(provider.answered(), statuses.len());
}

#[tokio::test]
async fn idle_connections_are_closed_before_the_provider_closes_them() {
    // The proxy keeps idle connections 250 ms; the provider 500 ms. POSTs are never sent twice,
    // so they must not meet a closing connection at all.
    let provider = KeepAliveProvider::start(Duration::from_millis(500), Duration::ZERO).await;
    let proxy = proxy_for(&provider, &["--upstream-idle-timeout", "250ms"]);
    let statuses = around_the_idle_close(
        &proxy,
        reqwest::Method::POST,
        20,
        Duration::from_millis(500),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Quick requests still share a connection.
    let before = provider.opened();
    let statuses =
        around_the_idle_close(&proxy, reqwest::Method::POST, 10, Duration::from_millis(50)).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        provider.opened() - before <= 1,
        "{}",
        provider.opened() - before
    );
}

#[tokio::test]
async fn after_a_burst_the_idle_pool_shrinks_to_its_bound_then_to_nothing() {
    let provider =
        KeepAliveProvider::start(Duration::from_secs(60), Duration::from_millis(300)).await;
    let proxy = proxy_for(&provider, &["--upstream-idle-timeout", "1s"]);
    let url = format!("{}/custom/v1/models", proxy.url());
    let burst = (0..80).map(|_| async {
        let r = get_with_key(&url, KEY).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    });
    futures_util::future::join_all(burst).await;
    assert!(provider.opened() > 40, "a burst of {}", provider.opened());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kept = provider.open();
    assert!(kept <= 32, "{kept} idle connections kept");
    // Without another request, they are closed once idle past the timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(provider.open(), 0, "idle connections left open");
}
