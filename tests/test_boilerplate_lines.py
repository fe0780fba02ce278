import json
import pickle
from pathlib import Path

import pytest
from datatrove.data import Document

from curation import registry
from curation.filter.boilerplate_lines import DATA_FILE, FORMAT_LINE, CleanLines, load_classes

REPO = Path(__file__).resolve().parents[1]
BODY = (
    "白鹭湖湿地公园从本月起实行分时预约，游客可以提前三天在网上选择入园时段。\n"
    "管理处负责人介绍，预约制度实施以来，高峰时段的人流明显下降，观鸟区也安静了许多。"
)

# class -> boilerplate lines of that class (each is removed from a document around BODY)
EXAMPLES = {
    "read_more": [
        "展开全文",
        "阅读更多",
        "点击查看更多精彩内容",
        "▼点击展开剩余内容",
        "点击查看大图",
        "Read more »",
        "Continue reading",
        "返回搜狐，查看更多",
    ],
    "share": [
        "分享到：微信 微博 QQ空间",
        "点赞 12 收藏 5 评论 3",
        "Share on Facebook",
        "Tweet | Share | Comments (4)",
    ],
    "login": ["登录 | 注册 | 忘记密码", "请登录后评论", "Sign in", "Log in / Sign up"],
    "follow": ["扫一扫，关注我们", "更多精彩内容，请关注本网微信公众号", "长按识别二维码关注", "Follow us"],
    "prev_next": [
        "上一篇：西湖游记",
        "下一篇：冬季如何养生",
        "返回顶部",
        "Next post: Ten tips for spring",
        "Skip to content",
    ],
    "copyright": [
        "Copyright © 2023 example.com 版权所有",
        "All rights reserved.",
        "本站所有文章版权归原作者所有，转载请注明出处",
    ],
    "icp": ["京ICP备12345678号-1", "粤ICP备2020123456号 粤公网安备44010602000000号", "ICP证：沪B2-20200001"],
    "editor": ["【责任编辑：唐超】", "责任编辑：范俊杰", "编辑：孟磊 校对：叶丽", "（完）", "【纠错】", "责任编辑：",
               "（编辑：小何）返回搜狐，查看更多"],
    "reprint": [
        "原标题：“五一”假期广州接待游客519万人次",
        "来源：华北日报网",
        "声明：本文转载自华北日报网，版权归原作者所有，如有侵权请联系删除。",
        "特别声明：以上内容(如有图片或视频亦包括在内)为自媒体平台“网易号”用户上传并发布，本平台仅提供信息存储服务。",
    ],
    "breadcrumb": [
        "首页 > 新闻 > 科技",
        "当前位置：首页 > 体育 > 足球",
        "首页 » 生活 » 美食",
        "Home / Blog / My first post",
        "首页-新闻中心-公司动态",
    ],
    "cookie": [
        "We use cookies to improve your experience. By continuing you agree to our cookie policy.",
        "Accept all cookies",
    ],
}

# long or ordinary sentences that contain boilerplate words: never removed
KEEP = [
    "我昨天登录了学校的网站，发现注册系统出了问题，于是给老师发了邮件。",
    "注册会计师考试每年举行一次",
    "他把这篇文章分享到了朋友圈，很多同学都点赞并收藏了。",
    "这首歌的版权归唱片公司所有，因此不能随意翻唱。",
    "我们从首页进入新闻频道，然后找到了科技栏目里的那篇报道。",
    "关注民生是政府工作的重要内容之一，今年的报告也专门提到了养老问题。",
    "He said the copyright and trademark laws differ between the two countries.",
    "More on how to use cookies in Spring Boot: see the reference guide.",
    "(c) all students must register before Friday.",
    "Read the instructions carefully before you sign the contract.",
    # a footer glued to the end of real text does not take the text with it
    "房间设施陈旧，气味太重，床单上有黄色斑点，不推荐。免费注册网站导航宾馆索引服务说明关于携程联系我们Copyright © 1999-2008 ctrip.com. all rights reserved.",
    "你现在的位置在哪",
    "返回家乡以后，我查看更多的资料才明白。",
    "特别声明：本人对文中数据的真实性负责。",
    "编辑：这一期我们讨论城市的夜间经济。",
]


