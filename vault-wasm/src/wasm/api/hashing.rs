//! How the vault password is hashed, for JavaScript: which algorithm, at what cost.
//!
//! ```js
//! await vault.create(password);                   // Argon2id, 64 MiB, 3 passes
//! await vault.create(password, "pbkdf2-sha256");  // or PBKDF2, 600,000 iterations
//! (await vault.passwordHashing()).description;    // "Argon2id, 64 MiB, 3 passes"
//! await vault.changePassword(old, new);           // a PBKDF2 vault moves to Argon2id
//! ```

use js_sys::Promise;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::Vault;
use super::js::{js_error, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** How the vault password is hashed. Not secret. */
export interface PasswordHashing {
  alg: "argon2id" | "pbkdf2-sha256";
  /** In words: "Argon2id, 64 MiB, 3 passes" or "PBKDF2-SHA256, 600,000 iterations". */
  description: string;
  /** PBKDF2 iterations, or Argon2id passes. */
  iterations: number;
  /** Argon2id memory in KiB; 0 for PBKDF2. */
  memoryKib: number;
  /** Argon2id lanes; 0 for PBKDF2. */
  parallelism: number;
}
"#;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PasswordHashing {
    alg: &'static str,
    description: String,
    iterations: u32,
    memory_kib: u32,
    parallelism: u32,
}

#[wasm_bindgen]
impl Vault {
    /// How the vault password is hashed (no unlock needed).
    #[wasm_bindgen(js_name = passwordHashing, unchecked_return_type = "Promise<PasswordHashing>")]
    pub fn password_hashing(&self) -> Promise {
        let vault = self.vault.clone();
        future_to_promise(async move {
            let params = vault.core().password_hashing().await.map_err(js_error)?;
            to_js(&PasswordHashing {
                alg: params.alg.as_str(),
                description: params.describe(),
                iterations: params.iterations,
                memory_kib: params.memory_kib,
                parallelism: params.parallelism,
            })
        })
    }
}
