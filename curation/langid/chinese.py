"""Decisions on top of lid.176 for Chinese: script consistency and the Chinese varieties (Mandarin, Cantonese, Wu).

In: a text and lid.176's top-k labels with probabilities. Out: ``(lang, score, rule)`` where ``rule`` names what
changed lid.176's top label (``""`` when nothing did). Regexes and character counts, no model: ~0.5-0.7 ms per
2,000-character page, about a third of lid.176's own time (bench/LANGID.md).

1. Script consistency. lid.176 labels 6% of the lines of real Chinese news pages ``ja`` (105 of 1,707 lines of
   html_zh_news, none with kana), and some ``ko``, ``it``, ``sv``, ``ceb``. Counting scripts settles those cases:
   - ``ja`` needs kana and ``ko`` needs Hangul (one letter is enough: a Japanese headline can be all kanji but one
     particle, and lid.176 is right on those);
   - ``zh``/``yue``/``wuu`` are wrong when kana make >= 20% of kana + Han or Hangul outnumbers Han (the ``Jpan`` and
     ``Kore`` measures of ``normalize/script.py``);
   - a Han-dominant text (Han >= ``HAN_DOMINANT_RATIO`` of its letters) is never a non-CJK language.
   When the top label breaks a rule, the first consistent label of lid.176's top-10 wins, else ``ja`` / ``ko`` /
   ``zh`` by script; its score becomes its own probability plus that of the rejected labels ranked above it (lid.176's
   mass on "ja" for a kana-less Han text is mass on a Han-script language it could not tell apart), capped at 1.
   The quantized lid.176 gives no label at all for some short lines (係, 仲要交水電費): Han-dominant ones get ``zh``
   with score 0 (so ``min_score`` still removes them). ``rule`` is ``script``.
2. Varieties. lid.176 knows ``yue`` and ``wuu``, but labels only 20.5% of the written Cantonese of ../shared/data/yue
   ``yue``, and labels Mandarin ``wuu`` or ``yue`` (39 and 14 of 5,000 Mandarin reviews). Written Cantonese
   and Wu differ from Mandarin in grammatical words that Standard Written Chinese does not use; this is the approach
   of CanCLID's cantonesedetect (Lau, Lau and To 2024, "The Extraction and Fine-grained Classification of Written
   Cantonese Materials through Linguistic Feature Detection", EURALI @ LREC-COLING): count Cantonese markers (嘅 咗
   喺 冇 佢 哋 嘢 啲 嗰 唔+verb 係 ...), Mandarin markers (的 是 了 在 他 这 那 没 ...) minus exception phrases that
   use them the other way round (關係, 喇叭, 的士, 是日), and decide on counts. The lists below follow
   cantonesedetect 1.1's (MIT) with the simplified spellings added (Cantonese is also written in simplified
   characters: 谂, 揾, 钟意) and a few common words it lacks (sentence-final 喇 囉 咋, 呢+classifier, 下先);
   返 counts only in Cantonese uses (返去, 攞返), because Mandarin spam is full of 返利 and 返水. Grammatical
   contexts from the grammar literature (Matthews and Yip, "Cantonese: A Comprehensive Grammar"), each with the
   Mandarin words it must not match: verb + 緊 (progressive: 做緊, not 抓紧/紧急), 仲 + the word it modifies (仲有,
   仲未; not 仲裁/伯仲), 幾/好/咁 + 耐 (not 耐用), 同埋 and verb + 埋, 未 ending a question (食咗未？) and
   未 + verb + 過 (not 从未见过), 識 + verb (not 认识/知识 + verb), clause-initial 跟住 (then), 少少, sentence-final
   先, verb + 晒, 我估, 好衰, 聽日, 十蚊 (docs/langid.md has the table). Each was checked on ~310,000 Mandarin texts
   of ../shared/data (simplified, and converted to Taiwan and Hong Kong characters with OpenCC): together they add
   1.5 points of the Cantonese set (0.790 -> 0.805) and label 4 more of those texts ``yue``, all written with
   Cantonese grammar (一句讲晒, 先抵制蒙牛先). A second set (然之後, 跟住呢, 向北行, 左手面, 去邊, 入去, 停低, 朝早,
   等陣, V + 返, 返來, 先得, 近排, 得閒, 細佬, ... and HKCanCor's astral particles 𠸏 𠻺 𡁵), found in the misses
   of HKCanCor, CantoMap and one half of Common Voice, adds 1.4 points (0.805 -> 0.819; on the other half of Common
   Voice, held out, 0.846 -> 0.852) and no ``yue`` on 1,575,965 Mandarin texts (the full reviews, toxic, fewclue
   sets, corpus_zh lines, wiki, news lines, each also in Taiwan and HK characters; bench/langid_yue_ceiling.py
   --mandarin). Each context covers a handful of utterances: what is left is a long tail, and about 14% of the set
   carries no evidence at all (bench/LANGID.md, "Ceiling"). 嘞 is not a marker: it is also the northern Mandarin particle lei
   (好嘞, 来嘞, 谢谢嘞; 4 Mandarin texts of those sets were ``yue`` for it alone). Wu markers (侬 阿拉 伊拉 覅 朆 搿
   辣海 白相 ..., the Shanghainese function words of the grammar literature) exclude the Mandarin words that contain
   them (伊拉克, 阿拉伯, 列侬, 吴侬软语, 小白相约); not 今朝 and 辰光, literary Mandarin (今朝有酒今朝醉) and company
   names in Mandarin headlines (14 Mandarin texts of those sets were ``wuu``, now none).
   The package itself is not a dependency: it expects traditional characters only and answers a different question
   (6 labels for building Cantonese corpora). Neither is a character model: one trained on Cantonese speech labels
   the interjections of any short text ``yue`` (bench/LANGID.md, "A character model?").
   Rules (``rule`` is ``markers``), for a text labelled zh, yue or wuu after step 1:
   - ``yue`` when the Cantonese markers reach the minimum (1 for a text of at most ``SHORT_TEXT_HAN`` Han
     characters, else ``MIN_MARKERS`` and more than ``MIN_MARKERS_PER_HAN`` per Han character) and are at least
     ``MARKER_MAJORITY`` times the Mandarin markers: a Mandarin text quoting one Cantonese word (冇问题) has one
     marker and many Mandarin ones, and stays ``zh``;
   - ``wuu`` likewise with Wu markers (more Wu than Cantonese markers);
   - otherwise ``zh``: a variety label needs its own markers; lid.176's yue/wuu without any is mostly Mandarin
     (reviews above). Cost: marker-less Cantonese such as 兩婆孫 or 再上去 becomes ``zh``.
   Code-mixed Hong Kong text (即係啲 model answer 係錯嘅) is labelled by lid.176 after its Latin letters; when Han is at
   least ``MIXED_HAN_RATIO`` of the letters and there are >= ``MIN_MARKERS`` Cantonese (or Wu) markers with the
   majority above, it is ``yue`` (``wuu``).
Numbers: bench/LANGID.md (per language, raw lid.176 beside these rules, same texts). docs/langid.md: the recipe.
"""

