"""Seals a provider key to byok-proxy with pyhpke, an HPKE implementation of its own, following
only the README's "Sealed keys" section (no byok code).

Usage: seal_pyhpke.py PUBLIC_KEY_B64URL KEY_ID METHOD TARGET BODY UNIX_SECONDS KEY
Prints the X-BYOK-Sealed header value.
"""
import base64
import hashlib
import os
import sys

from pyhpke import AEADId, CipherSuite, KDFId, KEMId


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


public_key, key_id, method, target, body, seconds, key = sys.argv[1:8]
suite = CipherSuite.new(
    KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.CHACHA20_POLY1305
)
recipient = suite.kem.deserialize_public_key(
    base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4))
)
nonce = b64url(os.urandom(16))
aad = "\n".join(
    [
        "byok-seal v1",
        method,
        target,
        hashlib.sha256(body.encode()).hexdigest(),
        seconds,
        nonce,
    ]
).encode()
enc, sender = suite.create_sender_context(recipient, info=b"byok-seal v1")
ciphertext = sender.seal(key.encode(), aad=aad)
print(f"v1.{key_id}.{seconds}.{nonce}.{b64url(enc)}.{b64url(ciphertext)}")
