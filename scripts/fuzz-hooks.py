"""schemathesis hooks for `scripts/fuzz.sh`: keep the fuzzed server off the network.

The server fetches what some fields name (a source's `url`, a bot's `website_url` when it is
trained, a webhook's `url`, an `openai` engine's `base_url`). Generated values can be real public
addresses, so before each request every string in the body that the server would read as an http(s)
URL gets its host replaced by one under `.invalid` (RFC 6761: it never resolves). The request still
reaches the handler with a well-formed URL; the fetch or delivery then fails at name resolution,
without a connection leaving the machine.
"""

import re

import schemathesis

# The host every generated http(s) URL is pointed at.
FUZZ_HOST = "sitechat-fuzz.invalid"

# The WHATWG URL parser (the `url` crate) drops ASCII tabs and newlines anywhere and C0 controls
# and spaces at both ends before reading the scheme, and reads `http:host` like `http://host`.
_REMOVED = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^(?P<scheme>https?):", re.IGNORECASE)


def _offline(value: str) -> str:
    normalised = _REMOVED.sub("", value).strip("".join(chr(c) for c in range(0x21)))
    match = _SCHEME.match(normalised)
    if match is None:
        return value
    rest = normalised[match.end() :].lstrip("/\\")
    # Keep the path and query (they are what the handler parses next), drop the authority.
    cut = min((i for i in (rest.find(c) for c in "/?#\\") if i >= 0), default=len(rest))
    return f"{match.group('scheme').lower()}://{FUZZ_HOST}{rest[cut:]}"


def _walk(value):
    if isinstance(value, str):
        return _offline(value)
    if isinstance(value, list):
        return [_walk(v) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v) for k, v in value.items()}
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    """Points every http(s) URL of the body at a host that cannot resolve."""
    if case.body is not None and not isinstance(case.body, (bytes, bytearray)):
        case.body = _walk(case.body)
