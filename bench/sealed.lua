-- wrk script: the same chat completion as post.lua, each request with its own sealed key, read
-- from BYOK_BENCH_SEALED (one header per line; threads take alternate lines, so no header is
-- sent twice).
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local headers, i = {}, 0
function init(args)
  local n = 0
  for line in io.lines(os.getenv("BYOK_BENCH_SEALED")) do
    if n % tonumber(os.getenv("BYOK_BENCH_THREADS") or 2) == id then
      headers[#headers + 1] = line
    end
    n = n + 1
  end
end

local body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'
function request()
  i = i + 1
  local sealed = headers[i] or "exhausted"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["X-BYOK-Sealed"] = sealed }, body)
end
