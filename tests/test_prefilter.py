"""prefilter: recall against web_zh's own Chinese decisions, one test per reason code, the uncertain cases that must
pass (GBK/Big5, mojibake, lying <html lang>, little text), keep_html, other keep-lists, validation."""

import gzip
import json
import pickle
import re
from pathlib import Path

import pytest
from datatrove.data import Document

from curation import registry
from curation.cli import main
from curation.ingest.reader import Ingest
from curation.langid.prefilter import LID176_LABELS, PreFilter, ScriptCounts, raw_script_free, visible_text

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "pipelines" / "sample_crawl"
MANIFEST = json.loads((SAMPLE / "MANIFEST.json").read_text(encoding="utf-8"))
SHARED_HTML = ("html_zh_news", "html_zh_magic", "html_multi", "html_bench_other")
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@pytest.fixture(scope="module")
def zh() -> PreFilter:
    stage = PreFilter(languages=["zh"])
    stage.setup()
    return stage


@pytest.fixture(scope="module")
def web_zh_langid():
    """extract -> normalize -> langid zh as pipelines/web_zh.yaml configures them: is a page kept as Chinese?"""
    import yaml

    stages = yaml.safe_load((REPO / "pipelines" / "web_zh.yaml").read_text(encoding="utf-8"))["stages"]
    chain = []
    for entry in stages:
        ((stage_id, params),) = entry.items()
        if stage_id in ("extract", "normalize", "langid"):
            stage = registry.get_stage(stage_id)(**(params or {}))
            stage.setup()
            chain.append(stage)
    assert [s.stage_id for s in chain] == ["extract", "normalize", "langid"]

    def kept_as_chinese(html: str) -> bool:
        doc = Document(text=html, id="x", metadata={"content_format": "html"})
        return all(stage.filter(doc) is True for stage in chain)

    return kept_as_chinese


def html_doc(html: str, url: str = "https://example.test/p") -> Document:
    return Document(text=html, id=url, metadata={"content_format": "html", "url": url})


def page(body: str, lang: str = "", title: str = "") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<html{lang_attr}><head><title>{title}</title><script>var x = 1;</script></head><body>{body}</body></html>"


EN_PARAS = ("<p>The city council approved a plan on Tuesday to build protected bike lanes along the river, after "
            "months of public meetings in which residents argued about parking, safety and the cost of the work.</p>"
            "<p>Construction is expected to start in the spring and to last about eighteen months, officials said."
            "</p>")
ZH_PARAS = ("<p>记者从市交通运输局获悉，本市将于下月起在主城区新增十二条公交线路，进一步方便市民出行。"
            "新线路主要覆盖新建居住区和产业园区，高峰时段发车间隔不超过十分钟。</p>"
            "<p>相关负责人表示，今年还将继续优化公交线网，提升换乘效率，让市民出行更加便捷。</p>")
JA_PARAS = ("<p>京都の小さな路地を歩いていると、古い町家を改装したカフェや雑貨店がいくつも見つかります。"
            "観光客が少ない朝の時間帯は、静かな雰囲気の中でゆっくりと散策を楽しむことができます。</p>"
            "<p>地元の人たちに愛されてきた豆腐店では、できたての豆腐をその場で味わうこともできました。</p>")
FR_PARAS = ("<p>Le conseil municipal a approuvé mardi un projet de pistes cyclables protégées le long de la rivière, "
            "après des mois de réunions publiques où les habitants ont débattu du stationnement et de la sécurité.</p>"
            "<p>Les travaux devraient commencer au printemps et durer environ dix-huit mois, selon la mairie.</p>")


@pytest.fixture(scope="module")
def crawl() -> list[tuple[str, str, dict]]:
    """The bundled sample crawl through ingest: (id, decoded HTML, metadata) per page."""
    return [(d.id, d.text, d.metadata) for d in Ingest(format="warc", paths=[str(SAMPLE / "*.warc.gz")]).run()]


