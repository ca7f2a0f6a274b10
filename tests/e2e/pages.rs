use byok_e2e::write_files;

use crate::{client, get_json, setup};

const APP: &str = "http://app.byok.localhost:5173";

/// A static directory like `make ui` writes: the settings page (one inline script, as Trunk
/// writes), the embed document and the client library.
fn static_dir() -> String {
    let files = write_files(
        "byok-pages",
        &[
            (
                "index.html",
                "<html><head><script type=\"module\">import('/app.js')</script></head></html>",
            ),
            (
                "embed.html",
                "<html><head><script type=\"module\" src=\"/embed.js\"></script></head></html>",
            ),
            ("byok-client.js", "export class Byok {}\n"),
        ],
    );
    files[0].parent().unwrap().display().to_string()
}

async fn headers(url: String) -> reqwest::header::HeaderMap {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers().clone()
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn only_the_listed_apps_may_frame_the_embed_document_and_no_page_else() {
    let dir = static_dir();
    let (_fake, proxy) = setup(&["--static-dir", &dir, "--embed-origins", APP], &[]).await;

    let page = headers(format!("{}/", proxy.url())).await;
    assert!(header(&page, "content-security-policy").ends_with("frame-ancestors 'none'"));
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    assert_eq!(header(&page, "origin-agent-cluster"), "?1");
    assert!(
        header(&page, "content-security-policy").contains("'sha256-"),
        "the page's inline script is allowed by its hash"
    );

    let embed = headers(format!("{}/embed.html", proxy.url())).await;
    let csp = header(&embed, "content-security-policy");
    assert!(csp.ends_with(&format!("frame-ancestors {APP}")), "{csp}");
    assert!(
        !csp.contains("'sha256-"),
        "no inline script in the embed document"
    );
    assert!(
        embed.get("x-frame-options").is_none(),
        "a listed app may frame it"
    );
    assert_eq!(header(&embed, "origin-agent-cluster"), "?1");

    let script = headers(format!("{}/byok-client.js", proxy.url())).await;
    assert_eq!(header(&script, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&script, "cross-origin-resource-policy"),
        "cross-origin"
    );
    assert!(header(&script, "content-type").contains("javascript"));

    let listed = headers(format!("{}/byok/embed", proxy.url())).await;
    assert_eq!(
        header(&listed, "access-control-allow-origin"),
        "*",
        "any page may ask whether it is listed"
    );
    let listed = get_json(&format!("{}/byok/embed", proxy.url())).await;
    assert_eq!(listed["origins"], serde_json::json!([APP]));
}

#[tokio::test]
async fn without_embed_origins_nothing_may_frame_the_embed_document() {
    let dir = static_dir();
    let (_fake, proxy) = setup(&["--static-dir", &dir], &[]).await;
    let embed = headers(format!("{}/embed.html", proxy.url())).await;
    assert!(header(&embed, "content-security-policy").ends_with("frame-ancestors 'none'"));
    let listed = get_json(&format!("{}/byok/embed", proxy.url())).await;
    assert_eq!(listed["origins"], serde_json::json!([]));
}

#[tokio::test]
async fn an_embed_origin_that_is_not_an_origin_stops_the_proxy_naming_the_setting() {
    for bad in [
        "https://app.example.com/",
        "http://app.example.com",
        "app.example.com",
    ] {
        let (code, said) = byok_e2e::run_to_exit(&["--embed-origins", bad]);
        assert_eq!(code, Some(2), "{bad}: {said}");
        assert!(said.contains("BYOK_EMBED_ORIGINS"), "{bad}: {said}");
    }
}
