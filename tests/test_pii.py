import json
import pickle
import time

import pytest
from datatrove.data import Document

from curation import registry
from curation.config import check_type
from curation.filter.pii import DEFAULT_TOKENS, PII_TYPES, PiiMasker
from curation.filter.pii_rules import id_check_char, is_valid_card, is_valid_id_number, luhn_ok


def make_id(first17: str) -> str:
    return first17 + id_check_char(first17)


def luhn_complete(prefix: str) -> str:
    """prefix + the one check digit that makes it Luhn-valid."""
    return next(prefix + d for d in "0123456789" if luhn_ok(prefix + d))


def wrong_check(id_number: str) -> str:
    return id_number[:17] + ("1" if id_number[17] == "0" else "0")


VALID_ID = make_id("44030519900307123")  # Shenzhen Nanshan, born 1990-03-07
ID_WITH_X = make_id("11010519491231002")  # the textbook example, check character X
UNIONPAY_16 = luhn_complete("622202123456789")
UNIONPAY_19 = luhn_complete("622848008685006137")
VISA_16 = luhn_complete("411111111111111")

MASKER = PiiMasker()


def mask(text: str, stage: PiiMasker = MASKER) -> str:
    return stage.mask(text)[0]


# ------------------------------------------------------------------------------------------- resident ID numbers


def test_valid_id_numbers_are_masked():
    assert ID_WITH_X.endswith("X") and VALID_ID[-1].isdigit()
    assert mask(f"身份证号{VALID_ID}，") == "身份证号<ID_NUMBER>，"
    assert mask(f"ID: {ID_WITH_X}") == "ID: <ID_NUMBER>"
    assert mask(f"ID: {ID_WITH_X.lower()}") == "ID: <ID_NUMBER>"


@pytest.mark.parametrize(
    "number",
    [
        wrong_check(VALID_ID),  # wrong check digit
        make_id("11010519990231002"),  # 1999-02-31 does not exist (check digit itself right)
        make_id("11010519991301002"),  # month 13
        make_id("11010518991231002"),  # born 1899
        make_id(f"110105{time.gmtime().tm_year + 1}0101002"),  # born next year
        make_id("99010519491231002"),  # no province 99
    ],
)
def test_invalid_id_numbers_are_kept(number):
    assert not is_valid_id_number(number, max_birth_year=time.gmtime().tm_year)
    assert mask(f"号码{number}。") == f"号码{number}。"


# ----------------------------------------------------------------------------------------------- bank cards


@pytest.mark.parametrize(
    "card",
    [
        UNIONPAY_16,
        UNIONPAY_19,
        VISA_16,
        " ".join(UNIONPAY_16[i : i + 4] for i in range(0, 16, 4)),
        "-".join(UNIONPAY_16[i : i + 4] for i in range(0, 16, 4)),
        " ".join(UNIONPAY_19[i : i + 4] for i in range(0, 19, 4)),  # 4-4-4-4-3
    ],
)
def test_valid_cards_are_masked(card):
    assert mask(f"卡号{card}，户名张三") == "卡号<BANK_CARD>，户名张三"


def test_card_with_one_digit_changed_is_kept():
    for card in (UNIONPAY_16, UNIONPAY_19):
        changed = card[:7] + str((int(card[7]) + 1) % 10) + card[8:]
        assert not luhn_ok(changed)
        assert mask(f"卡号{changed}") == f"卡号{changed}"


def test_card_network_prefix_and_length_decide():
    order = luhn_complete("202401151234567")  # 16 digits, Luhn-valid, but no card network starts with 20
    assert not is_valid_card(order, require_iin=True) and is_valid_card(order, require_iin=False)
    assert mask(f"编码 {order}") == f"编码 {order}"
    assert mask(f"编码 {order}", PiiMasker(require_card_iin=False)) == "编码 <BANK_CARD>"
    assert not is_valid_card(luhn_complete("411021199901102"[:12]), require_iin=True)  # 13-digit Visa: retired
    assert not is_valid_card("0" * 16, require_iin=False)  # Luhn-valid, but one repeated digit


def test_card_after_order_word_is_kept():
    assert mask(f"订单号：{UNIONPAY_16}") == f"订单号：{UNIONPAY_16}"