from __future__ import annotations

import re

# lid.176 labels of the Han-script languages (lid.176 has no lzh / classical label)
CJK_LABELS = frozenset({"zh", "yue", "wuu", "ja", "ko"})
CHINESE_LABELS = frozenset({"zh", "yue", "wuu"})
# Han >= 0.5 of the letters: more Han than everything else; a Chinese sentence with an English product name
# (iPhone 15 Pro) stays Han-dominant, an English text quoting a Chinese name does not.
HAN_DOMINANT_RATIO = 0.5
# kana >= 0.2 of kana + Han is Japanese (normalize/script.py JPAN_MIN_KANA_RATIO): never zh/yue/wuu
JAPANESE_KANA_RATIO = 0.20
MIN_MARKERS = 2
# and more than 1 marker per 100 Han characters (cantonesedetect's canto_tolerance): real written Cantonese has
# several (嘅 alone is ~2 per 100 characters); a 300-character Mandarin menu with 揸 and 嗱 in dish names does not
MIN_MARKERS_PER_HAN = 0.01
SHORT_TEXT_HAN = 30
MARKER_MAJORITY = 2.0
# code-mixed text (English words in Cantonese) where Han is at least a quarter of the letters: markers may override
# a Latin-script label (module docstring)
MIXED_HAN_RATIO = 0.25

