-- wrk script: a small chat completion request with the user's key in X-BYOK-Key.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-BYOK-Key"] = "sk-proj-BENCHbenchBENCHbench0000"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'
