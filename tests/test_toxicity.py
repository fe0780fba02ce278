"""`toxicity` stage: one test per reason code (url_blocklist_<category>, blocklist, toxicity_model), no false
positive on tricky innocent Chinese words, pickling, config errors; rates on real data when ../shared/data exists."""

import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest
from datatrove.data import Document

from curation.filter import fasttext_model as fm
from curation.filter import toxicity
from curation.filter.toxicity import (
    DATA_DIR,
    PhraseBlocklist,
    ToxicityFilter,
    datatrove_ut1_path,
    read_blocklist,
    url_keys,
)
from tests.test_classifier import TOY_PARAMS, make_dataset

# Innocent words that contain a character or a substring of something offensive: none may count as a hit.
INNOCENT_ZH = [
    "操作系统",
    "体操比赛",
    "操场",
    "节操",
    "日本料理",
    "日记本",
    "生日快乐",
    "鸡尾酒",
    "鸡肉饭",
    "草地上",
    "我草草地看了一遍",
    "干净整洁",
    "干部",
    "白痴（陀思妥耶夫斯基的小说）",
    "智障人士",
    "玉米棒子",
    "棒子面",
    "你妹妹在家吗",
    "几把椅子",
    "打飞机模型",
    "上门服务",
    "老虎机",
    "香港六合彩",
    "澳门赌场的历史",
    "菠菜炒蛋",
    "阿三哥",
    "绿绿的草地",
    "黑人篮球运动员",
    "日本人",
    "尼玛次仁",
    "肌肉麻痹",
    "垃圾分类",
    "废物利用",
    "畜生道",
    "杂种优势",
    "阴道炎的治疗",
    "强奸罪的量刑",
    "淫秽物品",
    "偷拍者被拘留",
    "牛逼",
    "我靠着墙",
    "女优秀学生",
    "人妻子女",
    "萝莉塔",
    "逼迫",
    "逼近",
    "鸡毛",
    "屌丝",
    "黑奴贸易",
    "倭寇",
    "蝗虫灾害",
    "彩票中心",
    "娱乐",
    "城市",
    "成人教育",
    "成人高考",
    "色情片分级制度讨论",
]
INNOCENT_EN = [
    "document the cumulative title",
    "Scunthorpe",
    "assassin",
    "sporno",
    "Georgy",
    "cocktail",
    "therapist",
    "Dick Cheney",
    "hooker",
    "XXX公司",
]


@pytest.fixture(scope="module")
def phrases() -> PhraseBlocklist:
    return PhraseBlocklist(["zh", "en"]).load()


def run(stage, docs):
    return list(stage.run(docs)), docs


def doc(text, **metadata):
    return Document(text=text, id=text[:8], metadata=dict(metadata))


def test_no_false_positive_on_tricky_innocent_words(phrases):
    for word in INNOCENT_ZH + INNOCENT_EN:
        assert phrases.count(word)[0] == 0, word
    kept, _ = run(ToxicityFilter(url_categories=[], min_blocklist_hits=1), [doc("，".join(INNOCENT_ZH))])
    assert len(kept) == 1


def test_phrases_match_simplified_traditional_and_english(phrases):
    assert phrases.count("你这个傻逼")[0] == 1
    assert phrases.count("操你媽")[0] == 1  # Traditional variant from OpenCC
    assert phrases.count("色情影片")[1] == {"porn": 1}  # Taiwan phrasing (s2twp) of 色情视频
    assert phrases.count("What the FUCK, fucking hell")[0] == 2
    assert phrases.count("ＦＵＣＫ")[0] == 1  # fullwidth folded by NFKC
    assert phrases.count("操你妈的傻逼")[1] == {"insult": 2}  # longest non-overlapping matches


def test_blocklist_reason_and_metadata():
    stage = ToxicityFilter(url_categories=[])
    one, two, clean = doc("你这个傻逼。"), doc("你这个傻逼，真是个人渣。"), doc("今天天气很好。")
    kept, _ = run(stage, [one, two, clean])
    assert [d.text for d in kept] == [one.text, clean.text]  # default: at least 2 hits
    assert stage.stats["removed.blocklist"].total == 1
    assert two.metadata["toxicity.blocklist_hits"] == 2
    assert two.metadata["toxicity.blocklist_per_1k"] == round(2000 / len(two.text), 3)
    assert two.metadata["toxicity.blocklist_categories"] == ["insult"]
    assert clean.metadata["toxicity.blocklist_hits"] == 0
    kept, _ = run(ToxicityFilter(url_categories=[], min_blocklist_hits=1), [doc("你这个傻逼。")])
    assert not kept
    long_doc = doc("你这个傻逼，真是个人渣。" + "今天天气很好。" * 400)  # 2 hits in 2,800 chars: 0.7 per 1k
    kept, _ = run(ToxicityFilter(url_categories=[]), [long_doc])
    assert kept
    kept, _ = run(
        ToxicityFilter(url_categories=[], max_blocklist_per_1k=None, min_blocklist_hits=1),
        [doc("你这个傻逼，真是个人渣。")],
    )
    assert kept  # annotate only