# Han: BMP and astral ranges in two patterns (one class with both is 3x slower in sre)
_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN_ASTRAL_RUN = re.compile("[\U00020000-\U0003134f]+")
_KANA_RUN = re.compile("[\u3041-\u3096\u30a1-\u30fa]+")
_HANGUL_RUN = re.compile("[\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3]+")
_NON_LETTER_RUN = re.compile(r"[\W\d_]+")


def _gated(*alternatives: str) -> str:
    """``(?=[first characters])(?:a|b|...)``: the lookahead lets the regex engine skip most positions at C speed
    (5x faster than the bare alternation on Chinese pages). Each alternative starts with a character or a class,
    optionally after one lookbehind on a class (``(?<=[...])``, ``(?<![...])``): a context such as verb + 緊 is
    written as ``(?<=[verbs])緊`` so that the gate is the rare 緊, not the common verbs (on news pages gating on the
    verbs, 好, 同 and the digits made the whole count 35% slower)."""
    firsts = ""
    for alt in alternatives:
        if alt.startswith(("(?<!", "(?<=")):
            alt = alt[alt.index("])") + 2 :]  # the lookbehind consumes no character
        firsts += alt[1 : alt.index("]")] if alt.startswith("[") else alt[0]
    return f"(?=[{firsts}])(?:{'|'.join(alternatives)})"