# ------------------------------------------------------------------------------------------------ phones


@pytest.mark.parametrize(
    "phone",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "008613812345678",
        "(+86)13812345678",
        "19912345678",
        "14712345678",
    ],
)
def test_mobiles_are_masked(phone):
    assert mask(f"联系电话{phone}谢谢") == "联系电话<PHONE>谢谢"
    assert mask(f"call {phone}.") == "call <PHONE>."


@pytest.mark.parametrize(
    "number",
    [
        "12812345678",  # 12x is no mobile prefix
        "14012345678",  # 140-144: 13-digit IoT numbers
        "+14155238886",  # a US number
        "tel13812345678",  # glued to letters: identifiers, hashes
    ],
)
def test_non_mobiles_are_kept(number):
    assert mask(f"号码 {number} 。") == f"号码 {number} 。"


# ------------------------------------------------------------------------------------------------ e-mails


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("联系邮箱abc.def@example.com谢谢", "联系邮箱<EMAIL>谢谢"),
        ("邮箱：zhang_san+news@mail.example.com.cn。", "邮箱：<EMAIL>。"),
        ("Mail HRZJQ@163.COM now", "Mail <EMAIL> now"),
        ("发送至13812345678@qq.com即可", "发送至<EMAIL>即可"),  # the e-mail wins over the phone inside it
        ("见https://a.example.com/unsub?email=abc@example.com", "见https://a.example.com/unsub?email=<EMAIL>"),
    ],
)
def test_emails_are_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", ["@Override", "user@localhost", "logo@2x.png", "math.util@1.0.jar", "a@b", "@@"])
def test_email_lookalikes_are_kept(text):
    assert mask(text) == text


# ---------------------------------------------------------------------------------------------------- IPs


def test_public_ips_are_masked_private_ones_only_on_request():
    text = "访问 58.60.12.34 和 2400:cb00:2048:1::c629:d7a2，内网 192.168.1.10、10.0.0.1、127.0.0.1、fe80::1ff:fe23"
    assert mask(text) == "访问 <IP> 和 <IP>，内网 192.168.1.10、10.0.0.1、127.0.0.1、fe80::1ff:fe23"
    assert mask(text, PiiMasker(mask_private_ips=True)) == "访问 <IP> 和 <IP>，内网 <IP>、<IP>、<IP>、<IP>"


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3.4",
        "Version: 58.60.12.34",
        "v58.60.12.34",
        "固件版本 12.34.56.78",
        "12.34.56.78版",
        "pip install opencv-python==4.5.64.70",
        "pkg-58.60.12.34",
        "见 2.3.1.3 小节",  # three octets < 10: section number
        "价格从1.8.8.8降到1.6.9.9",
        "256.1.2.3",
        "58.060.12.34",  # leading zero
        "1.2.3.4.5",
        "std::vector<int> a; time 12:30:45; mac 00:1A:2B:3C:4D:5E",
    ],
)
def test_ip_lookalikes_are_kept(text):
    assert mask(text) == text


# ------------------------------------------------------------------------------------------------- decoys


@pytest.mark.parametrize(
    "text",
    [
        "日期 2024-01-15、20240115、2024年1月15日、2024/01/15",
        "售价¥1380.00，原价13800元，估值13800000000元",
        "1949年、2024年，公元前221年",
        "订单号 2024011512345678",
        "订单号：202401151234567890",
        "订单号：19513967161",  # mobile-shaped order number
        "运单号 73100123456789",
        "商品链接 https://example.com/item/13812345678.html",
        "www.example.com/?uid=13812345678&card=" + UNIONPAY_16,
        "见 example.com/u/13812345678 主页",
        "流水 12138123456781234567 已入账",  # an 11-digit phone inside a 20-digit number
        "1381234567890",  # 13 digits starting like a phone
        "时间戳 1700000000 / 1700000000000",
        "ISBN 978-7-111-54742-6，ISBN 9787111547426，ISBN 7-111-54742-X",
        "圆周率 3.14159265358979323846",
        "0.13812345678",
        "sha1 3a13812345678b9c0d1e2f3a4b5c6d7e8f9a0b1c",
    ],
)
def test_decoys_are_not_masked(text):
    assert mask(text) == text


