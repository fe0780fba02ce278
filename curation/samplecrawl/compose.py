"""Small helpers that turn the sentence banks into text: a template filler, invented names and invented PII.

Template mini-language (used by every bank in this folder):

- ``{city}``: a value from the per-document context dict (the same city/org/person throughout one document);
- ``{n:10-90}``: a fresh integer in [10, 90] each time it appears;
- ``{f:1.5-9.9}``: a fresh number with one decimal in that range;
- ``{r:100-900}``: a fresh *round* number (one significant digit: 100, 200 ... 900), for "300多家" / "2000余人";
- ``[a|b|c]``: one of the alternatives, picked per occurrence (no nesting).

Everything draws from a ``random.Random`` that the caller seeds, so one seed gives one text.
"""

from __future__ import annotations

import random
import re

_SLOT = re.compile(r"\{(\w+)(?::([\d.]+)-([\d.]+))?\}|\[([^\[\]]+)\]")


def fill(template: str, ctx: dict[str, str], rng: random.Random) -> str:
    """Fill one template (see module docstring) from ``ctx`` and ``rng``."""

    def sub(m: re.Match) -> str:
        name, lo, hi, alts = m.groups()
        if alts is not None:
            return rng.choice(alts.split("|"))
        if lo is not None:
            if name == "f":
                return f"{rng.uniform(float(lo), float(hi)):.1f}"
            if name == "r":
                v = rng.randint(int(lo), int(hi))
                step = 10 ** (len(str(v)) - 1)
                return str(max(int(lo), v // step * step))
            return str(rng.randint(int(lo), int(hi)))
        return ctx[name]

    return _SLOT.sub(sub, template)


SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "华",
    "慧",
    "平",
    "刚",
    "桂英",
    "建国",
    "志强",
    "海燕",
    "晓东",
    "雪梅",
    "文博",
    "子涵",
    "浩然",
    "思远",
    "雨桐",
    "一鸣",
    "嘉怡",
    "俊杰",
    "欣然",
    "宇航",
    "佳琪",
    "子轩",
    "梦瑶",
    "晨曦",
    "立新",
    "春生",
    "秋实",
    "若曦",
    "泽宇",
    "书瑶",
    "明轩",
    "晓燕",
    "振华",
    "国庆",
    "红梅",
    "玉兰",
    "德胜",
    "永辉",
]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


CITIES = [
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "成都",
    "重庆",
    "武汉",
    "西安",
    "南京",
    "苏州",
    "天津",
    "长沙",
    "郑州",
    "青岛",
    "厦门",
    "昆明",
    "合肥",
    "济南",
    "沈阳",
    "哈尔滨",
    "大连",
    "福州",
    "南宁",
    "贵阳",
    "兰州",
    "太原",
    "南昌",
    "宁波",
    "无锡",
    "佛山",
    "东莞",
    "珠海",
    "温州",
    "洛阳",
    "桂林",
    "三亚",
    "银川",
    "西宁",
    "海口",
    "长春",
    "石家庄",
    "扬州",
    "绍兴",
    "泉州",
    "襄阳",
]


# prefixes assigned in the MIIT numbering plan (154, 160/161/163/164, 179, 194 are not: see curation/filter/pii.py)
MOBILE_PREFIXES = ["130", "133", "135", "137", "138", "139", "147", "150", "152", "156", "158", "166", "176",
                   "177", "180", "182", "186", "187", "189", "191", "198", "199"]


def mobile(rng: random.Random) -> str:
    """An invented mainland mobile number with an assigned prefix (11 digits)."""
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of an 18-character resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def resident_id(rng: random.Random) -> str:
    """An invented 18-digit resident ID: a real-format region code, a plausible birth date, a valid check digit."""
    region = rng.choice(["110101", "310104", "440106", "330106", "510107", "420102", "610113", "320102"])
    birth = f"{rng.randint(1960, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = region + birth + f"{rng.randint(0, 999):03d}"
    return first17 + id_check_digit(first17)


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def bank_card(rng: random.Random, length: int = 19) -> str:
    """An invented UnionPay-style card number (starts with 62) with a valid Luhn check digit."""
    body = "62" + "".join(rng.choice("0123456789") for _ in range(length - 3))
    for last in "0123456789":
        if luhn_ok(body + last):
            return body + last
    raise AssertionError("unreachable: one of ten check digits always satisfies Luhn")


def luhn_invalid_digits(rng: random.Random, length: int) -> str:
    """Digits that look like an order number and fail Luhn, so a careful PII masker must leave them alone."""
    while True:
        s = "2024" + "".join(rng.choice("0123456789") for _ in range(length - 4))
        if not luhn_ok(s):
            return s


def email(rng: random.Random, name_hint: str = "") -> str:
    users = ["zhangwei", "xiaoli", "chenming88", "liu.fang", "wangjing_2023", "sunny.zhao", "hu_tao", "linlin0712"]
    domains = ["mail.example.com", "example.cn", "post.example.net", "inbox.example.org"]
    user = name_hint or rng.choice(users)
    return f"{user}{rng.randint(1, 99)}@{rng.choice(domains)}"


FULLWIDTH_OFFSET = 0xFEE0  # U+FF01..U+FF5E are U+0021..U+007E shifted by this much


def to_fullwidth(ascii_text: str) -> str:
    """ASCII letters/digits -> full-width forms; space -> ideographic space (U+3000)."""
    out = []
    for c in ascii_text:
        if c == " ":
            out.append("\u3000")
        elif "!" <= c <= "~":
            out.append(chr(ord(c) + FULLWIDTH_OFFSET))
        else:
            out.append(c)
    return "".join(out)


def shingles(text: str, k: int = 5) -> set[str]:
    """Character k-grams with whitespace removed: the unit the near-dup checks in tests use."""
    t = re.sub(r"\s+", "", text)
    return {t[i : i + k] for i in range(max(1, len(t) - k + 1))}


def jaccard(a: str, b: str, k: int = 5) -> float:
    sa, sb = shingles(a, k), shingles(b, k)
    return len(sa & sb) / max(1, len(sa | sb))