# --- Cantonese (after cantonesedetect 1.1 CANTO_FEATURE_RE, + simplified spellings) -------------------------------
_CANTO = re.compile(
    "[嘅嗰啲咗佢喺咁噉冇哋畀嚟諗谂惗乜嘢瞓睇餸摷嚿嘥嗮啱揾搵喐噏攰冚孻冧嬲掟揼揸孭黐唞踎脷攞咩靚"
    "閪撚嚡揦逳岋糴揈捹癐嚫跣瀡氹㪗埞忟嗌孖劏嚤躝掹曱甴"
    "㗎喎噃啩啫唧嗱吖囉囖嚹喇係咪俾撳㩒掂吔㓤屙]"
    "|(?<!唔)唔(?=[\u4e00-\u9fff])(?!唔)|"  # 唔 + a word is the negation; 唔 alone or 唔唔 is a Mandarin interjection
    + _gated(
        # not 返 alone: Mandarin 返利 返水 返现 返工 (spam pages of the sample crawl); not V + 返回 (协变返回类型, 编写返回值:
        # 4 of the 827,914 corpus_zh lines were yue for it)
        "返[學学去翻番到嚟]", "[好得行攞拎讀读變变砌寫写執执搵揾賺赚做]返(?![回利还還現现程航乡鄉聘])", "(?<![往重遣])返[來来](?!回)",
        "點[樣样會会做解知]", "点样", "点解(?![释釋决決答析])", r"(?<![^，。！？,.!?\s你我佢又咁仲都])点会", "[琴尋寻噚]日", "[而依]家", "食[飯饭嘢屎]",
        "呢[度個个啲條条隻只次排位種种間间樣样本件張张首部樖]", "晏[晝昼]", "邊[度個个位科間间啲隻只條条次樣張堂]", "边[度個个位]",
        "傾偈", "倾偈", "傾計", "倾计", "屋企", "收皮", "慳錢", "悭钱", "隔籬", "隔篱", "幫襯", "帮衬", "求其", "家陣",
        "家阵", "仆街", "屈機", "[濕溼]碎", "麻麻地", "(?<![向])零舍(?!入)", "核突", "鍾意", "钟意", "落去", "[你我佢]話", "陣間",
        "阵间", "(?<![以])[下吓]先(?![决決])", "咋(?:$|[。！？!?])",
        # 仲 = still / even more (Mandarin 还), before the words it modifies; Mandarin 仲 is 仲裁 仲夏 伯仲 and names
        "仲[有係系話话要得好衰唔未可會会想識识使記记多少大細细差慘惨以喺嚟都上去做食講讲睇玩鬧闹]",
        # 幾 + adjective = quite (幾好 幾耐 幾正); Mandarin 几 counts (几个 几天 几平米), 几多 is poetic
        "幾[多好耐正靚犀鬼難貴遠]", "几[多好耐正靓犀鬼难贵远]",
        # 耐 = a long time after degree words (好耐 咁耐 冇耐); not 好耐用 / 耐心 / 耐人寻味
        "(?<=[好咁幾几冇唔咗])耐(?![用心看穿磨烦煩久性人受力寒热熱])",
        # verb + 緊: the progressive aspect (做緊 等緊 講緊); Mandarin 紧 follows 抓 赶 拉 握 ... and precedes 张 急 ...
        "(?<=[做講讲食睇諗谂搞行等玩寫写煮傾倾用攞聽听飲饮讀读學学揾搵搬瞓喊笑唱開开落嚟住忙返去診诊推廣广追打])"
        "[緊紧](?![張张急密迫縮缩身湊凑貼贴接跟要俏繃绷握隨随鄰邻緊紧固扣靠])",
        # verb + 埋 = also / completely (同埋 = and; 兜埋 食埋); not Mandarin 沟埋 掩埋 埋葬
        "(?<=[同帶带做整炒煮兜收食連连框陪])埋",
        # 未 = not yet: sentence-final question (食咗飯未？) and 未 + verb + 過 (never yet); Mandarin writes 还没,
        # 从未见过, 尚未
        "(?<![尚並并從从亦均還还])未(?:[？?啊呀吖呢]|$)", "(?<![從从尚並并亦均前])未[見见試试去食做聽听講讲睇玩諗谂]過",
        "(?<=[都仲重])未[放食做去返睇聽听講讲]",
        # 識 + verb = know how to (識講 識做); not Mandarin 认识 知识 通识 学识 + a verb
        "(?<![認认知意通常見见學学共賞赏標标辨膽胆卓])[識识][講讲做玩揸寫写睇飲饮煮]",
        # clause-initial 跟住 = then (跟住轉右); Mandarin 跟住 (follow) takes an object: 跟住我 跟住院
        r"(?<![^，。！？,.!?\s#])跟住(?![我你他她它院宿戶户])",
        # V + 親 (嚇親 = got scared), money in 蚊 (十蚊), 聽日 (tomorrow), 老豆 (dad)
        "(?<=[嚇吓凍冻攝摄整揩逢淥浸激])[親亲嚫]", "(?<=[0-9一二三四五六七八九十百千萬万兩两幾几廿半])蚊(?![子香帳帐虫蟲])",
        "[聽听]日(?![系式本語语文劇剧韓韩])", "老[豆竇](?!腐)",
        # 少少 = a little (差少少; not 多多少少), sentence-final 先 (= first: 等等先; not 你先 / 首先 / 好评先), verb +
        # 晒 = all (凍晒, A晒; not 晒太阳 / 晒衣服), 我估 = I guess (not 估计 / 估价), 哩個 / 哩度 (HKCanCor's 呢個; not 咖哩个),
        # 得人驚 (scary), a clause of 點 + particle (點啊 = how?)
        "(?<![多])少少", "(?<![你我他她首優优率領领爭争事原預预評评祖])先[啞啊呀喇]?(?:$|[。！？!?])",
        "(?<=[做食搞用講讲睇賣卖走死凍冻A買买話话煩烦])[晒曬](?![太衣被])", "(?<=[做食搞用講讲睇賣卖走死凍冻買买過过錯错行])哂", "(?<![自評评預预])[我你佢]估(?![計计價价算])",
        "(?<![咖])哩[個个度啲]", "得人[驚惊]", r"(?<![^，。！？,.!?\s])點[啊呀]",
        # 衰 = bad / unlucky after degree words (好衰 幾衰); Mandarin 衰 is 衰老 衰退 衰弱 ...
        "(?<=[好咁幾几真咪])衰(?![老退弱竭敗败亡減减落])",
        # discourse and directions of spoken Cantonese (Matthews and Yip ch. 8, 11; the CantoMap map task): 然之後
        # (and then; not 虽然之后), clause-initial 跟住呢 / 跟住就, 向北行 (walk north; Mandarin 向北走, 向北行驶; not
        # 单向西行的街道), 左手面 / 右手面, 打直, 直落 (straight down; not 一直落后, 直落三局), 兜過 / 兜上 (go round;
        # not 裤兜上方, 兜来兜去), 去邊 (go where; not 去边境 / 去边上), 入邊 (inside; not 进入边境), 入去 (go in; not
        # 加入 / 输入 + 去), 落車 / 落樓 (get off, go downstairs), V + 低 (停低 = stop; not 坐低 = sit lower)
        "(?<![雖虽既當当])然之[後后]", "跟住[呢就]", "(?<![單单])向[東南西北左右上下东][邊边面方]?行(?![駛驶进進動动人政业業使李走列])",
        "[左右]手面", "打直", "直落(?![後后三二四五六七八九十一两兩局千])", "(?<![裤褲衣口网網肚來来])兜[過过去上落](?![方來来])",
        "去[邊边](?:[啊呀吖度處处先呢]|$)", "入[邊边](?![境界疆区區缘緣框])", "(?<![加進进輸输導导投收列融深五出])入去",
        "落[車车樓楼]", "(?<=[停拍寫写擺摆記记])低",
        # words of the Cantonese lexicon that Mandarin says otherwise (0 of ~1,000,000 Mandarin texts and their
        # Taiwan / HK conversions): 好鬼 + adjective (very; not 好鬼子), 好驚 (scared; not 好惊讶), 食藥 (not 食药监),
        # 朝早 (morning), 細路 (kid), 鎖匙 (key), 舊年 (last year), 第日 (some day), 等陣 / 等一陣 (wait a moment; not
        # 等陣列), 好凍 (cold), 幾錢 (how much), 聽朝 (tomorrow morning), 上晝 / 下晝, 頭先 (just now; not 骨头先生),
        # 好彩 (luckily; not 好彩头), 先至 (only then; not 后发先至), 戥 (on behalf of; not 戥子, a scale)
        "好鬼(?![子魂混怪神畜故屋片話话])", "好[驚惊](?![訝讶喜人險险艷艳豔奇恐慌])", "食[藥药](?![監监局品環环署])",
        "朝早", "[細细]路", "[鎖锁]匙", "舊年", "第[日時时](?![一二三四五六七八九十0-9])", "[等遲迟]一[陣阵]",
        "等[陣阵](?!列)", "好[凍冻]", "[幾几][錢钱]", "[聽听]朝", "[上下][晝昼]",
        "(?<![开開骨老起带帶领領])[頭头]先(?![生锋鋒白進进行])", "好彩(?![头頭客為为])", "(?<![后後發发])先至", "戥(?!子)",
        # 慳 (save; not 慳吝), 好掛住 (miss someone), 特登 (on purpose), 執 + 垃圾 / 頭尾 / 屋 (tidy, pick up), 近排
        # (lately; not 最近排名, 附近排队), 得閒 (free; not 觉得闲, 不得闲, 得闲谈谈), 收聲 (shut up; not 接收声波),
        # 豉油 (soy sauce), 差佬 (police), sentence-final 先得 (only then; not 先到先得), 返來 (come back; not 往返来回)
        "慳(?!吝)", "(?<=[好我都唔])[掛挂]住", "特登", "[執执](?:垃圾|頭|尾|嘢|屋)", "(?<![最附接靠])近排(?![名序队隊行列])",
        "(?<![觉覺不])得[閒闲](?![谈談])", "(?<![接吸])收[聲声](?![波学學])", "豉油", "差佬", "(?<![到])先得(?:$|[。！？!?])",
        # 細佬 (younger brother), 收線 (hang up), 通頂 (stay up all night), 走佬 (run away), 呢 + number + classifier
        # (these two; not 怎么说呢一个), A 定 B (A or B: 慢定快)
        "[細细]佬", "收[線线]", "通頂", "走佬", "(?<![說说麼么])呢[一兩两三四五六七八九十幾几][個个隻只條条次日年]",
        "(?<=[快慢好大細细多少高矮貴贵平])定[快慢好大細细多少高矮貴贵平]",
        # 呢句 / 呢單 (this sentence / case), 細個 (when small; not 仔細個人 / 詳細個人資料), 大鑊 (big trouble), 第度
        # (elsewhere), 䟴 (to shake the legs), 聽落 / 望落 (sounds / looks like; not 希望落空)
        "(?<![說说麼么])呢[句單单]", "(?<![仔詳详精])[細细]個", "大[鑊镬]", "第度", "䟴", "(?<![希渴期盼])[聽听望]落(?![后後空])",
    )
)
# Cantonese characters outside the BMP (𡃉 = 㗎; particles 𠺢 𠿪 and HKCanCor's 𠸏 𠻺 𠻹 𠺝 𡃓 𠻗 𡁜, 𡁵 = 緊; 𡃁
# young, 𨋢 lift, 𠝹 cut, 𦧲 lick, ...; none occurs in the 748,051 Mandarin check texts): counted apart and only
# when the text has an astral character at all, because an astral class anywhere in _CANTO makes sre test it at every
# position (_CANTO went from 0.21 to 0.38 ms per 2,000-character page)
_CANTO_ASTRAL = re.compile("[𡃉𠺢𠿪𡃁𢛴𢳂𥄫𨃩𨋢𨳊𨳍𠻺𠸏𡁵𠻹𠺝𡃓𠻗𡁜𠮨𠝹𦧲𨶙]")
# fixed phrases where the characters above are Mandarin (cantonesedetect CANTO_EXCLUDE_RE, plus the Mandarin words
# of 係 (traditional Mandarin writes 關係 etc.), 喇 (喇叭, 喇嘛), 囉 (囉嗦), 咪 (咪咪 猫咪 妈咪, and the names 咪蒙
# 咪咕), 俾 (俾斯麥), 靚 (靚麗), 掂 (掂量), 氹 (the Macau place names 氹仔 路氹)
_CANTO_EXCLUDE = re.compile(
    "關係|关係|聯係|联係|係數|係数|干係|吱唔|咿唔|喇叭|喇嘛|囉嗦|啰嗦|咪咪|[猫貓媽妈喵]咪|咪[蒙咕]|俾斯|靚麗|靓丽|掂量"
    "|氹仔|路氹|唧唧|求其次"
)

