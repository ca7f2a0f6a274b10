// The embed document of the vault's isolated mode: an app's page frames /embed.html, and the
// vault (wasm) serves it over a MessagePort. See vault-wasm/src/wasm/embed.rs.
// Its own build of the vault: `serveEmbed` and nothing of the JavaScript API (`make pkg`).
import init, { serveEmbed } from "/embed/byok_embed.js";

await init();
await serveEmbed();
