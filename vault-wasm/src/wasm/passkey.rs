//! Passkeys in the browser: the WebAuthn ceremonies around [`crate::passkey`].
//!
//! Registering creates a credential with the PRF extension and asks it for the output for a
//! fresh random input (at creation where the browser can, else with one more assertion);
//! unlocking asks every registered credential for the output for its own input
//! (`evalByCredential`), and the one the person picks answers. User verification is required
//! both times, so a passkey alone (without its PIN or biometric) opens nothing. No server is
//! involved: the challenge is random and nothing is verified remotely; what protects the vault
//! is that only the credential can compute its PRF output.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::browser::BrowserVault;

use crate::VaultError;
use crate::envelope::PasskeyParams;
use crate::passkey::{PasskeyInfo, new_prf_salt};
use crate::secret::fill_random;

/// How long the browser waits for the person, in milliseconds.
const CEREMONY_TIMEOUT_MS: u32 = 120_000;

/// Whether the browser can use passkeys with PRF here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeySupport {
    /// True when registering may work (the authenticator still has to support PRF).
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

fn passkey_error(message: &str) -> VaultError {
    VaultError::Passkey(message.to_owned())
}

/// A WebAuthn rejection in words. Only the exception's name is used: it says what happened and
/// carries nothing of the page.
fn ceremony_error(err: &JsValue) -> VaultError {
    let name = Reflect::get(err, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    passkey_error(match name.as_str() {
        "NotAllowedError" | "AbortError" => "the passkey request was cancelled or timed out",
        "InvalidStateError" => "this authenticator already holds a passkey for this vault",
        "SecurityError" => "this page's address cannot use passkeys",
        "NotSupportedError" => "this browser or authenticator cannot make such a passkey",
        _ => "the browser could not use the passkey",
    })
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), VaultError> {
    Reflect::set(target, &key.into(), value)
        .map(|_| ())
        .map_err(|_| passkey_error("the browser could not use the passkey"))
}

fn object(fields: &[(&str, JsValue)]) -> Result<Object, VaultError> {
    let o = Object::new();
    for (key, value) in fields {
        set(&o, key, value)?;
    }
    Ok(o)
}

fn random_bytes(n: usize) -> Result<Uint8Array, VaultError> {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes)?;
    Ok(Uint8Array::from(bytes.as_slice()))
}

/// `navigator.credentials`, when this page may use WebAuthn.
fn credentials() -> Result<JsValue, VaultError> {
    let global = js_sys::global();
    let secure = Reflect::get(&global, &"isSecureContext".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let has_api =
        Reflect::get(&global, &"PublicKeyCredential".into()).is_ok_and(|v| !v.is_undefined());
    if !secure || !has_api {
        return Err(passkey_error(
            "this browser cannot use passkeys on this page (it needs HTTPS or localhost)",
        ));
    }
    if let Some(host) = page_host()
        && let Ok(ip) = host.parse::<std::net::IpAddr>()
    {
        // WebAuthn ties passkeys to a domain name; an IP address cannot be one.
        let port = page_port();
        return Err(VaultError::Passkey(if ip.is_loopback() {
            format!(
                "passkeys need the page opened by a name, not an IP address: open http://localhost{port}/ instead of http://{host}{port}/"
            )
        } else {
            "passkeys need the page opened by a domain name, not an IP address".to_owned()
        }));
    }
    let navigator = Reflect::get(&global, &"navigator".into())
        .map_err(|_| passkey_error("this browser has no passkey support"))?;
    Reflect::get(&navigator, &"credentials".into())
        .ok()
        .filter(|c| !c.is_undefined())
        .ok_or_else(|| passkey_error("this browser has no passkey support"))
}

fn location_part(part: &str) -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    Reflect::get(&location, &part.into()).ok()?.as_string()
}

/// The page's host name, without brackets for IPv6.
fn page_host() -> Option<String> {
    location_part("hostname").map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
}

/// `:port` of the page, or nothing for the default port.
fn page_port() -> String {
    location_part("port")
        .filter(|p| !p.is_empty())
        .map(|p| format!(":{p}"))
        .unwrap_or_default()
}

