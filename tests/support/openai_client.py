"""Drives the official OpenAI Python SDK against byok-proxy's unified endpoint.

Usage: openai_client.py BASE_URL USER_KEY. Prints one JSON object with what came back.
"""
import json
import sys

from openai import OpenAI

base_url, user_key = sys.argv[1], sys.argv[2]
client = OpenAI(
    base_url=base_url,
    api_key="sdk-app-token",  # the app's token; the user's key goes in X-BYOK-Key
    default_headers={"X-BYOK-Key": user_key},
    max_retries=0,
)

raw = client.chat.completions.with_raw_response.create(
    model="anthropic/claude-sonnet-4-5",
    messages=[{"role": "user", "content": "Say hello"}],
)
plain = raw.parse()
streamed = "".join(
    chunk.choices[0].delta.content or ""
    for chunk in client.chat.completions.create(
        model="anthropic/claude-sonnet-4-5",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
    )
    if chunk.choices
)
embedding = client.embeddings.create(model="openai/text-embedding-3-small", input="hello")
print(json.dumps({
    "plain": plain.choices[0].message.content,
    "plain_model": plain.model,
    "streamed": streamed,
    "embedding_len": len(embedding.data[0].embedding),
    "key_source": raw.headers.get("x-byok-key-source"),
}))
