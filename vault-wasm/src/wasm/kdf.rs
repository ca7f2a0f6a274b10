//! PBKDF2 through WebCrypto, falling back to the Rust implementation.
//!
//! WebCrypto's `deriveBits` runs natively in the browser and is about 4× faster than the
//! `pbkdf2` crate compiled to wasm at 600,000 iterations; both give identical bytes (the browser
//! tests compare them). WebCrypto exists only in secure contexts (HTTPS, `localhost`,
//! `127.0.0.1`); elsewhere the vault still works, more slowly.

use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, Pbkdf2Params, SubtleCrypto};

use crate::error::{Result, VaultError};
use crate::kdf::{Kdf, KdfAlgorithm, KdfParams, RustKdf};
use crate::secret::{SecretString, SymmetricKey};

/// The browser's KDF: WebCrypto when available, the `pbkdf2` crate otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserKdf;

impl Kdf for BrowserKdf {
    async fn derive(&self, password: &SecretString, params: &KdfParams) -> Result<SymmetricKey> {
        if params.alg == KdfAlgorithm::Argon2id {
            // Browsers have no native Argon2: the `argon2` crate, compiled to wasm, computes it.
            return RustKdf.derive(password, params).await;
        }
        match subtle_crypto() {
            Some(subtle) => {
                webcrypto_pbkdf2_sha256(
                    &subtle,
                    password.expose_secret().as_bytes(), // handed to WebCrypto, then wiped
                    &params.salt,
                    params.iterations,
                )
                .await
            }
            None => RustKdf.derive(password, params).await,
        }
    }
}

/// `crypto.subtle` of the current global (window or worker), if this is a secure context.
#[must_use]
pub fn subtle_crypto() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

fn webcrypto_error(_: JsValue) -> VaultError {
    // The browser's message says nothing useful and nothing secret; keep ours uniform.
    VaultError::Storage("the browser's WebCrypto failed to derive the key".into())
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output through WebCrypto.
///
/// # Errors
///
/// When WebCrypto refuses (it should not for valid parameters).
pub async fn webcrypto_pbkdf2_sha256(
    subtle: &SubtleCrypto,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<SymmetricKey> {
    let password_js = Uint8Array::from(password);
    let imported = subtle.import_key_with_str(
        "raw",
        &password_js,
        "PBKDF2",
        false,
        &Array::of1(&"deriveBits".into()),
    );
    // WebCrypto copied the bytes; wipe our JS-side copy whatever happened.
    password_js.fill(0, 0, password_js.length());
    let base_key: CryptoKey = JsFuture::from(imported.map_err(webcrypto_error)?)
        .await
        .map_err(webcrypto_error)?
        .unchecked_into();
    let params = Pbkdf2Params::new(
        "PBKDF2",
        &"SHA-256".into(),
        iterations,
        &Uint8Array::from(salt),
    );
    let bits = subtle
        .derive_bits_with_object(&params, &base_key, 256)
        .map_err(webcrypto_error)?;
    let bits: ArrayBuffer = JsFuture::from(bits)
        .await
        .map_err(webcrypto_error)?
        .unchecked_into();
    let view = Uint8Array::new(&bits);
    let mut out = [0u8; 32];
    if view.length() != 32 {
        return Err(webcrypto_error(JsValue::NULL));
    }
    view.copy_to(&mut out);
    view.fill(0, 0, 32);
    let key = SymmetricKey::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    Ok(key)
}