def docs_of(crawl) -> list[Document]:
    return [Document(text=text, id=i, metadata=dict(meta)) for i, text, meta in crawl]


def shared_pages(shared_data: Path):
    for name in SHARED_HTML:
        with gzip.open(shared_data / name / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                yield name, rec


# --- acceptance: recall ------------------------------------------------------------------------------------------


def test_recall_on_the_bundled_crawl(zh, web_zh_langid, crawl):
    """No page of the sample crawl that web_zh (without prefilter) keeps as Chinese is removed by prefilter."""
    docs = docs_of(crawl)
    assert len(docs) == 302
    removed = {}
    for doc in docs:
        keep = zh.filter(Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata)))
        if keep is not True:
            removed[doc.metadata["url"]] = (doc.text, keep[1])
    assert removed, "prefilter removed nothing from the sample crawl"
    lost = [url for url, (html, _) in removed.items() if web_zh_langid(html)]
    assert lost == []
    # and what it removed is exactly the crawl's non-Chinese pages
    assert {MANIFEST["pages"][u]["lang"] for u in removed} <= {"en", "ja", "ko"}


def _mojibake_lead_re() -> re.Pattern:
    """A character that UTF-8's lead byte of a CJK character (E3-E9, F0) becomes in one of the code pages ftfy's
    repair tries, followed by another non-ASCII character: without one, the repair cannot produce a Han character."""
    import ftfy.bad_codecs  # noqa: F401  registers the sloppy-windows-* codecs

    from curation.normalize.chars import _HINT_CODEPAGES

    leads = {bytes([b]).decode(cp, errors="ignore") for cp in _HINT_CODEPAGES for b in (*range(0xE3, 0xEA), 0xF0)}
    return re.compile("[" + re.escape("".join(sorted(leads - {""}))) + "][^\x00-\x7f]")


MOJIBAKE_LEAD = _mojibake_lead_re()


def could_be_chinese(html: str) -> bool:
    """False when extract cannot return a single Han character from this HTML: none is in it after the mojibake repair
    extract does first and with character references (&#20013;) resolved. Such pages need no extraction to know that
    langid will not keep them as Chinese (465 of the 517 removed pages; the test then takes seconds, not minutes)."""
    import html as html_lib

    from curation.normalize.chars import fix_mojibake

    if MOJIBAKE_LEAD.search(html):
        html = fix_mojibake(html)
    return HAN.search(html_lib.unescape(html)) is not None


def test_recall_on_every_shared_html_page(zh, web_zh_langid, shared_data):
    """Every shared HTML page prefilter [zh] removes is one that extract -> normalize -> langid zh does not keep."""
    n = n_removed = n_extracted = 0
    lost = []
    for name, rec in shared_pages(shared_data):
        n += 1
        keep = zh.filter(html_doc(rec["html"], rec["id"]))
        if keep is True:
            continue
        n_removed += 1
        if could_be_chinese(rec["html"]):
            n_extracted += 1
            if web_zh_langid(rec["html"]):
                lost.append((name, rec["id"], keep[1]))
    assert n == 710
    assert lost == []
    assert n_removed >= 500  # it does remove the non-Chinese majority (517 when written)
    assert n_extracted >= 40  # pages with some Han text (language menus, Japanese) were checked the slow way (52)


# --- reason codes ------------------------------------------------------------------------------------------------


def test_no_script_reason(zh):
    doc = html_doc(page(EN_PARAS * 2 + "<a href='/zh'>中文</a>", lang="en"))
    assert zh.filter(doc) == (False, "prefilter_no_script")
    assert doc.metadata["prefilter.han"] == 2 and doc.metadata["prefilter.letters"] > 200
    assert "prefilter.lid" not in doc.metadata  # decided on script counts alone, no model call


def test_other_cjk_reason_for_japanese(zh):
    doc = html_doc(page(JA_PARAS * 2, lang="ja"))
    assert zh.filter(doc) == (False, "prefilter_other_cjk")
    assert doc.metadata["prefilter.lid"] == "ja" and doc.metadata["prefilter.kana"] > 50


