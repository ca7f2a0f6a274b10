"""A background job that uses a user's key through a grant, never holding the key itself.

The official OpenAI SDK with the grant as its API key and byok-proxy as its base URL; nothing
else changes. The grant comes from the environment (never the command line, where `ps` shows
it), as a job queue would hand it over.

Usage: BYOK_GRANT=byok_g_... grant_worker.py BASE_URL MODEL
Prints one JSON object: the answers, or the error the proxy gave.
"""
import json
import os
import sys

import openai
from openai import OpenAI

base_url, model = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base_url, api_key=os.environ["BYOK_GRANT"], max_retries=0)
messages = [{"role": "user", "content": "Say hello"}]

try:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
    plain = raw.parse()
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True)
        if chunk.choices
    )
    print(json.dumps({
        "plain": plain.choices[0].message.content,
        "streamed": streamed,
        "key_source": raw.headers.get("x-byok-key-source"),
    }))
except openai.APIStatusError as error:
    body = error.body if isinstance(error.body, dict) else {}
    print(json.dumps({"status": error.status_code, "code": body.get("code")}))
