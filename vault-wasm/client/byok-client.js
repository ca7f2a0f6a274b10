// byok-client: use the keys in a person's byok vault from your web app without any script of
// your page ever holding one (the vault's isolated mode).
//
// The vault lives on its own origin (for example https://keys.example.com, the byok proxy). This
// library frames its embed document, hidden, and talks to it over a MessageChannel: your page
// asks for requests to be made and gets the answers; keys, the vault password and the person's
// labels stay on the vault's origin. Consent (connecting your app, a grant) happens in a window
// of the vault's origin that your page cannot reach into.
//
//   import { Byok } from "https://keys.example.com/byok-client.js";
//   const byok = await Byok.connect({ vault: "https://keys.example.com" });
//   button.onclick = () => byok.requestAccess();           // a vault window asks the person
//   const res = await byok.fetch("openai", "/v1/chat/completions", { method: "POST", body });
//
// No wasm and no secret in this file: it is plain JavaScript any page may load.

const VERSION = 1;
const CONNECT_TIMEOUT_MS = 10_000;
const HANDOFF_WAIT_MS = 3_000;
/** How long a closed consent window's answer may still be on its way. */
const CLOSED_GRACE_MS = 1_000;
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** An error from the vault or this library; `code` says which (see the README). */
export class ByokError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "ByokError";
    this.code = code;
  }
}

function fail(code, message) {
  return new ByokError(code, message);
}

/** A connection to a person's byok vault. Make one with `Byok.connect`. */
export class Byok {
  #origin;
  #frame;
  #frameId;
  #port;
  #next = 1;
  #pending = new Map();
  #listeners = new Set();
  #closed = false;

  constructor(secret) {
    if (secret !== CONSTRUCT) {
      throw new TypeError("use Byok.connect({ vault })");
    }
  }