def test_other_lang_reason():
    en = PreFilter(languages=["en"])
    doc = html_doc(page(FR_PARAS * 2, lang="fr"))
    assert en.filter(doc) == (False, "prefilter_other_lang")
    assert doc.metadata["prefilter.lid"] == "fr" and doc.metadata["prefilter.lid_score"] >= 0.9
    assert en.filter(html_doc(page(EN_PARAS * 2))) is True


# --- removed records: excerpt or HTML ----------------------------------------------------------------------------


def test_removed_record_keeps_url_reason_features_and_an_excerpt_not_the_html(zh):
    html = page(EN_PARAS * 20 + "<a href='/zh'>中文</a>", title="Bike lanes")  # Han in a menu: parsed, rule 4
    doc = html_doc(html, "https://news.example.com/bikes")
    assert zh.filter(doc) == (False, "prefilter_no_script")
    assert doc.metadata["url"] == "https://news.example.com/bikes"
    assert doc.metadata["prefilter.html_chars"] == len(html)
    assert "<p>" not in doc.text and doc.text.startswith("Bike lanes\nThe city council")
    assert len(doc.text) <= 500 < len(html)
    assert doc.metadata["content_format"] == "text"


def test_pages_without_one_kept_script_character_are_removed_without_parsing(zh):
    """Rule 0: no Han anywhere in the HTML (markup and scripts included) -> nothing extract returns can be Chinese;
    removed before the parse, whatever the amount of text, with the page title as the record's text."""
    html = page(EN_PARAS * 20, title="Bike &amp; lanes")
    doc = html_doc(html, "https://news.example.com/bikes")
    assert zh.filter(doc) == (False, "prefilter_no_script")
    assert doc.metadata["prefilter.rule"] == "raw_script_free" and doc.metadata["prefilter.han"] == 0
    assert doc.text == "Bike & lanes" and doc.metadata["content_format"] == "text"
    assert "prefilter.letters" not in doc.metadata  # not parsed
    tiny = html_doc(page("<p>Hello, world. Contact us.</p>", lang="zh"))
    assert zh.filter(tiny) == (False, "prefilter_no_script")  # little text, but not one Han character
    # not rule 0: Han spelled as numeric references, or in a script, or enough latin-1 residue to hide mojibake
    refs = "".join(f"&#{ord(c)};" for c in "本市将于下月起在主城区新增十二条公交线路，进一步方便市民出行。") * 2
    assert zh.filter(html_doc(page(f"<p>{refs}</p>"))) is True  # references decode to 40 Han: protected
    hex_ref = html_doc(page(EN_PARAS * 2 + "<a href='/zh'>&#x4e2d;&#x6587;</a>"))
    assert zh.filter(hex_ref) == (False, "prefilter_no_script") and hex_ref.metadata["prefilter.han"] == 2
    in_script = html_doc(page(EN_PARAS * 2).replace("var x = 1;", "var lang = '中文';"))
    assert zh.filter(in_script) == (False, "prefilter_no_script") and "prefilter.letters" in in_script.metadata
    assert raw_script_free(page(EN_PARAS), frozenset({"han"}), 20)
    assert not raw_script_free(page(EN_PARAS + "é" * 20), frozenset({"han"}), 20)
    assert not raw_script_free(page(EN_PARAS + "\U00020000"), frozenset({"han"}), 20)  # ext B, a surrogate pair
    assert raw_script_free(page(EN_PARAS + "中文"), frozenset({"kana"}), 20)
    # keep-lists with a script every page's markup has (Latin) never use rule 0
    assert PreFilter(languages=["en"])._raw_scripts == frozenset()
    assert PreFilter(languages=["zh", "ja"])._raw_scripts == frozenset({"han", "kana"})


