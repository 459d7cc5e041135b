"""What a written value gives away: a hard-coded endpoint or a credential. Pure functions.

Values are judged on their literal text: `${...}` references are dropped first (a
reference to a binding, a service URL or a secret is how it should be done), but their
defaults are kept, since `${DB_URL:-postgres://u:pw@db/x}` still writes the URL down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.layers import is_secret_name

_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://([^\s/?#'\"]+)", re.IGNORECASE)
# Hosts that only make sense on one machine or at one cloud endpoint, with or without a port.
_HOST = re.compile(
    r"(?<![\w.-])(localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|host\.docker\.internal"
    r"|[a-z0-9.-]+\.amazonaws\.com)(:\d{1,5})?(?![\w.-])",
    re.IGNORECASE,
)
_IP_PORT = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b")
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
_NOT_NETWORK = {"file", "data", "mailto"}
_EMULATOR_PORTS = {"4566", "4510"}  # LocalStack's gateway; MiniStack/moto pick their own

KIND_OF_SCHEME = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "redis": "redis",
    "rediss": "redis",
}


@dataclass(frozen=True)
class Endpoint:
    text: str  # the endpoint as written, credentials masked
    kind: str  # the backing-service kind it should be: s3/sqs/... -> "aws", postgres, url


def literal_text(value: str) -> str | None:
    """The value with every reference removed (defaults kept); None if malformed."""
    try:
        return interpolate(value, lambda _name: None)
    except InterpolationError:
        return None


def find_endpoint(value: str) -> Endpoint | None:
    """The first hard-coded network endpoint in a value, if any."""
    text = literal_text(value)
    if not text:
        return None
    for match in _URL.finditer(text):
        scheme, authority = match.group(1).lower(), match.group(2)
        host = authority.rsplit("@", 1)[-1]
        if scheme in _NOT_NETWORK or not host.strip(":"):
            continue  # `http://${services.api.host}:${...}`: only references
        shown = f"{scheme}://{host}"
        return Endpoint(shown, _kind(scheme, host))
    for match in (*_HOST.finditer(text), *_IP_PORT.finditer(text)):
        return Endpoint(match.group(0), _kind("", match.group(0)))
    return None


def _kind(scheme: str, host: str) -> str:
    if scheme in KIND_OF_SCHEME:
        return KIND_OF_SCHEME[scheme]
    port = host.rsplit(":", 1)[-1] if ":" in host else ""
    if host.lower().split(":")[0].endswith(".amazonaws.com") or port in _EMULATOR_PORTS:
        return "aws"
    return "url"


def find_credential(name: str, value: str, *, declared_secret: bool = False) -> str | None:
    """Why `name=value` holds a credential written in clear, or None.

    A secret-named variable (`*_PASSWORD`, `*_TOKEN`, `*_KEY`, ...: the names devstack
    masks) with any literal text counts, whatever the text: a dummy value today is a real
    one after the next copy-paste.
    """
    text = literal_text(value)
    if not text:
        return None
    if _AWS_KEY_ID.search(text):
        return "an AWS access key id"
    for match in _URL.finditer(text):
        userinfo = match.group(2).rsplit("@", 1)
        if len(userinfo) == 2 and ":" in userinfo[0] and userinfo[0].split(":", 1)[1]:
            return "a password inside a URL"
    if declared_secret:
        return "a value marked secret"
    if is_secret_name(name):
        return "a value for a secret-named variable"
    return None