def clean(text: str, **kw) -> tuple[bool | tuple, Document, CleanLines]:
    st = CleanLines(**kw)
    doc = Document(text=text, id="t")
    return st.filter(doc), doc, st


def test_every_class_has_examples():
    assert set(EXAMPLES) == set(load_classes())


@pytest.mark.parametrize("cls,line", [(c, ln) for c, lines in EXAMPLES.items() for ln in lines])
def test_removes_each_class(cls, line):
    r, doc, st = clean(f"{line}\n{BODY}\n{line}")
    assert r is True
    assert doc.text == BODY
    assert st.stats[f"lines_removed.{cls}"].total == 2
    assert st.stats["chars_removed_lines"].total == 2 * (len(line) + 1)
    assert doc.metadata["clean_lines.lines_removed"] == 2


@pytest.mark.parametrize("line", KEEP)
def test_keeps_sentences_containing_boilerplate_words(line):
    text = f"{BODY}\n{line}"
    r, doc, _ = clean(text)
    assert r is True and doc.text == text
    assert doc.metadata["clean_lines.lines_removed"] == 0


def test_empty_after_cleanup():
    assert clean("展开全文\n分享到：微信 微博\n\n返回顶部")[0] == (False, "empty_after_line_cleanup")
    assert clean("")[0] == (False, "empty_after_line_cleanup")


def test_blank_lines_do_not_pile_up():
    _, doc, _ = clean("第一段内容。\n\n展开全文\n\n第二段内容。")
    assert doc.text == "第一段内容。\n\n第二段内容。"


def test_markdown_headings_and_code_untouched():
    text = f"## 登录\n{BODY}\n```\n登录\nShare on Facebook\n```\n# Copyright 2023"
    assert clean(text)[1].text == text


def test_long_lines_are_not_token_lines():
    line = "登录 注册 " * 20  # all tokens, but longer than max_line_chars
    assert clean(f"{BODY}\n{line}")[1].text == f"{BODY}\n{line}"
    assert clean(f"{BODY}\n{line}", max_line_chars=500)[1].text == BODY


def test_class_selection_and_validation():
    doc = clean(f"展开全文\n{BODY}\n京ICP备12345678号", classes=["icp"])[1]
    assert doc.text == f"展开全文\n{BODY}"
    with pytest.raises(ValueError, match="unknown boilerplate class.*valid: read_more"):
        CleanLines(classes=["readmore"])
    with pytest.raises(ValueError, match="min_token_coverage"):
        CleanLines(min_token_coverage=0)


def test_data_file_is_versioned():
    assert DATA_FILE.read_text(encoding="utf-8").startswith(FORMAT_LINE)


def test_registered_and_picklable():
    assert registry.get_stage("clean_lines") is CleanLines
    assert all(p.doc for p in registry.stage_params(CleanLines))
    st = pickle.loads(pickle.dumps(CleanLines(classes=["editor"])))
    out = list(st.run([Document(text=f"{BODY}\n（完）", id="1"), Document(text="（完）", id="2")]))
    assert [d.id for d in out] == ["1"] and out[0].text == BODY
    assert st.stats["removed.empty_after_line_cleanup"].total == 1


def test_sample_crawl_boilerplate_lines_are_recognised():
    manifest = REPO / "pipelines" / "sample_crawl" / "MANIFEST.json"
    if not manifest.is_file():
        pytest.skip("sample crawl not generated")
    matcher = CleanLines().matcher
    lines = {
        ln
        for page in json.loads(manifest.read_text(encoding="utf-8"))["pages"].values()
        for ln in page.get("boilerplate_lines") or []
    }
    assert lines
    missed = sorted(ln for ln in lines if matcher.classify(ln.strip()) is None)
    assert not missed