def test_keep_html_keeps_the_html_of_removed_pages():
    stage = PreFilter(languages=["zh"], keep_html=True)
    html = page(EN_PARAS * 20)
    doc = html_doc(html)
    assert stage.filter(doc) == (False, "prefilter_no_script")
    assert doc.text == html and doc.metadata["content_format"] == "html"


def test_kept_pages_are_not_modified(zh):
    html = page(ZH_PARAS)
    doc = html_doc(html)
    meta = dict(doc.metadata)
    assert zh.filter(doc) is True
    assert doc.text == html and doc.metadata == meta


# --- uncertain pages pass ----------------------------------------------------------------------------------------


def test_gbk_big5_and_mojibake_pages_of_the_bundled_crawl_pass(zh, crawl):
    docs = {d.metadata["url"]: d for d in docs_of(crawl)}
    tagged = {u: p for u, p in MANIFEST["pages"].items() if {"gbk", "big5", "mojibake", "zh_hant"} & set(p["tags"])}
    assert len(tagged) >= 40
    for url, p in tagged.items():
        if url in docs:
            assert zh.filter(docs[url]) is True, (url, p["tags"])


def test_unrepairable_mojibake_passes(zh):
    """GBK bytes read as latin-1 ("ÖÐÎÄ"): nothing can tell the language; the page passes (counted as uncertain)."""
    garbled = "<p>" + "本市将于下月起在主城区新增十二条公交线路，进一步方便市民出行。".encode("gbk").decode("latin-1") * 6 + "</p>"
    assert zh.features(page(garbled))[0]["han"] == 0
    assert zh.filter(html_doc(page(garbled))) is True
    # UTF-8 read as windows-1252 (which extract repairs): passes too
    cp1252 = "<p>" + ZH_PARAS.encode("utf-8").decode("cp1252", errors="replace") * 2 + "</p>"
    assert zh.filter(html_doc(page(EN_PARAS + cp1252))) is True


def test_a_lying_html_lang_does_not_decide(zh):
    assert zh.filter(html_doc(page(ZH_PARAS, lang="en"))) is True
    assert zh.filter(html_doc(page(EN_PARAS * 2, lang="zh-CN"))) == (False, "prefilter_no_script")


def test_little_text_passes(zh):
    assert zh.filter(html_doc(page("<p>Hello, world. 联系我们。</p>", lang="en"))) is True
    assert zh.filter(html_doc("<p>你好</p>")) is True
    assert zh.filter(html_doc("<<<>>>é" + "\u00a0" * 30)) is True  # enough latin-1 residue: parsed, little text


def test_chinese_among_much_english_boilerplate_passes(zh):
    nav = "".join(f"<li><a href='/{i}'>Section {i} news and more stories from around the world</a></li>"
                  for i in range(150))
    doc = html_doc(page(f"<ul>{nav}</ul>{ZH_PARAS}<footer>{EN_PARAS * 5}</footer>", lang="en"))
    feats = zh.features(doc.text)[0]
    assert feats["latin"] > 20 * feats["han"]
    assert zh.filter(doc) is True


def test_traditional_chinese_and_cantonese_pass(zh, shared_data):
    import opencc

    trad = opencc.OpenCC("s2hk").convert(ZH_PARAS)
    assert zh.filter(html_doc(page(trad, lang="zh-HK"))) is True
    with gzip.open(shared_data / "yue" / "yue.jsonl.gz", "rt", encoding="utf-8") as f:
        yue = [json.loads(next(f))["text"] for _ in range(40)]
    body = "".join(f"<p>{s}</p>" for s in yue)
    assert zh.filter(html_doc(page(body))) is True


def test_non_html_documents_pass_untouched(zh):
    doc = Document(text=EN_PARAS, id="t", metadata={"content_format": "text"})
    assert zh.filter(doc) is True and doc.text == EN_PARAS


# --- other keep-lists on real pages ------------------------------------------------------------------------------