@pytest.fixture
def ut1_dir(tmp_path):
    """A tiny UT1-layout blacklists/ folder."""
    (tmp_path / "gambling").mkdir()
    (tmp_path / "gambling" / "domains").write_text("bet-example.com\n# comment\nCasino-Example.NET\n")
    (tmp_path / "gambling" / "urls").write_text("free-host.example/casino/page\n")
    (tmp_path / "audio-video").mkdir()
    (tmp_path / "audio-video" / "domains").write_text("tube-example.org\n")
    return tmp_path


def test_url_blocklist_reason_with_parent_domains_and_urls(ut1_dir):
    stage = ToxicityFilter(
        url_categories=["gambling", "audio-video"], url_blocklist_dir=str(ut1_dir), blocklist_languages=[]
    )
    docs = [
        doc("a", url="https://www.bet-example.com/x"),  # parent domain
        doc("b", host="casino-example.net"),  # host only, list entry was mixed case
        doc("c", url="http://free-host.example/casino/page/"),  # URL entry, trailing slash
        doc("d", url="http://free-host.example/other"),
        doc("e", url="https://m.tube-example.org/"),
        doc("f", url="not a url at all"),
        doc("g"),
    ]
    kept, _ = run(stage, docs)
    assert [d.text for d in kept] == ["d", "f", "g"]
    assert stage.stats["removed.url_blocklist_gambling"].total == 3
    assert stage.stats["removed.url_blocklist_audio_video"].total == 1
    assert docs[0].metadata["toxicity.url_category"] == "gambling"


def test_url_blocklist_adult_reads_the_datatrove_tarball_layout(tmp_path, monkeypatch):
    # the real tarball (4.56M domains) takes seconds to load: bench/classifier.py measures it; here a tiny one with
    # the same layout (members `domains` and `urls`)
    tar_path = tmp_path / "ut1.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, body in (("domains", b"porn-example.com\nsex-example.org\n"), ("urls", b"blog.example/nsfw\n")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    monkeypatch.setattr(toxicity, "datatrove_ut1_path", lambda: tar_path)
    stage = ToxicityFilter(blocklist_languages=[])
    kept, _ = run(
        stage,
        [
            doc("a", url="https://www.porn-example.com/view"),
            doc("b", url="https://zh.wikipedia.org/"),
            doc("c", url="https://blog.example/nsfw"),
            doc("d", url="https://blog.example/travel"),
        ],
    )
    assert [d.text for d in kept] == ["b", "d"] and stage.stats["removed.url_blocklist_adult"].total == 2


def test_datatrove_ships_the_ut1_tarball():
    assert datatrove_ut1_path().is_file() and datatrove_ut1_path().stat().st_size > 10_000_000


def test_url_keys():
    assert url_keys("https://a.b.example.co.uk/p?q=1", None) == (
        [b"a.b.example.co.uk", b"b.example.co.uk", b"example.co.uk", b"co.uk"],
        [b"a.b.example.co.uk/p?q=1"],
    )
    assert url_keys(None, "Example.COM.") == ([b"example.com"], [])
    assert url_keys("http://[bad", None) == ([], [])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tox")
    path = tmp / "toy.bin"
    fm.train(make_dataset(tmp / "toy.jsonl"), path, params=TOY_PARAMS)
    return path


def test_model_reason(model):
    stage = ToxicityFilter(url_categories=[], blocklist_languages=[], model_path=str(model), model_threshold=0.5)
    bad, good = doc("公司的同事一群废物垃圾，据说。"), doc("公司的同事准备了丰盛的晚餐，据说。")
    kept, _ = run(stage, [bad, good])
    assert kept == [good] and stage.stats["removed.toxicity_model"].total == 1
    assert bad.metadata["toxicity.model"] >= 0.5 > good.metadata["toxicity.model"]


