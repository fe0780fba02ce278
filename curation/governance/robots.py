"""A small robots.txt matcher following RFC 9309 (the Robots Exclusion Protocol), for offline opt-out checks.

Python's ``urllib.robotparser`` is not usable here: it applies the first matching rule instead of the longest,
and knows neither ``*`` nor ``$`` in paths. What this module implements:

- Groups: one or more ``User-agent`` lines followed by ``Allow`` / ``Disallow`` lines; a ``User-agent`` line after
  a rule starts a new group; groups naming the same agent are merged. Rules before any ``User-agent`` line and
  other keys (``Sitemap``, ``Crawl-delay``) are ignored. Keys are case-insensitive, ``#`` starts a comment.
- Agent matching: the product token of the line (leading letters, ``-`` and ``_``; "GPTBot/1.1" -> "gptbot") equals
  the crawler's token, case-insensitively. A crawler with no group of its own obeys the ``User-agent: *`` group
  (``star_fallback=False`` disables that, for "only explicit AI opt-outs count").
- Path matching against path + "?query" of the URL: ``*`` matches any sequence, a final ``$`` anchors the end,
  anything else is a prefix match. Percent escapes are compared upper-cased and non-ASCII as UTF-8 escapes.
- Precedence: the matching rule with the longest pattern (in octets) wins; on a tie Allow wins (RFC 9309 2.2.2,
  "the least restrictive"); no matching rule (or an empty ``Disallow:``) means allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from curation.governance.urls import norm_percent

_TOKEN = re.compile(r"[A-Za-z_-]+")


def agent_token(value: str) -> str:
    """The product token of a User-agent value, lower-cased ("*" for the wildcard, "" when there is none)."""
    v = value.strip()
    if v.startswith("*"):
        return "*"
    m = _TOKEN.match(v)
    return m.group(0).lower() if m else ""


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str  # normalized

    @property
    def length(self) -> int:
        return len(self.pattern.encode("utf-8"))

    def matches(self, path: str) -> bool:
        return _compile(self.pattern).match(path) is not None


@lru_cache(maxsize=65536)
def _compile(pattern: str) -> re.Pattern:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + (r"\Z" if anchored else ""), re.DOTALL)


@dataclass
class Robots:
    """Parsed robots.txt: agent token -> rules (merged over groups)."""

    groups: dict[str, list[Rule]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Robots:
        groups: dict[str, list[Rule]] = {}
        agents: list[str] = []
        in_rules = False  # the current group has seen a rule: the next User-agent line starts a new group
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if ":" not in line:
                continue
            key, value = (s.strip() for s in line.split(":", 1))
            key = key.lower()
            if key in ("user-agent", "useragent", "user agent"):
                if in_rules:
                    agents, in_rules = [], False
                token = agent_token(value)
                if token:
                    agents.append(token)
                    groups.setdefault(token, [])
            elif key in ("allow", "disallow"):
                if not agents:
                    continue  # a rule outside any group applies to nobody
                in_rules = True
                if not value:
                    continue  # "Disallow:" (empty) allows everything: no rule
                pattern = value if value.startswith(("/", "*")) else "/" + value
                rule = Rule(key == "allow", norm_percent(pattern))
                for a in agents:
                    groups[a].append(rule)
        return cls(groups)

    def rules_for(self, agent: str, star_fallback: bool = True) -> list[Rule]:
        token = agent_token(agent)
        if token in self.groups and token != "*":
            return self.groups[token]
        if star_fallback or token == "*":
            return self.groups.get("*", [])
        return []

    def decide(self, agent: str, path: str, star_fallback: bool = True) -> tuple[bool, Rule | None]:
        """(allowed, the deciding rule or None) for ``agent`` fetching ``path`` (path + "?query", normalized)."""
        best: Rule | None = None
        for rule in self.rules_for(agent, star_fallback):
            if rule.matches(path) and (
                best is None or rule.length > best.length or (rule.length == best.length and rule.allow)
            ):
                best = rule
        return (best is None or best.allow), best

    def allowed(self, agent: str, path: str, star_fallback: bool = True) -> bool:
        return self.decide(agent, norm_percent(path or "/"), star_fallback)[0]