# --- Mandarin (cantonesedetect SWC_FEATURE_RE, + simplified) -------------------------------------------------------
_MANDO = re.compile("[這这哪唄呗咱啥甭那是的他她它吧沒没麼么些了卻却説說说吃弄把也在們们]|[事門门塊块點点會会]兒|而已")
_MANDO_EXCLUDE = re.compile(_gated(
    "是[否日次非但旦]", "[利於于]是", "[目綠绿藍蓝紅红中]的", "的[士確确式]", "些[微少許许小]",
    "[淹沉覆湮埋出][沒没]", "了[結结無无斷断當当然哥得解事]", "[其利無无排]他", "[酒網网水]吧",
    "也[許许]", "在[場场乎下內内]", "[實实現现存]在",
))

# --- Wu (Shanghainese): 侬 you, 阿拉 we, 伊拉 they, 覅 don't, 朆 not yet, 搿/迭/埃 this/that, 辣海/勒海 at, 今朝
# today, 辰光 time, 白相 play, 小囡 child, 事体 matter, 交关 very, sentence-final 伐 (question) -------------------------
_WU = re.compile(
    "[侬儂覅朆搿]|"
    + _gated(
        "阿拉", "伊拉", "[辣勒垃]海", "白相", "小囡", "事[体體]", "交[关關]", "迭[个個只隻搭]",
        "埃[个個只隻搭]", "[好是对對要有去来來]伐(?:[？?。！!，,]|$)",
    )
)
# Mandarin words that contain those characters: 伊拉克 Iraq, 阿拉伯 Arab(ic), 阿拉斯加, 阿拉丁, 阿拉善, 列侬/连侬 Lennon,
# 吴侬软语 (the idiom about Wu speech), 侬本多情 (a film title)
_WU_EXCLUDE = re.compile(_gated("伊拉克", "阿拉[伯斯丁善木贡貢维維蕾巴法戈]", "安拉", "[列连連][侬儂]", "白相[约約間间]", "吴侬", "吳儂", "侬本多情"))


