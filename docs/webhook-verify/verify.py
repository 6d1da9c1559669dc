#!/usr/bin/env python3
"""Verifies a sitechat webhook delivery (Standard Webhooks signature).

Usage: verify.py SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE < body
Exits 0 when one of the signatures is valid and the timestamp is within 5 minutes.
"""
import base64
import hashlib
import hmac
import sys
import time

TOLERANCE_SECONDS = 5 * 60


def verify(secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes) -> bool:
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    # The key is the secret's bytes, as given (whsec_ prefix included).
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    return any(hmac.compare_digest(expected, s) for s in signatures.split(" "))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    body = sys.stdin.buffer.read()
    ok = verify(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], body)
    print("valid" if ok else "invalid")
    sys.exit(0 if ok else 1)
