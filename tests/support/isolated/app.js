// The example app of the isolated-mode test: the client library from the vault's origin, and
// what the test drives through WebDriver (`window.app`, and the buttons for what needs a click).
const { Byok } = await import(`${window.VAULT}/byok-client.js`);

const results = (window.results = { changes: [] });
// The last call's answer under `name`: an earlier one is cleared at once, so a test never
// reads the answer to a previous call while this one is on its way.
const said = (name, promise) => {
  delete results[name];
  return promise.then(
    (value) => { results[name] = { ok: value }; },
    (error) => { results[name] = { error: error.code || String(error) }; },
  );
};

async function text(response) {
  return { status: response.status, source: response.headers.get("x-byok-key-source"), body: await response.text() };
}

window.app = {
  connect: () => said("connect", Byok.connect({ vault: window.VAULT }).then((byok) => {
    window.byok = byok;
    byok.onChange((status) => results.changes.push(status));
    return true;
  })),
  status: () => said("status", window.byok.status()),
  fetchJson: (path, headers = {}) => said("json", window.byok.fetch("openai", path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
  }).then(text)),
  fetchPath: (path) => said("path", window.byok.fetch("openai", path).then(text)),
  // An endless stream: the first event arrives, then the app aborts it.
  streamThenAbort: () => said("stream", (async () => {
    const controller = new AbortController();
    const started = performance.now();
    const response = await window.byok.fetch("openai", "/slow-stream", { signal: controller.signal });
    const reader = response.body.getReader();
    const first = await reader.read();
    const firstMs = performance.now() - started;
    controller.abort();
    let after;
    try { await reader.read(); after = "still reading"; } catch (e) { after = e.code || e.name; }
    return { first: new TextDecoder().decode(first.value), firstMs, after };
  })()),
  // The chat stream: each event as it arrives, with when.
  chatStream: () => said("chat", (async () => {
    const started = performance.now();
    const response = await window.byok.fetch("openai", "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [] }),
    });
    const reader = response.body.getReader();
    const reads = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads.push({ at: performance.now() - started, text: new TextDecoder().decode(value) });
    }
    return reads;
  })()),
};

document.getElementById("connect").onclick = () => said("access", window.byok.requestAccess({ providers: ["openai"] }));
document.getElementById("grant").onclick = () =>
  said("grant", window.byok.grant("openai", { ttlSeconds: 600, maxRequests: 3, label: "Nightly job" }));
document.getElementById("settings").onclick = () => { results.settingsOpened = Boolean(window.byok.openSettings()); };
results.loaded = true;
