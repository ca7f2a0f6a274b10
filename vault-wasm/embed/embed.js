// The embed document of the vault's isolated mode: an app's page frames /embed.html, and the
// vault (wasm) serves it over a MessagePort. See vault-wasm/src/wasm/embed.rs.
import init, { serveEmbed } from "/vault/byok_vault.js";

await init();
await serveEmbed();
