//! Connections to providers: reused while healthy, replaced when the provider closes them.

use std::collections::HashSet;
use std::time::Duration;

use crate::{get_with_key, setup};

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