/// Calls `navigator.credentials.<method>({ publicKey })` and awaits the credential.
async fn ceremony(method: &str, public_key: Object) -> Result<JsValue, VaultError> {
    let container = credentials()?;
    let call: Function = Reflect::get(&container, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| passkey_error("this browser has no passkey support"))?;
    let options = object(&[("publicKey", public_key.into())])?;
    let pending: Promise = call
        .call1(&container, &options)
        .map_err(|e| ceremony_error(&e))?
        .dyn_into()
        .map_err(|_| passkey_error("the browser could not use the passkey"))?;
    let credential = JsFuture::from(pending)
        .await
        .map_err(|e| ceremony_error(&e))?;
    if credential.is_null() || credential.is_undefined() {
        return Err(passkey_error(
            "the passkey request was cancelled or timed out",
        ));
    }
    Ok(credential)
}

fn bytes_of(buffer: &JsValue) -> Option<Vec<u8>> {
    buffer
        .dyn_ref::<ArrayBuffer>()
        .map(|b| Uint8Array::new(b).to_vec())
}

/// The credential's raw id.
fn raw_id(credential: &JsValue) -> Result<Vec<u8>, VaultError> {
    Reflect::get(credential, &"rawId".into())
        .ok()
        .and_then(|id| bytes_of(&id))
        .ok_or_else(|| passkey_error("the browser returned no passkey id"))
}

/// `getClientExtensionResults().prf` of a credential: whether PRF is on, and its first output
/// (copied out, the browser's buffer wiped).
fn prf_results(credential: &JsValue) -> (Option<bool>, Option<Zeroizing<Vec<u8>>>) {
    let prf = Reflect::get(credential, &"getClientExtensionResults".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call0(credential).ok())
        .and_then(|results| Reflect::get(&results, &"prf".into()).ok())
        .filter(|prf| prf.is_object());
    let Some(prf) = prf else {
        return (None, None);
    };
    let enabled = Reflect::get(&prf, &"enabled".into())
        .ok()
        .and_then(|e| e.as_bool());
    let output = Reflect::get(&prf, &"results".into())
        .ok()
        .filter(JsValue::is_object)
        .and_then(|r| Reflect::get(&r, &"first".into()).ok())
        .and_then(|first| {
            let buffer = first.dyn_into::<ArrayBuffer>().ok()?;
            let view = Uint8Array::new(&buffer);
            let out = Zeroizing::new(view.to_vec());
            view.fill(0, 0, view.length());
            Some(out)
        });
    (enabled, output)
}

fn public_key_credential_params() -> Result<Array, VaultError> {
    let params = Array::new();
    for alg in [-7, -257] {
        // ES256 and RS256: what every authenticator offers.
        params.push(&object(&[("type", "public-key".into()), ("alg", alg.into())])?.into());
    }
    Ok(params)
}

fn eval(salt: &[u8]) -> Result<Object, VaultError> {
    object(&[("first", Uint8Array::from(salt).into())])
}

impl BrowserVault {
    /// Whether passkeys with PRF can work in this browser. `available` may still turn out
    /// wrong at registration, when the authenticator itself lacks PRF; browsers that can say
    /// in advance (`PublicKeyCredential.getClientCapabilities`) are asked.
    pub async fn passkey_support(&self) -> PasskeySupport {
        let unavailable = |reason: &str| PasskeySupport {
            available: false,
            reason: Some(reason.to_owned()),
        };
        if let Err(VaultError::Passkey(reason)) = credentials() {
            return unavailable(&reason);
        }
        let capabilities = Reflect::get(&js_sys::global(), &"PublicKeyCredential".into())
            .ok()
            .and_then(|pkc| {
                let f: Function = Reflect::get(&pkc, &"getClientCapabilities".into())
                    .ok()?
                    .dyn_into()
                    .ok()?;
                f.call0(&pkc).ok()?.dyn_into::<Promise>().ok()
            });
        if let Some(pending) = capabilities
            && let Ok(answer) = JsFuture::from(pending).await
            && Reflect::get(&answer, &"extension:prf".into())
                .ok()
                .and_then(|v| v.as_bool())
                == Some(false)
        {
            return unavailable(
                "this browser's passkeys do not support the PRF extension, which unlocking needs",
            );
        }
        PasskeySupport {
            available: true,
            reason: None,
        }
    }

