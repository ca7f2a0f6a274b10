//! A headless Chromium driven through chromedriver, with helpers for the journey.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, LoggingPrefsLogLevel};

/// chromedriver on a free port; killed on drop.
pub struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Starts `$CHROMEDRIVER` (default `chromedriver`, from Debian's chromium-driver).
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {program} ({e}); `make test-tools` installs it")
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session plus where its screenshots go.
pub struct Browser {
    pub driver: WebDriver,
    shots: PathBuf,
    _chromedriver: Chromedriver,
}

impl Browser {
    /// A fresh headless Chromium profile, 1280×900, recording the browser console.
    pub async fn start() -> Self {
        // thirtyfour's reqwest is built without a default TLS provider; any one will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let chromedriver = Chromedriver::start().await;
        let mut caps = DesiredCapabilities::chrome();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,900",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--password-store=basic",
        ] {
            caps.add_arg(arg).expect("arg");
        }
        caps.set_browser_log_level(LoggingPrefsLogLevel::All)
            .expect("log prefs");
        let driver = WebDriver::new(&chromedriver.url, caps)
            .await
            .expect("a Chromium session");
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots/ui");
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Self {
            driver,
            shots,
            _chromedriver: chromedriver,
        }
    }

    /// Saves a screenshot of the whole window as `target/screenshots/ui/{name}.png`.
    pub async fn shot(&self, name: &str) {
        let png = self.driver.screenshot_as_png().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The element matching `css`, waiting up to 10 s for it to exist and be displayed.
    pub async fn el(&self, css: &str) -> WebElement {
        self.driver
            .query(By::Css(css))
            .wait(Duration::from_secs(10), Duration::from_millis(50))
            .and_displayed()
            .first()
            .await
            .unwrap_or_else(|e| panic!("no visible {css}: {e}"))
    }

    /// Waits until `css` exists and its text contains `text`; returns that text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let current = self.text(css).await;
            if current.contains(text) {
                return current;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never contained {text:?}; it says {current:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of every element matching `css`, joined ("" if none).
    pub async fn text(&self, css: &str) -> String {
        let mut out = Vec::new();
        for el in self.driver.find_all(By::Css(css)).await.unwrap_or_default() {
            out.push(el.text().await.unwrap_or_default());
        }
        out.join("\n")
    }

    /// Clicks the button whose text is exactly `label` inside `scope` (a CSS selector).
    pub async fn click_button(&self, scope: &str, label: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for button in self
                .driver
                .find_all(By::Css(format!("{scope} button")))
                .await
                .unwrap_or_default()
            {
                if button.text().await.unwrap_or_default().trim() == label
                    && button.is_enabled().await.unwrap_or(false)
                {
                    button.click().await.expect("click");
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no enabled button {label:?} in {scope}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the field `css` after clearing it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.el(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Runs `script` (a function body; `arguments[0]` is the callback) asynchronously.
    pub async fn run_async(&self, script: &str) -> Value {
        self.driver
            .execute_async(script, Vec::new())
            .await
            .expect("script")
            .json()
            .clone()
    }

    /// Runs `script` synchronously.
    pub async fn run(&self, script: &str) -> Value {
        self.driver
            .execute(script, Vec::new())
            .await
            .expect("script")
            .json()
            .clone()
    }

    /// Lets the page download files, into `dir` (Chromium's DevTools protocol, through
    /// chromedriver).
    pub async fn download_to(&self, dir: &std::path::Path) {
        self.driver
            .cdp()
            .send_raw(
                "Browser.setDownloadBehavior",
                serde_json::json!({ "behavior": "allow", "downloadPath": dir }),
            )
            .await
            .expect("downloads allowed");
    }

    /// Adds a virtual authenticator with user verification and the PRF extension, as a
    /// platform passkey would be (Chromium's DevTools protocol, through chromedriver). Every
    /// WebAuthn request of the page is answered by it, without a prompt.
    pub async fn virtual_authenticator(&self) {
        let cdp = self.driver.cdp();
        cdp.send_raw("WebAuthn.enable", serde_json::json!({ "enableUI": false }))
            .await
            .expect("WebAuthn enabled");
        cdp.send_raw(
            "WebAuthn.addVirtualAuthenticator",
            serde_json::json!({ "options": {
                "protocol": "ctap2",
                "ctap2Version": "ctap2_1",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "hasPrf": true,
                "automaticPresenceSimulation": true,
            } }),
        )
        .await
        .expect("virtual authenticator added");
    }

    /// Every browser console entry since the last call.
    pub async fn console(&self) -> Vec<String> {
        self.driver
            .browser_log()
            .await
            .expect("browser log")
            .into_iter()
            .map(|e| format!("{} {}", e.level, e.message))
            .collect()
    }
}