def test_pickle_round_trip_before_setup(model, ut1_dir):
    stage = ToxicityFilter(
        url_categories=["gambling"], url_blocklist_dir=str(ut1_dir), model_path=str(model), min_blocklist_hits=1
    )
    clone = pickle.loads(pickle.dumps(stage))
    kept, _ = run(clone, [doc("你这个傻逼。"), doc("a", url="https://bet-example.com/"), doc("今天天气很好。")])
    assert [d.text for d in kept] == ["今天天气很好。"]
    again = pickle.loads(pickle.dumps(clone))  # after setup: lists and model are dropped, reloaded on first use
    kept, _ = run(again, [doc("你这个傻逼。"), doc("a", url="https://bet-example.com/"), doc("今天天气很好。")])
    assert [d.text for d in kept] == ["今天天气很好。"]


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="'gambling' not found"):
        ToxicityFilter(url_categories=["gambling"])
    with pytest.raises(ValueError, match="url_blocklist_dir not found"):
        ToxicityFilter(url_blocklist_dir=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="no phrase blocklist"):
        ToxicityFilter(blocklist_languages=["fr"])
    with pytest.raises(ValueError, match="model file not found"):
        ToxicityFilter(model_path=str(tmp_path / "nope.ftz"))
    with pytest.raises(ValueError, match="model_threshold"):
        ToxicityFilter(model_threshold=1.5)


def test_blocklist_files_are_well_formed():
    for lang, cats in (("zh", {"insult", "slur", "porn", "gambling"}), ("en", {"profanity", "slur", "sexual"})):
        lists = read_blocklist(DATA_DIR / f"blocklist_{lang}.txt")
        assert set(lists) == cats
        phrases = [p for items in lists.values() for p in items]
        assert len(phrases) == len(set(phrases)), "duplicate phrase"


def test_rates_on_real_data(shared_data, phrases):
    """Chinese Wikipedia prose: nothing removed at the defaults; COLD offensive comments: some hits."""
    with open(shared_data / "prose_zh_wiki" / "passages.jsonl", encoding="utf-8") as f:
        wiki = [json.loads(line)["text"] for line in f]
    stage = ToxicityFilter(url_categories=[])
    kept, _ = run(stage, [Document(text=t, id=str(i)) for i, t in enumerate(wiki)])
    assert len(kept) == len(wiki)
    with open(shared_data / "toxic_zh" / "cold_train_dev.jsonl", encoding="utf-8") as f:
        offensive = [r["text"] for r in map(json.loads, f) if r["label"] == 1]
    hit = sum(phrases.count(t)[0] >= 1 for t in offensive) / len(offensive)
    assert hit > 0.04


def test_shipped_cold_model_resolves_from_any_directory(tmp_path, monkeypatch):
    shipped = DATA_DIR.parents[1] / "models" / "toxicity_zh.ftz"
    if not shipped.is_file():
        pytest.skip("no shipped model")
    monkeypatch.chdir(tmp_path)  # "curation/models/..." does not exist here: taken from beside the package
    stage = ToxicityFilter(
        url_categories=[], blocklist_languages=[], model_path="curation/models/toxicity_zh.ftz", model_threshold=0.9
    )
    kept, docs = run(stage, [doc("黑鬼滚出中国，一群人渣"), doc("上海的地铁很方便，人也很友善。")])
    assert [d.text for d in kept] == ["上海的地铁很方便，人也很友善。"]
    assert docs[0].metadata["toxicity.model"] > 0.9 > docs[1].metadata["toxicity.model"]


def test_hashed_blocklists_are_cached_on_disk_and_rebuilt_when_the_list_changes(ut1_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CURATE_CACHE_DIR", str(cache))
    domains = ut1_dir / "gambling" / "domains"
    first = toxicity._load_hashes(domains)
    files = list((cache / "blocklist-hashes").glob("*.npy"))
    assert len(files) == 1
    toxicity._HASH_CACHE.clear()  # a new process: the array comes from the disk file, memory-mapped
    again = toxicity._load_hashes(domains)
    assert isinstance(again, np.memmap) and again.tolist() == first.tolist() == sorted(set(first.tolist()))
    # a changed list (size/mtime) gets a new cache entry with the new hashes, never the stale array
    domains.write_text("bet-example.com\nnew-casino.example\nCasino-Example.NET\n")
    os.utime(domains, ns=(1, 1))
    toxicity._HASH_CACHE.clear()
    changed = toxicity._load_hashes(domains)
    assert len(changed) == 3 and changed.tolist() != first.tolist()
    assert len(list((cache / "blocklist-hashes").glob("*.npy"))) == 2
    # a damaged cache file is rebuilt, not trusted; an empty CURATE_CACHE_DIR turns the disk cache off
    for f in (cache / "blocklist-hashes").glob("*.npy"):
        f.write_bytes(b"garbage")
    toxicity._HASH_CACHE.clear()
    assert toxicity._load_hashes(domains).tolist() == changed.tolist()
    monkeypatch.setenv("CURATE_CACHE_DIR", "")
    assert toxicity.hash_cache_dir() is None
    toxicity._HASH_CACHE.clear()
    assert toxicity._load_hashes(domains).tolist() == changed.tolist()