    /// Registers a new passkey named `label` for this (unlocked) vault.
    ///
    /// # Errors
    ///
    /// [`VaultError::Locked`]; [`VaultError::Passkey`] when WebAuthn is unavailable, the person
    /// cancels, or the authenticator has no PRF (then nothing is registered); as
    /// [`crate::Vault::add_passkey`].
    pub async fn add_passkey(&self, label: &str) -> Result<PasskeyInfo, VaultError> {
        self.core().active()?;
        crate::validate_label(label).map_err(VaultError::InvalidInput)?;
        let salt = new_prf_salt()?;
        let user = object(&[
            ("id", random_bytes(16)?.into()),
            ("name", label.into()),
            ("displayName", label.into()),
        ])?;
        let exclude = Array::new();
        for request in self.core().passkey_requests().await? {
            exclude.push(
                &object(&[
                    ("type", "public-key".into()),
                    (
                        "id",
                        Uint8Array::from(request.params.credential.as_slice()).into(),
                    ),
                ])?
                .into(),
            );
        }
        let created = ceremony(
            "create",
            object(&[
                ("rp", object(&[("name", "byok key vault".into())])?.into()),
                ("user", user.into()),
                ("challenge", random_bytes(32)?.into()),
                ("pubKeyCredParams", public_key_credential_params()?.into()),
                ("excludeCredentials", exclude.into()),
                (
                    "authenticatorSelection",
                    object(&[
                        ("residentKey", "preferred".into()),
                        ("userVerification", "required".into()),
                    ])?
                    .into(),
                ),
                ("timeout", CEREMONY_TIMEOUT_MS.into()),
                (
                    "extensions",
                    object(&[("prf", object(&[("eval", eval(&salt)?.into())])?.into())])?.into(),
                ),
            ])?,
        )
        .await?;
        let credential = raw_id(&created)?;
        let (enabled, output) = prf_results(&created);
        if enabled == Some(false) || (enabled.is_none() && output.is_none()) {
            return Err(passkey_error(
                "this passkey cannot unlock a vault: its authenticator does not support the PRF extension. Nothing was registered.",
            ));
        }
        let output = match output {
            Some(output) => output,
            // Many browsers only evaluate PRF on assertions: ask the new passkey once.
            None => self.assert(&[(&credential, &salt)]).await?.1,
        };
        self.core()
            .add_passkey(PasskeyParams { credential, salt }, &output, label)
            .await
    }

    /// Asks the authenticator for one of `allowed` (credential id, PRF input) and returns the
    /// credential id it used with its PRF output.
    async fn assert(
        &self,
        allowed: &[(&[u8], &[u8])],
    ) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), VaultError> {
        let allow = Array::new();
        let by_credential = Object::new();
        for (credential, salt) in allowed {
            allow.push(
                &object(&[
                    ("type", "public-key".into()),
                    ("id", Uint8Array::from(*credential).into()),
                ])?
                .into(),
            );
            set(
                &by_credential,
                &URL_SAFE_NO_PAD.encode(credential),
                &eval(salt)?.into(),
            )?;
        }
        let asserted = ceremony(
            "get",
            object(&[
                ("challenge", random_bytes(32)?.into()),
                ("allowCredentials", allow.into()),
                ("userVerification", "required".into()),
                ("timeout", CEREMONY_TIMEOUT_MS.into()),
                (
                    "extensions",
                    object(&[(
                        "prf",
                        object(&[("evalByCredential", by_credential.into())])?.into(),
                    )])?
                    .into(),
                ),
            ])?,
        )
        .await?;
        let credential = raw_id(&asserted)?;
        let (_, output) = prf_results(&asserted);
        let output = output.ok_or_else(|| {
            passkey_error("the passkey gave no PRF output, so it cannot unlock the vault")
        })?;
        Ok((credential, output))
    }

    /// Unlocks with any registered passkey the person picks.
    ///
    /// # Errors
    ///
    /// [`VaultError::Passkey`] when none is registered, WebAuthn is unavailable or the person
    /// cancels; [`VaultError::Decrypt`] when the passkey's answer does not open the vault.
    pub async fn unlock_with_passkey(&self) -> Result<(), VaultError> {
        let requests = self.core().passkey_requests().await?;
        if requests.is_empty() {
            return Err(passkey_error("no passkey is registered for this vault"));
        }
        let allowed: Vec<(&[u8], &[u8])> = requests
            .iter()
            .map(|r| (r.params.credential.as_slice(), r.params.salt.as_slice()))
            .collect();
        let (credential, output) = self.assert(&allowed).await?;
        self.core().unlock_with_passkey(&credential, &output).await
    }
}
