-- wrk script: the same chat completion as post.lua, with a grant (BYOK_BENCH_GRANT) as the key.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BYOK_BENCH_GRANT")
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'