# ---------------------------------------------------------------------------------------- stage behaviour

MIXED = (
    f"张三，电话+86 138-1234-5678，邮箱zhang.san@example.com，身份证{VALID_ID}，"
    f"卡号{' '.join(UNIONPAY_16[i : i + 4] for i in range(0, 16, 4))}，登录IP 58.60.12.34；"
    "版本 1.2.3.4，订单号 2024011512345678，详见 https://example.com/item/13912345678.html"
)


def test_mixed_text_and_idempotence():
    masked, counts = MASKER.mask(MIXED)
    assert masked == (
        "张三，电话<PHONE>，邮箱<EMAIL>，身份证<ID_NUMBER>，卡号<BANK_CARD>，登录IP <IP>；"
        "版本 1.2.3.4，订单号 2024011512345678，详见 https://example.com/item/13912345678.html"
    )
    assert counts == {"phone": 1, "email": 1, "id_number": 1, "bank_card": 1, "ip": 1}
    assert MASKER.mask(masked) == (masked, {})


def test_tokens_and_types_are_configurable():
    stage = PiiMasker(types=["phone", "email"], tokens={"phone": "[手机]", "email": ""})
    assert mask(MIXED, stage).startswith(f"张三，电话[手机]，邮箱，身份证{VALID_ID}，卡号6222 ")
    assert PiiMasker(types=[]).mask(MIXED) == (MIXED, {})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"types": ["phone", "passport"]},
        {"tokens": {"mobile": "<M>"}},
        {"tokens": {"ip": "<IP4>"}},
        {"tokens": {"email": "@"}},
    ],
)
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        PiiMasker(**kwargs)


def test_run_keeps_every_doc_and_records_counts():
    stage = PiiMasker()
    docs = [
        Document(text=MIXED + " 备用手机13912345678", id="a"),
        Document(text="没有个人信息的段落，2024年。", id="b"),
    ]
    out = list(stage.run(docs))
    assert [d.id for d in out] == ["a", "b"]
    assert {k: v for k, v in out[0].metadata.items() if k.startswith("pii.")} == {
        "pii.email": 1,
        "pii.ip": 1,
        "pii.phone": 2,
        "pii.id_number": 1,
        "pii.bank_card": 1,
    }
    assert out[1].metadata == {} and out[1].text == "没有个人信息的段落，2024年。"
    json.dumps(out[0].metadata)
    stats = {k: int(v.total) for k, v in stage.stats.stats.items()}
    assert stats["docs_with_pii"] == 1 and stats["kept"] == 2 and stats.get("removed", 0) == 0
    assert stats["masked.phone"] == 2 and stats["masked.email"] == 1 and stats["masked.bank_card"] == 1


def test_pickle_round_trip():
    stage = PiiMasker(types=["phone"], tokens={"phone": "<TEL>"}, mask_private_ips=True)
    clone = pickle.loads(pickle.dumps(stage))
    assert clone.mask("手机13812345678") == stage.mask("手机13812345678") == ("手机<TEL>", {"phone": 1})
    doc = Document(text="邮箱a@example.com", id="x")
    assert pickle.loads(pickle.dumps(MASKER)).filter(doc) is True and doc.text == "邮箱<EMAIL>"


def test_registered_with_documented_schema():
    assert registry.get_stage("pii") is PiiMasker
    params = {p.name: p for p in registry.stage_params(PiiMasker)}
    assert set(params) == {"types", "tokens", "mask_private_ips", "require_card_iin"}
    assert all(p.doc for p in params.values())
    assert check_type(["phone", "email"], params["types"].annotation)
    assert not check_type(["mobile"], params["types"].annotation)
    assert check_type({"phone": "<TEL>"}, params["tokens"].annotation)
    assert set(DEFAULT_TOKENS) == set(PII_TYPES)


def test_wiki_prose_has_no_false_positives(shared_data):
    path = shared_data / "prose_zh_wiki" / "passages.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    assert len(texts) > 1000
    # 1,104 encyclopedia passages full of dates, years, prices, populations and versions: nothing is personal
    assert [MASKER.find(t) for t in texts if MASKER.find(t)] == []