def test_ja_ko_en_keep_lists_on_the_bundled_crawl(crawl):
    by_lang: dict[str, list[tuple]] = {}
    for i, html, meta in crawl:
        by_lang.setdefault(MANIFEST["pages"][meta["url"]]["lang"] or "none", []).append((i, html, meta))
    for keep in ("ja", "ko", "en"):
        stage = PreFilter(languages=[keep])
        assert all(stage.filter(d) is True for d in docs_of(by_lang[keep])), keep
        zh_removed = sum(stage.filter(d) is not True for d in docs_of(by_lang["zh"][::3]))
        assert zh_removed >= 0.9 * len(by_lang["zh"][::3]), keep


def test_ja_and_en_keep_lists_on_shared_pages(shared_data):
    ja, en = PreFilter(languages=["ja"]), PreFilter(languages=["en"])
    outcome = {"ja": [], "zh_ja": [], "en": [], "zh_en": []}
    for name, rec in shared_pages(shared_data):
        lang = (rec.get("lang") or "").lower()
        if name in ("html_zh_news", "html_bench_other"):
            continue
        if name == "html_zh_magic" and lang == "ja":
            outcome["ja"].append(ja.filter(html_doc(rec["html"])) is True)
        elif name == "html_zh_magic" and lang == "zh":
            outcome["zh_ja"].append(ja.filter(html_doc(rec["html"])) is True)
            outcome["zh_en"].append(en.filter(html_doc(rec["html"])) is True)
        elif name == "html_multi" and lang.startswith("en"):
            outcome["en"].append(en.filter(html_doc(rec["html"])) is True)
    assert all(outcome["ja"]) and len(outcome["ja"]) == 8  # every Japanese page kept
    assert sum(outcome["zh_ja"]) == 0  # no Chinese page kept for [ja]
    assert sum(outcome["en"]) >= 0.97 * len(outcome["en"])  # English pages kept for [en]
    assert sum(outcome["zh_en"]) <= 0.05 * len(outcome["zh_en"])


# --- configuration -----------------------------------------------------------------------------------------------


def test_unsupported_keep_list_is_refused_at_validation(tmp_path, capsys):
    text = (REPO / "pipelines" / "web_zh.yaml").read_text(encoding="utf-8")
    assert "      languages: [zh]                # uncertain" in text
    bad = tmp_path / "web_zh.yaml"
    bad.write_text(text.replace("      languages: [zh]                # uncertain", "      languages: [zh-cn]  #"),
                   encoding="utf-8")
    (tmp_path / "sample_crawl").symlink_to(SAMPLE)
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if ln.startswith("  - prefilter:"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"web_zh.yaml:{line}:" in err and "'zh-cn'" in err and "not supported" in err
    with pytest.raises(ValueError, match="non-empty list"):
        PreFilter(languages=[])


def test_lid176_labels_match_the_model():
    from curation.langid import fasttext_compat

    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
    assert {lab.removeprefix("__label__") for lab in model.labels} == LID176_LABELS


def test_stage_pickles_and_is_registered():
    stage = registry.get_stage("prefilter")(languages=["zh", "ja"])
    clone = pickle.loads(pickle.dumps(stage))
    assert clone.languages == ["zh", "ja"] and clone._model is None
    assert registry.stage_ids().index("prefilter") < registry.stage_ids().index("extract")


def test_script_counts_and_visible_text():
    text, lang = visible_text("<html lang='ja'><head><style>p{}</style><script>var a='中';</script>"
                              "<title>標題</title></head><body><p>Ab 中文 ひらがな カタカナ・ 한국어 Ωé</p></body></html>")
    assert lang == "ja" and "var a" not in text and "p{}" not in text and "標題" in text
    c = ScriptCounts(text)
    assert (c.count("han"), c.count("kana"), c.count("hangul"), c.count("latin"), c.count("greek")) == (4, 8, 3, 3, 1)
    assert c.letters() == 4 + 8 + 3 + 3 + 1
