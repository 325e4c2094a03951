"""Schemathesis hooks of `make fuzz` (scripts/fuzz.sh sets SCHEMATHESIS_HOOKS). docs/reliability.md says why."""
import uuid

import schemathesis


def _valid_key(key):
    return isinstance(key, str) and 0 < len(key) <= 255 and key.isascii() and key.isprintable() and key.strip() == key


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # A client makes a fresh Idempotency-Key per intended write; generated keys repeat ("0", "A") across
    # different bodies, which is 422 idempotency_key_reused by design (spec section 4). Valid keys get a
    # unique suffix in every phase; invalid ones (the negative cases) are sent as generated.
    headers = case.headers
    if headers and _valid_key(headers.get("Idempotency-Key")):
        # Still at most 255 characters (the bound is part of what the schema says).
        headers["Idempotency-Key"] = f"{headers['Idempotency-Key'][:222]}-{uuid.uuid4().hex}"
