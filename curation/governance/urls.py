"""URL and host normalization shared by the opt-out stage and `curate takedown`, and the list-file reader.

Two URLs are the same document address when their *keys* are equal:

    url_key("HTTPS://WWW.Example.com:443/a/%e4%b8%ad?q=1#top") == "www.example.com/a/%E4%B8%AD?q=1"

- scheme dropped (an opt-out or takedown of the https page covers its http copy), fragment dropped;
- host lowercased, IDNA (punycode) encoded, trailing dot and default port (80, 443) removed;
- path "" -> "/", percent escapes upper-cased, non-ASCII characters percent-encoded as UTF-8; query kept as is
  (same normalization). A URL without a scheme ("example.com/a") is read as one.
Hosts: ``host_key`` applies the host rules; a domain entry covers the host itself and every subdomain
(``example.com`` covers ``www.example.com`` and ``a.b.example.com``, not ``badexample.com``).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
DEFAULT_PORTS = {"http": "80", "https": "443"}


def norm_percent(s: str) -> str:
    """Upper-case existing %xx escapes and percent-encode non-ASCII characters and spaces (UTF-8)."""
    s = _ESCAPE.sub(lambda m: m.group(0).upper(), s)
    if s.isascii() and " " not in s:
        return s
    return "".join(c if c.isascii() and c != " " else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in s)


def host_key(host: str | None) -> str:
    """Lower-case, IDNA-encoded host without port and trailing dot; "" for None / empty."""
    if not host:
        return ""
    h = host.strip().lower()
    if h.startswith("[") and "]" in h:  # IPv6 literal
        return h[: h.index("]") + 1]
    h = h.rsplit("@", 1)[-1]
    if ":" in h:
        h = h.split(":", 1)[0]
    h = h.strip(".")
    if not h.isascii():
        try:
            h = h.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return h


def split_url(url: str) -> tuple[str, str]:
    """(host[:port] key, path?query key) of a URL; ("", "") when it has no host."""
    u = url.strip()
    if "://" not in u[:12]:
        u = "http://" + u.lstrip("/")
    try:
        parts = urlsplit(u)
        port = parts.port
    except ValueError:
        return "", ""
    host = host_key(parts.hostname or "")
    if not host:
        return "", ""
    scheme = parts.scheme.lower()
    if port is not None and str(port) != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = norm_percent(parts.path or "/")
    if parts.query:
        path += "?" + norm_percent(parts.query)
    return host, path


def url_key(url: str) -> str:
    """The normalized address of a URL (module docstring); "" when it has no host."""
    host, path = split_url(url)
    return f"{host}{path}" if host else ""


def host_in_domains(host: str, domains: set[str]) -> str | None:
    """The entry of ``domains`` (host keys) that covers ``host`` (itself or a parent domain), else None."""
    h = host_key(host)
    while h:
        if h in domains:
            return h
        if "." not in h:
            return None
        h = h.split(".", 1)[1]
    return None


def read_list(path: str | Path) -> list[str]:
    """Non-empty lines of a list file, without ``#`` comments (a whole-line comment or `` #`` after an entry)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append(line.split(" #", 1)[0].strip())
    return out