  /**
   * Frames the vault's embed document (hidden) and connects to it.
   * Rejects with `vault_unreachable`, `not_allowed` (the vault's operator does not list this
   * site), `storage_partitioned` (the browser keeps the vault's storage apart from this site).
   */
  static async connect({ vault, timeoutMs = CONNECT_TIMEOUT_MS } = {}) {
    let origin;
    try {
      origin = new URL(vault).origin;
    } catch {
      throw fail("vault_unreachable", "`vault` must be the vault's URL, like https://keys.example.com");
    }
    let listed;
    try {
      const answer = await fetch(`${origin}/byok/embed`, { credentials: "omit" });
      listed = (await answer.json()).origins;
    } catch {
      throw fail("vault_unreachable", `the vault at ${origin} could not be reached`);
    }
    if (!Array.isArray(listed) || !listed.includes(location.origin)) {
      throw fail("not_allowed", `the vault's operator does not allow ${location.origin} to use it`);
    }
    const frame = document.createElement("iframe");
    frame.src = `${origin}/embed.html`;
    frame.title = "byok vault";
    frame.hidden = true;
    frame.setAttribute("aria-hidden", "true");
    const byok = new Byok(CONSTRUCT);
    byok.#origin = origin;
    byok.#frame = frame;
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        window.removeEventListener("message", onEmbedReady);
        frame.remove();
        reject(fail("vault_unreachable", "the vault did not answer"));
      }, timeoutMs);
      // The embed document says when it listens; then it gets the port.
      const onEmbedReady = (event) => {
        if (event.source !== frame.contentWindow || event.origin !== origin || event.data?.byok !== "embed-ready") {
          return;
        }
        window.removeEventListener("message", onEmbedReady);
        const channel = new MessageChannel();
        byok.#port = channel.port1;
        channel.port1.onmessage = (event) => {
          const data = event.data;
          if (data && data.type === "ready" && !byok.#frameId) {
            clearTimeout(timer);
            byok.#frameId = data.frame;
            channel.port1.onmessage = (e) => byok.#receive(e.data);
            resolve(byok);
          } else if (data && data.type === "refused") {
            clearTimeout(timer);
            frame.remove();
            channel.port1.close();
            reject(fail(data.error?.code || "vault_unreachable", data.error?.message));
          }
        };
        frame.contentWindow.postMessage({ byok: "connect", version: VERSION }, origin, [channel.port2]);
      };
      window.addEventListener("message", onEmbedReady);
    });
    document.body.appendChild(frame);
    return ready;
  }

  /** `{ connected, locked, providers }`: never a label, an id or a key. */
  async status() {
    const answer = await this.#call({ op: "status" });
    return answer.status;
  }

  /**
   * Asks the person, in a window of the vault's origin, to connect this app. Call it from a
   * click (browsers block popups otherwise). Resolves `true` when they allow, `false` when they
   * say no or close the window.
   */
  async requestAccess({ providers = [] } = {}) {
    const result = await this.#consent("connect", { providers });
    const approved = result.approved === true;
    if (approved) {
      // The person unlocked in the vault's window, which hands the vault to our frame: wait
      // for it to arrive, so the next request finds it open.
      await this.#unlocked(HANDOFF_WAIT_MS);
    }
    this.#changed();
    return approved;
  }

  /**
   * Asks the person, in a vault window, for a grant of `provider`'s key: a token a job of
   * yours uses without the vault (see the README's grants). Call it from a click.
   * Rejects with `denied` when they say no.
   */
  async grant(provider, { ttlSeconds, maxRequests, models, label } = {}) {
    const scope = { provider, ttlSeconds, maxRequests, models, label };
    const result = await this.#consent("grant", { scope });
    if (!result.approved || !result.grant) {
      throw fail(result.code || "denied", result.message || "the person said no");
    }
    return result.grant;
  }

  /** Opens the vault's settings page (a popup, or a tab): keys, unlocking, connected apps. */
  openSettings() {
    const url = `${this.#origin}/#keys&frame=${encodeURIComponent(this.#frameId || "")}`;
    return window.open(url, "byok-settings", "popup,width=1000,height=760") || undefined;
  }

  /**
   * `fetch` through the vault: `path` is below the provider's (`/v1/chat/completions` for
   * OpenAI's chat); the vault adds the key. Resolves a real `Response` whose body streams as
   * the proxy sends it. `init.signal` aborts the request through to the provider.
   */
  async fetch(provider, path, init = {}) {
    if (init.signal?.aborted) {
      throw fail("aborted", "the request was aborted");
    }
    const headers = [...new Headers(init.headers || {})];
    const body = await bodyOf(init.body);
    const method = (init.method || "GET").toUpperCase();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      let controller;
      const request = {
        onHead: (head, whole) => {
          const empty = NULL_BODY_STATUS.has(head.status) || method === "HEAD";
          if (whole !== undefined) {
            this.#pending.delete(id); // the answer came whole, with its head
          }
          const stream = empty
            ? null
            : whole !== undefined
              ? whole
              : new ReadableStream({
                  start(c) { controller = c; },
                  cancel: () => this.#abort(id),
                });
          resolve(new Response(stream, {
            status: head.status,
            statusText: head.statusText,
            headers: head.headers,
          }));
        },
        onChunk: (chunk) => controller?.enqueue(new Uint8Array(chunk)),
        onEnd: () => {
          this.#pending.delete(id);
          try { controller?.close(); } catch { /* already cancelled */ }
        },
        onError: (error) => {
          this.#pending.delete(id);
          if (controller) {
            try { controller.error(error); } catch { /* already closed */ }
          } else {
            reject(error);
          }
        },
      };
      this.#pending.set(id, request);
      init.signal?.addEventListener("abort", () => {
        if (this.#pending.has(id)) {
          this.#abort(id);
          request.onError(fail("aborted", "the request was aborted"));
        }
      }, { once: true });
      this.#post({ id, op: "fetch", provider, path, method, headers, body });
    });
  }

  /** Calls `listener(status)` when the vault locks or unlocks, or this app is connected or revoked. Returns a function that stops it. */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the connection and removes the frame. */
  disconnect() {
    this.#closed = true;
    this.#port?.close();
    this.#frame?.remove();
    for (const [, request] of this.#pending) {
      request.onError(fail("not_connected", "disconnected"));
    }
    this.#pending.clear();
  }

  #post(message) {
    if (this.#closed) {
      throw fail("not_connected", "disconnected");
    }
    // Copied, not transferred: an ArrayBuffer body stays the caller's.
    this.#port.postMessage(message);
  }

  #call(message) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        onAnswer: (data) => { this.#pending.delete(id); resolve(data); },
        onError: (error) => { this.#pending.delete(id); reject(error); },
      });
      this.#post({ id, ...message });
    });
  }

  #abort(id) {
    if (!this.#closed) {
      this.#port.postMessage({ id, op: "abort" });
    }
  }

  #receive(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    if (data.type === "change") {
      this.#emit(data.status);
      return;
    }
    const request = this.#pending.get(data.id);
    if (!request) {
      return;
    }
    if (data.error) {
      request.onError(fail(data.error.code, data.error.message));
    } else if (data.head) {
      request.onHead?.(data.head, data.body);
    } else if (data.chunk) {
      request.onChunk?.(data.chunk);
    } else if (data.end) {
      request.onEnd?.();
    } else {
      request.onAnswer?.(data);
    }
  }

  #emit(status) {
    for (const listener of this.#listeners) {
      try { listener(status); } catch (e) { setTimeout(() => { throw e; }); }
    }
  }

  /** Resolves once the vault's frame is unlocked, or after `ms`. */
  async #unlocked(ms) {
    const deadline = performance.now() + ms;
    for (;;) {
      let status;
      try { status = await this.status(); } catch { return; }
      if (!status.locked || performance.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #changed() {
    try {
      this.#emit(await this.status());
    } catch { /* disconnected */ }
  }

  /** A consent window of the vault's origin: it learns who asks from the browser, not from us. */
  #consent(kind, request) {
    const popup = window.open(`${this.#origin}/#${kind}`, `byok-${kind}`, "popup,width=520,height=720");
    if (!popup) {
      return Promise.reject(fail("popup_blocked", "the browser blocked the vault's window; call this from a click"));
    }
    return new Promise((resolve) => {
      let finished = false;
      const done = (result) => {
        if (finished) return;
        finished = true;
        window.removeEventListener("message", onMessage);
        clearInterval(watch);
        resolve(result);
      };
      const onMessage = (event) => {
        if (event.source !== popup || event.origin !== this.#origin || !event.data) {
          return;
        }
        if (event.data.byok === "consent-hello") {
          popup.postMessage({ byok: "consent-request", kind, frame: this.#frameId, ...request }, this.#origin);
        } else if (event.data.byok === "consent-result") {
          done(event.data);
        }
      };
      window.addEventListener("message", onMessage);
      // The window closes itself right after posting its answer, and the browser may show it
      // closed before that message is delivered here: a closed window counts as "no" only if
      // no answer follows within CLOSED_GRACE_MS.
      let closedAt = 0;
      const watch = setInterval(() => {
        if (!popup.closed) return;
        closedAt ||= performance.now();
        if (performance.now() - closedAt >= CLOSED_GRACE_MS) {
          done({ approved: false, code: "denied", message: "the vault's window was closed" });
        }
      }, 100);
    });
  }
}

const CONSTRUCT = Symbol("Byok.connect");

async function bodyOf(body) {
  if (body === undefined || body === null) {
    return undefined;
  }
  if (typeof body === "string" || body instanceof ArrayBuffer) {
    return body;
  }
  if (ArrayBuffer.isView(body)) {
    return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
  }
  if (body instanceof Blob) {
    return body.arrayBuffer();
  }
  if (body instanceof URLSearchParams) {
    return body.toString();
  }
  throw new TypeError("byok.fetch takes a body of text, an ArrayBuffer, a typed array, a Blob or URLSearchParams");
}