def _count_runs(run: re.Pattern, text: str) -> int:
    """Characters matched by ``run`` (a ``[...]+`` pattern): a length difference, no list of matches."""
    return len(text) - len(run.sub("", text))


def script_counts(text: str) -> tuple[int, int, int, int]:
    """(Han, kana, Hangul, letters) in ``text``; letters (all scripts, Han included) are only counted when there is
    Han (they only matter for Han dominance), else 0."""
    no_han = _HAN_ASTRAL_RUN.sub("", _HAN_RUN.sub("", text))
    han = len(text) - len(no_han)
    kana = _count_runs(_KANA_RUN, no_han)
    hangul = _count_runs(_HANGUL_RUN, no_han)
    letters = han + len(no_han) - _count_runs(_NON_LETTER_RUN, no_han) if han else 0
    return han, kana, hangul, letters


def _count(pattern: re.Pattern, exclude: re.Pattern, text: str) -> int:
    n = len(pattern.findall(text))
    if pattern is _CANTO and text and max(text) > "\uffff":
        n += len(_CANTO_ASTRAL.findall(text))
    return max(0, n - len(exclude.findall(text))) if n else 0


def marker_counts(text: str) -> tuple[int, int, int]:
    """(Cantonese, Wu, Mandarin) marker counts, exception phrases subtracted."""
    return _count(_CANTO, _CANTO_EXCLUDE, text), _count(_WU, _WU_EXCLUDE, text), _count(_MANDO, _MANDO_EXCLUDE, text)


