#!/usr/bin/env python3
"""Loopback echo server for the vault's browser tests.

Answers every request with JSON describing what it received (method, path, headers), and
allows any origin (CORS), so a page served by wasm-bindgen-test-runner can call it. It binds
127.0.0.1 only. Usage: echo_server.py PORT (0 picks a free port); prints the port it listens on.

`/byok/grants` answers as byok-proxy's grant endpoints do (create, peek, revoke one or all),
keeping grants in memory per key, so the vault's grant calls can be tested in the browser
without the proxy's CORS settings; `/byok/test/<provider>` answers as the proxy's key test,
refusing keys that hold "invalid"; `/byok/seal-key` answers 404, as a proxy that publishes no
seal key (so the vault sends keys plain in its default "auto" mode). Under `/rotating/` it
plays a proxy that rotated its seal key: the first `/rotating/byok/seal-key` lists key `k1`,
later ones `k2`, and a request sealed to `k1` gets `401 seal_key_unknown`; under `/stale/` the
key is always `k1` and always unknown. It opens nothing (any 32 bytes are an X25519 public key).
Under `/failover/` (and `/azure/`) it plays a provider that refuses some keys (see `_failover`), for the
vault's failover over several keys.
The real proxy, and sealed keys opened, are tested end to end in tests/ui.
"""
import json
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GRANTS = {}  # id -> {"key": ..., "left": ..., "expires_at": ...}
FAILOVER_LOG = []  # the keys /failover/ requests came with, in order
SEAL_CONFIGS_SERVED = {"/rotating/": 0, "/stale/": 0}


class Echo(BaseHTTPRequestHandler):
    def _cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
        self.send_header("Access-Control-Expose-Headers", "Retry-After, X-BYOK-Key-Source")

    def do_OPTIONS(self):
        self.send_response(204)
        self._cors()
        self.end_headers()

    def _json(self, status, value=None):
        payload = b"" if value is None else json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self._cors()
        self.end_headers()
        self.wfile.write(payload)

    def _grants(self, body):
        key = self.headers.get("X-BYOK-Key")
        if not key:
            return self._json(401, {"error": {"message": "missing API key", "code": "missing_api_key"}})
        rest = self.path[len("/byok/grants"):].strip("/")
        if self.command == "POST" and not rest:
            scope = json.loads(body or "{}")
            if scope.get("ttl_seconds") == 0:
                return self._json(400, {"error": {"message": "invalid grant request: `ttl_seconds` must be between 1 and 86400", "code": "invalid_grant_scope"}})
            grant_id = secrets.token_hex(16)
            now = int(time.time())
            expires = now + (scope.get("ttl_seconds") or 300)
            GRANTS[grant_id] = {"key": key, "left": scope.get("max_requests"), "expires_at": expires}
            return self._json(201, {"token": "byok_g_" + secrets.token_urlsafe(48), "id": grant_id,
                                    "expires_at": expires, "created_at": now})
        if self.command == "DELETE" and not rest:
            mine = [i for i, g in GRANTS.items() if g["key"] == key]
            for grant_id in mine:
                del GRANTS[grant_id]
            return self._json(200, {"revoked": len(mine)})
        grant = GRANTS.get(rest)
        if grant is None or grant["key"] != key:
            return self._json(401, {"error": {"message": "the grant is not valid", "code": "invalid_grant"}})
        if self.command == "DELETE":
            del GRANTS[rest]
            return self._json(204)
        return self._json(200, {"id": rest, "requests_left": grant["left"], "expires_at": grant["expires_at"]})

    def _rotating(self, prefix):
        if self.path == prefix + "byok/seal-key":
            SEAL_CONFIGS_SERVED[prefix] += 1
            key_id = "k1" if prefix == "/stale/" or SEAL_CONFIGS_SERVED[prefix] == 1 else "k2"
            return self._json(200, {"version": 1, "max_skew_seconds": 60, "keys": [
                {"id": key_id, "public_key": "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
                 "not_after": int(time.time()) + 86400}]})
        sealed = self.headers.get("X-BYOK-Sealed") or ""
        if sealed.startswith("v1.k1."):
            return self._json(401, {"error": {"message": "unknown seal key", "code": "seal_key_unknown"}})
        return None

    def _failover(self, body):
        """Plays a provider behind the proxy, by the key: "limited" gets 429 with Retry-After
        30, "refused" 401, "broken" 500, "proxyown" a 429 of the proxy's own (no key source),
        any other 200 with what was sent. /failover-log lists the keys seen, and clears it."""
        if self.path.startswith("/failover-log"):
            seen = list(FAILOVER_LOG)
            FAILOVER_LOG.clear()
            return self._json(200, seen)
        key = self.headers.get("X-BYOK-Key") or ""
        FAILOVER_LOG.append(key)
        for word, status in (("limited", 429), ("refused", 401), ("broken", 500), ("proxyown", 429)):
            if word in key:
                payload = json.dumps({"error": {"message": word}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if word == "limited":
                    self.send_header("Retry-After", "30")
                if word != "proxyown":
                    self.send_header("X-BYOK-Key-Source", "user")
                self._cors()
                self.end_headers()
                self.wfile.write(payload)
                return
        payload = json.dumps({"key": key, "body": body, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-BYOK-Key-Source", "user")
        self._cors()
        self.end_headers()
        self.wfile.write(payload)

    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if self.path.startswith("/failover") or self.path.startswith("/azure/"):
            return self._failover(body)
        if self.path.startswith("/byok/grants"):
            return self._grants(body)
        if self.path.startswith("/byok/seal-key"):
            return self._json(404, {"error": {"message": "no such route", "code": "not_found"}})
        for prefix in SEAL_CONFIGS_SERVED:
            if self.path.startswith(prefix):
                reply = self._rotating(prefix)
                if reply is not None:
                    return reply
        if self.path.startswith("/byok/test/"):
            # As byok-proxy's key test answers: like the tests' fake provider, a key holding
            # "invalid" is refused.
            key = self.headers.get("X-BYOK-Key") or ""
            valid = "invalid" not in key
            return self._json(200, {"provider": self.path.rsplit("/", 1)[1], "valid": valid,
                                    "status": 200 if valid else 401,
                                    "message": "ok" if valid else "invalid API key"})
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self._cors()
            self.end_headers()
            return
        payload = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self._cors()
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _echo
    do_POST = _echo
    do_DELETE = _echo

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo)
    print(server.server_address[1], flush=True)
    server.serve_forever()
