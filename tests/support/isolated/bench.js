// The isolated mode's cost: byok.fetch (through the vault's frame) against the in-page
// vault.fetch, in the same page, to the same proxy; the test reads window.bench.
const { Byok } = await import(`${window.VAULT}/byok-client.js`);
const vaultPkg = await import("/vault/byok_vault.js");
await vaultPkg.default();

const results = (window.results = {});
const byok = await Byok.connect({ vault: window.VAULT });
document.getElementById("connect").onclick = () =>
  byok.requestAccess().then((ok) => { results.access = { ok }; });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

window.bench = {
  // The in-page vault, on the app's origin, with the same key.
  async prepare(password, key) {
    const vault = await vaultPkg.Vault.open({ name: "bench", proxyUrl: window.VAULT });
    if (!(await vault.exists())) await vault.create(password);
    else await vault.unlock(password);
    if (vault.list().length === 0) await vault.add("openai", key, "bench");
    window.inPage = vault;
    return true;
  },
  // `rounds` interleaved rounds of each kind; medians of time to the Response and to its end.
  async run(rounds) {
    const json = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const sse = JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [] });
    const init = (body) => ({ method: "POST", headers: { "content-type": "application/json" }, body });
    const kinds = {
      "isolated json": () => byok.fetch("openai", "/openai/v1/chat/completions", init(json)),
      "in-page json": () => window.inPage.fetch("openai", "/openai/v1/chat/completions", init(json)),
      "isolated sse": () => byok.fetch("openai", "/openai/v1/chat/completions", init(sse)),
      "in-page sse": () => window.inPage.fetch("openai", "/openai/v1/chat/completions", init(sse)),
    };
    const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, { head: [], end: [] }]));
    for (let round = 0; round < rounds; round++) {
      for (const [kind, send] of Object.entries(kinds)) {
        const started = performance.now();
        const response = await send();
        const head = performance.now() - started;
        await response.arrayBuffer();
        const end = performance.now() - started;
        if (response.status !== 200) throw new Error(`${kind}: ${response.status}`);
        if (round > 0) { // the first round warms connections and code up
          times[kind].head.push(head);
          times[kind].end.push(end);
        }
      }
    }
    return Object.fromEntries(Object.entries(times).map(([k, t]) => [k, { head: median(t.head), end: median(t.end), n: t.head.length }]));
  },
};
results.loaded = true;
