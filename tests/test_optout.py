"""The `optout` stage and its RFC 9309 robots.txt matcher: allow/deny edge cases, one test per reason code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.errors import ConfigError
from curation.filter.optout import OptOut
from curation.governance.robots import Robots, agent_token
from curation.governance.urls import host_in_domains, url_key
from curation.write.columns import read_shard_rows

ROBOTS = """\
# comments and blank lines are ignored
Sitemap: https://example.com/sitemap.xml

User-agent: *
Disallow: /private/
Allow: /private/public-page
Disallow: /*.pdf$
Disallow: /search

User-agent: GPTBot/1.1
User-agent: CCBot
Disallow: /
Allow: /news/

user-agent: Google-Extended
disallow: /fish*.php
allow: /fish

User-agent: gptbot
Disallow: /news/secret
"""


@pytest.fixture(scope="module")
def robots():
    return Robots.parse(ROBOTS)


@pytest.mark.parametrize(
    "agent,path,allowed",
    [
        # star group: prefix vs exact path
        ("SomeBot", "/private/", False),
        ("SomeBot", "/private", True),  # "/private/" is not a prefix of "/private"
        ("SomeBot", "/private/public-page", True),  # longer Allow wins
        ("SomeBot", "/private/public-page2", True),  # Allow is a prefix too
        ("SomeBot", "/private/other", False),
        ("SomeBot", "/searching", False),  # "/search" is a plain prefix
        ("SomeBot", "/a/b.pdf", False),  # "*" in the middle, "$" at the end
        ("SomeBot", "/a/b.pdf?x=1", True),  # "$" anchors: the query makes it not end in .pdf
        ("SomeBot", "/a/b.pdfx", True),
        ("SomeBot", "/", True),
        # named group: two User-agent lines share one group, version suffix and case ignored
        ("GPTBot", "/", False),
        ("gptbot", "/anything", False),
        ("CCBot", "/news/today", True),  # Allow /news/ (7) beats Disallow / (1)
        ("GPTBot", "/news/secret/1", False),  # merged second gptbot group: /news/secret (12) beats /news/ (7)
        ("CCBot", "/news/secret/1", True),  # ...which does not apply to CCBot
        ("GPTBot", "/private/public-page", False),  # a named group replaces the star group entirely
        # wildcards and ties
        ("Google-Extended", "/fish", True),
        ("Google-Extended", "/fish.php", False),  # /fish*.php (9) beats /fish (5)
        ("Google-Extended", "/fishheads/catfish.php?parameters", False),
        ("Google-Extended", "/Fish.php", True),  # paths are case-sensitive
        ("Google-Extended", "/private/x", True),  # own group: the star group does not apply
    ],
)
def test_robots_allow_deny_edge_cases(robots, agent, path, allowed):
    assert robots.allowed(agent, path) is allowed


def test_tie_goes_to_allow_and_empty_disallow_allows_everything():
    r = Robots.parse("User-agent: *\nDisallow: /page\nAllow: /page\n\nUser-agent: open\nDisallow:\n")
    assert r.allowed("bot", "/page") is True
    assert r.allowed("open", "/anything") is True
    r2 = Robots.parse("User-agent: *\nDisallow: /a*\nAllow: /ab\n")  # equal length 3: allow
    assert r2.allowed("x", "/ab") is True and r2.allowed("x", "/ac") is False


def test_star_fallback_can_be_disabled_and_unknown_files_allow():
    r = Robots.parse("User-agent: *\nDisallow: /\n")
    assert r.allowed("GPTBot", "/x") is False
    assert r.allowed("GPTBot", "/x", star_fallback=False) is True
    assert r.allowed("*", "/x", star_fallback=False) is False  # asking for the star agent itself
    assert Robots.parse("").allowed("GPTBot", "/x") is True
    assert Robots.parse("Disallow: /\n").allowed("GPTBot", "/x") is True  # rule before any group: nobody


def test_percent_encoding_and_non_ascii_paths():
    r = Robots.parse("User-agent: *\nDisallow: /新闻/\nDisallow: /a%2fb\n")
    assert r.allowed("x", "/%E6%96%B0%E9%97%BB/1") is False
    assert r.allowed("x", "/新闻/1") is False
    assert r.allowed("x", "/a%2Fb") is False


def test_agent_token():
    assert agent_token("GPTBot/1.1 (+https://openai.com)") == "gptbot"
    assert agent_token(" * ") == "*" and agent_token("Google-Extended") == "google-extended"


def test_url_keys_and_domains():
    assert url_key("HTTPS://WWW.Example.com:443/a/%e4%b8%ad?q=1#top") == "www.example.com/a/%E4%B8%AD?q=1"
    assert url_key("http://example.com") == url_key("https://example.com/") == "example.com/"
    assert url_key("example.com:8080/x") == "example.com:8080/x"
    assert url_key("http://例子.中国/路径") == "xn--fsqu00a.xn--fiqs8s/%E8%B7%AF%E5%BE%84"
    assert host_in_domains("a.b.example.com", {"example.com"}) == "example.com"
    assert host_in_domains("badexample.com", {"example.com"}) is None
    assert host_in_domains("example.com.", {"example.com"}) == "example.com"


def doc(url: str | None, i: int = 0) -> Document:
    return Document(text="正文" * 5, id=f"d{i}", metadata={"url": url} if url else {})


def run_stage(stage: OptOut, docs: list[Document]) -> tuple[list[str], dict]:
    kept = [d.id for d in stage.run(iter(docs))]
    return kept, {k: v.total for k, v in stage.stats.stats.items()}


@pytest.fixture
def lists(tmp_path):
    (tmp_path / "domains.txt").write_text("# opted-out sites\nexample.org\n*.blocked.cn  # wildcard prefix\n")
    (tmp_path / "prefixes.txt").write_text("https://news.site.com/blog/\nsite.com/page$\n")
    (tmp_path / "robots.txt").write_text("User-agent: GPTBot\nDisallow: /ai/\n\nUser-agent: *\nDisallow: /tmp\n")
    (tmp_path / "all.txt").write_text("User-agent: CCBot\nDisallow: /cc-only\n")
    return tmp_path


def test_optout_domain(lists):
    stage = OptOut(domains_file=str(lists / "domains.txt"))
    docs = [
        doc("https://example.org/a", 0),
        doc("http://www.example.org/b", 1),
        doc("https://notexample.org/", 2),
        doc("https://x.blocked.cn/", 3),
        doc("https://blocked.cn/", 4),
        doc(None, 5),
    ]
    kept, stats = run_stage(stage, docs)
    assert kept == ["d2", "d5"]
    assert stats["removed.optout_domain"] == 4 and stats["no_url"] == 1


def test_optout_url_prefix(lists):
    stage = OptOut(url_prefixes_file=str(lists / "prefixes.txt"))
    docs = [
        doc("http://news.site.com/blog/2024/1", 0),
        doc("https://news.site.com/blog", 1),  # no trailing /
        doc("https://site.com/page", 2),
        doc("https://site.com/page/2", 3),
        doc("https://site.com/page?x", 4),
    ]
    kept, stats = run_stage(stage, docs)
    assert kept == ["d1", "d3", "d4"]  # "$": exact URL only
    assert stats["removed.optout_url_prefix"] == 2


def test_optout_robots(lists):
    stage = OptOut(
        robots_files={"site.com": str(lists / "robots.txt"), "*": str(lists / "all.txt")},
        user_agents=["GPTBot", "CCBot"],
    )
    docs = [
        doc("https://site.com/ai/x", 0),
        doc("https://site.com/tmp/1", 1),
        doc("https://site.com/ok", 2),
        doc("https://www.site.com/ai/x", 3),  # robots.txt is per host: www.site.com falls to "*"
        doc("https://other.com/cc-only/1", 4),
        doc("https://other.com/fine", 5),
    ]
    kept, stats = run_stage(stage, docs)
    # /tmp: GPTBot has its own group (allows /tmp), CCBot has none -> star group disallows /tmp
    assert kept == ["d2", "d3", "d5"]
    assert stats["removed.optout_robots"] == 3
    assert stats["robots_agent.GPTBot"] == 1 and stats["robots_agent.CCBot"] == 2

    named_only = OptOut(robots_files={"site.com": str(lists / "robots.txt")}, user_agents=["CCBot"], star_group=False)
    assert run_stage(named_only, [doc("https://site.com/tmp/1")])[0] == ["d0"]


def test_reason_order_and_pickle(lists):
    stage = OptOut(domains_file=str(lists / "domains.txt"), url_prefixes_file=str(lists / "prefixes.txt"))
    stage = pickle.loads(pickle.dumps(stage))
    kept, stats = run_stage(stage, [doc("https://example.org/page", 0)])
    assert kept == [] and stats["removed.optout_domain"] == 1


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="at least one"):
        OptOut()
    with pytest.raises(ConfigError, match="not found"):
        OptOut(domains_file=str(tmp_path / "missing.txt"))


def test_pipeline_with_example_lists_on_sample_crawl(tmp_path, monkeypatch):
    """YAML -> validated config -> run: the example lists in pipelines/optout remove documents with each reason."""
    import json

    from curation.config import load_pipeline
    from curation.governance.urls import split_url
    from curation.runner import run_pipeline

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)  # stage list files resolve against the current directory
    (tmp_path / "p.yaml").write_text(
        f"""\
name: optout_demo
input: {{format: warc, paths: ["{repo}/pipelines/sample_crawl/*.warc.gz"]}}
output: {tmp_path / "out"}
stages:
  - optout:
      domains_file: pipelines/optout/domains.txt
      url_prefixes_file: pipelines/optout/url_prefixes.txt
      robots_files: {{"*": pipelines/optout/ai_robots.txt}}
""",
        encoding="utf-8",
    )
    result = run_pipeline(load_pipeline(tmp_path / "p.yaml"), workers=2, progress=False)
    stage = result.stats["stages"][0]
    removed = {k: v["docs"] for k, v in stage["removed_by_reason"].items()}
    assert set(removed) == {"optout_domain", "optout_url_prefix", "optout_robots"} and all(removed.values())
    kept = [
        json.loads(r["metadata"]) for r in read_shard_rows(tmp_path / "out" / "kept", ["metadata"])
    ]
    assert len(kept) == stage["kept"] and stage["kept"] + stage["removed"] == stage["docs_in"]
    for meta in kept:
        host, path = split_url(meta["url"])
        assert not host.endswith("mabiji.example")
        assert not path.endswith(".shtml")  # "*" group: agents without a group of their own (Google-Extended...)
        assert not (host == "www.xijiang-news.example" and path.startswith("/finance/"))
        assert not (path.startswith("/sports/") and not path.startswith("/sports/public/"))
