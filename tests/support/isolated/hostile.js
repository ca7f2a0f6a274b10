// A hostile script in the app's page, loaded before anything else: it wraps every way a key,
// the password or a grant could pass through this page, and keeps whatever it sees in
// window.__captured for the test to search.
(() => {
  const captured = (window.__captured = []);
  const bytes = (value) => {
    try {
      if (value instanceof ArrayBuffer) return new TextDecoder("latin1").decode(new Uint8Array(value));
      if (ArrayBuffer.isView(value)) return new TextDecoder("latin1").decode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    } catch { /* detached */ }
    return null;
  };
  const show = (value, depth = 0) => {
    if (depth > 4) return "";
    const raw = bytes(value);
    if (raw !== null) return raw;
    if (value instanceof Headers) return JSON.stringify([...value]);
    if (value && typeof value === "object") {
      try {
        return Object.keys(value).map((k) => `${k}=${show(value[k], depth + 1)}`).join(",") + JSON.stringify(value, (_, v) => bytes(v) ?? v);
      } catch { return String(value); }
    }
    return String(value);
  };
  const keep = (where, ...values) => { try { captured.push(`${where}: ${values.map((v) => show(v)).join(" | ")}`); } catch { /* keep going */ } };
  const wrap = (owner, name, where) => {
    const original = owner[name];
    if (typeof original !== "function") return;
    owner[name] = function (...args) {
      keep(where, ...args);
      const result = original.apply(this, args);
      if (result && typeof result.then === "function") {
        result.then((value) => keep(`${where} =>`, value), () => {});
      }
      return result;
    };
  };
  wrap(window, "fetch", "fetch");
  const OriginalResponse = Response;
  wrap(Response.prototype, "text", "response.text");
  wrap(Response.prototype, "json", "response.json");
  wrap(Response.prototype, "arrayBuffer", "response.arrayBuffer");
  wrap(XMLHttpRequest.prototype, "open", "xhr.open");
  wrap(XMLHttpRequest.prototype, "send", "xhr.send");
  wrap(XMLHttpRequest.prototype, "setRequestHeader", "xhr.header");
  wrap(WebSocket.prototype, "send", "ws.send");
  wrap(Headers.prototype, "set", "headers.set");
  wrap(Headers.prototype, "append", "headers.append");
  wrap(window, "postMessage", "window.postMessage");
  wrap(MessagePort.prototype, "postMessage", "port.postMessage");
  wrap(window, "open", "window.open");
  wrap(Storage.prototype, "setItem", "storage.setItem");
  wrap(IDBFactory.prototype, "open", "indexedDB.open");
  wrap(IDBObjectStore.prototype, "put", "idb.put");
  for (const method of ["encrypt", "decrypt", "importKey", "deriveBits", "deriveKey", "digest", "sign"]) {
    wrap(SubtleCrypto.prototype, method, `subtle.${method}`);
  }
  const OriginalRequest = Request;
  window.Request = function (...args) { keep("new Request", ...args); return new OriginalRequest(...args); };
  window.Request.prototype = OriginalRequest.prototype;
  const OriginalHeaders = Headers;
  window.Headers = function (...args) { keep("new Headers", ...args); return new OriginalHeaders(...args); };
  window.Headers.prototype = OriginalHeaders.prototype;
  // Every message listener, on windows and ports, and the onmessage setters.
  const originalAdd = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (type === "message" && typeof listener === "function") {
      const seen = listener;
      listener = function (event) { keep("message event", event.origin, event.data); return seen.call(this, event); };
    }
    return originalAdd.call(this, type, listener, options);
  };
  for (const proto of [MessagePort.prototype, Window.prototype]) {
    const property = Object.getOwnPropertyDescriptor(proto, "onmessage");
    if (!property || !property.set) continue;
    Object.defineProperty(proto, "onmessage", {
      configurable: true,
      get() { return property.get.call(this); },
      set(handler) {
        property.set.call(this, handler && function (event) { keep("onmessage", event.data); return handler.call(this, event); });
      },
    });
  }
  // Reading streams the page gets.
  const originalRead = ReadableStreamDefaultReader.prototype.read;
  ReadableStreamDefaultReader.prototype.read = function () {
    return originalRead.call(this).then((result) => { keep("stream.read", result.value); return result; });
  };
  // Reach into every frame and every window this page opens, as often as it can.
  const windows = [];
  const originalOpen = window.open;
  window.open = function (...args) { const w = originalOpen.apply(this, args); if (w) windows.push(w); return w; };
  setInterval(() => {
    for (const w of [...Array.from({ length: window.frames.length }, (_, i) => window.frames[i]), ...windows]) {
      try { keep("frame document", w.document.documentElement.outerHTML); } catch (e) { keep("frame refused", e.name); }
      try { keep("frame storage", JSON.stringify(w.localStorage)); } catch (e) { keep("frame storage refused", e.name); }
    }
    for (const frame of document.querySelectorAll("iframe")) {
      try { keep("iframe content", frame.contentDocument && frame.contentDocument.body.innerHTML); } catch (e) { keep("iframe refused", e.name); }
    }
  }, 100);
  // Forged messages: to the vault's frame directly (not through the port), as if it were the app.
  setInterval(() => {
    for (const frame of document.querySelectorAll("iframe")) {
      try {
        frame.contentWindow.postMessage({ id: 999, op: "fetch", provider: "openai", path: "/v1/models" }, "*");
        frame.contentWindow.postMessage({ byok: "connect", version: 1 }, "*", [new MessageChannel().port2]);
      } catch (e) { keep("forge refused", e.name); }
    }
  }, 500);
  void OriginalResponse;
})();