def consistent(label: str, han: int, kana: int, hangul: int, letters: int) -> bool:
    """Whether ``label`` agrees with the scripts of the text (module docstring, step 1)."""
    if label == "ja" and not kana:
        return False
    if label == "ko" and not hangul:
        return False
    if label in CHINESE_LABELS and (kana >= JAPANESE_KANA_RATIO * (kana + han) > 0 or hangul > han):
        return False  # Japanese or Korean by normalize/script.py's own measure (Jpan / Kore)
    # Han-dominant text is never labelled a language written without Han
    return not (letters and han >= HAN_DOMINANT_RATIO * letters and label not in CJK_LABELS)


def variety(text: str, lang: str, han: int) -> tuple[str, str]:
    """zh / yue / wuu for a text labelled Chinese (module docstring, step 2): (label, rule)."""
    canto, wu = _count(_CANTO, _CANTO_EXCLUDE, text), _count(_WU, _WU_EXCLUDE, text)
    need = 1 if han <= SHORT_TEXT_HAN else max(MIN_MARKERS, int(MIN_MARKERS_PER_HAN * han) + 1)
    # Mandarin markers are only counted when a variety is possible (most Chinese text has no marker at all)
    mando = _count(_MANDO, _MANDO_EXCLUDE, text) if max(canto, wu) >= need else 0
    if canto >= need and canto >= wu and canto >= MARKER_MAJORITY * mando:
        found = "yue"
    elif wu >= need and wu > canto and wu >= MARKER_MAJORITY * mando:
        found = "wuu"
    else:
        found = "zh"  # a variety label needs its own markers: lid.176's yue/wuu alone is mostly Mandarin
    return found, "" if found == lang else "markers"


def decide(text: str, preds: list[tuple[str, float]]) -> tuple[str, float, str]:
    """The label for ``text`` given lid.176's top-k ``preds`` (best first): (lang, score, rule)."""
    han, kana, hangul, letters = script_counts(text)
    han_dominant = bool(letters) and han >= HAN_DOMINANT_RATIO * letters
    if not preds:
        # the quantized lid.176 has no features for some short lines (係, 仲要交水電費): only the script speaks
        if not han_dominant:
            return "und", 0.0, ""
        preds = [("und", 0.0)]
    lang, score = preds[0]
    rule = ""
    if not consistent(lang, han, kana, hangul, letters):
        rule = "script"
        mass = 0.0
        for label, p in preds:
            mass += p
            if consistent(label, han, kana, hangul, letters):
                lang, score = label, min(1.0, mass)
                break
        else:
            if kana and kana >= JAPANESE_KANA_RATIO * (kana + han):
                lang, score = "ja", min(1.0, mass)
            elif hangul > han:
                lang, score = "ko", min(1.0, mass)
            elif han_dominant:
                lang, score = "zh", min(1.0, mass)
            # otherwise no label fits (e.g. kana-less "ja" on a text of symbols): keep lid.176's top label
    if lang in CHINESE_LABELS and han:
        lang, why = variety(text, lang, han)
        rule = rule or why
        # the variety comes from the markers; the score says how sure lid.176 is that the text is Chinese at all
        score = max(score, min(1.0, sum(p for label, p in preds if label in CHINESE_LABELS)))
    elif lang not in CJK_LABELS and han >= MIXED_HAN_RATIO * letters > 0:
        # Hong Kong code-mixing (即係啲 model answer 係錯嘅): lid.176 follows the Latin letters; two or more
        # Cantonese or Wu markers that outnumber the Mandarin ones are stronger evidence than the letters
        found, _ = variety(text, "zh", max(han, SHORT_TEXT_HAN + 1))
        if found != "zh":
            lang, rule = found, "markers"
    return lang, round(score, 4), rule
