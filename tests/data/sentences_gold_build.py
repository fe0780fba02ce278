# ruff: noqa: SIM115  (a one-off build record of the gold file: files read once and left to the interpreter)
"""Builds tests/data/sentences_gold.jsonl: naive [。！？] proposals corrected by hand (the *_SPLITS / *_JOINS lists
and split_after calls below), see sentences_gold.md. Needs ../shared/data; run: python tests/data/sentences_gold_build.py
"""
import gzip
import json
import re
from pathlib import Path

import opencc

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
naive = re.compile(r'[^。！？]*[。！？]+[”’」』）》]*|[^。！？]+$')
P={json.loads(l)['id']: json.loads(l)['text'] for l in open(f'{DATA}/prose_zh_wiki/passages.jsonl')}
PL=list(P)
def segs(t): return [x for x in naive.findall(t) if x]

def split_after(sents, marker):
    """split the sentence containing `marker` right after it (marker must occur once in the text)."""
    out=[]; hit=0
    for s in sents:
        i=s.find(marker)
        if i>=0 and i+len(marker)<len(s):
            out += [s[:i+len(marker)], s[i+len(marker):]]; hit+=1
        else: out.append(s)
    assert hit==1, (marker, hit)
    return out

def join_before(sents, start):
    out=[]; hit=0
    for s in sents:
        if s.startswith(start) and out: out[-1]+=s; hit+=1
        else: out.append(s)
    assert hit==1, start
    return out

WIKI_LIC = "CC BY-SA 4.0 (Chinese Wikipedia via CMRC 2018)"
records=[]
def add(variety, subset, doc_id, source, licence, sents, conversion=None):
    assert all(sents)
    r={"id": f"{variety}/{subset}/{doc_id}", "variety": variety, "subset": subset, "source": source,
       "licence": licence, "sentences": sents}
    if conversion: r["conversion"]=conversion
    records.append(r)

# --- Simplified, natural: every 100th passage of prose_zh_wiki (0, 100, ..., 700)
for i in range(0, 800, 100):
    pid=PL[i]; s=segs(P[pid])
    if pid=='cmrc2018/dev/DEV_0':
        s=split_after(s, '请至战国无双系列')  # a list item "1.由于..." follows a heading that lost its line break
    add('zhs','natural',pid,'prose_zh_wiki/passages.jsonl',WIKI_LIC,s)

# --- ellipsis subset: the sentence around each ellipsis of prose_zh_wiki (naive segment before, with, after)
ELL_SPLITS = {
 'cmrc2018/dev/DEV_72': ['美好未来……'], 'cmrc2018/dev/DEV_396': ['慢慢变化著……'],
 'cmrc2018/dev/DEV_483': ['并不在现场……'], 'cmrc2018/dev/DEV_1061': ['一种挑战……'],
 'cmrc2018/dev/DEV_1068': ['“红色之月”……'], 'cmrc2018/dev/DEV_1069': ['当成动物王膜拜……', '能否平安脱险呢…'],
 'cmrc2018/dev/DEV_1070': ['平安抵达终点吗…'], 'cmrc2018/dev/DEV_1071': ['巨大发条……', '夺回他们的船吗…'],
 'cmrc2018/dev/DEV_1076': ['真正的盛世……'], 'cmrc2018/dev/DEV_1111': ['步美想到的是……'],
}
ELL_JOINS = {'cmrc2018/dev/DEV_594': ['，张居正过度']}  # the quotation is the object of 例如...: the sentence goes on
ell=[]
for pid, t in P.items():
    if not re.search('[…⋯]', t): continue
    s=segs(t); pos=0; offs=[]
    for x in s: offs.append((pos,pos+len(x))); pos+=len(x)
    idx=[k for k,(a,b) in enumerate(offs) if re.search('[…⋯]', t[a:b])]
    keep=sorted({j for k in idx for j in (k-1,k,k+1) if 0<=j<len(s)})
    w=[s[j] for j in keep]
    assert keep==list(range(keep[0], keep[-1]+1))
    for m in ELL_SPLITS.get(pid, []): w=split_after(w, m)
    for m in ELL_JOINS.get(pid, []): w=join_before(w, m)
    ell.append((pid, w))
    add('zhs','ellipsis',pid,'prose_zh_wiki/passages.jsonl',WIKI_LIC,w)

# --- Traditional: every 100th passage from 50 (50, 150, ..., 750), and the ellipsis subset, OpenCC s2tw per sentence
tw=opencc.OpenCC('s2tw')
for i in range(50, 800, 100):
    pid=PL[i]
    add('zht','natural',pid,'prose_zh_wiki/passages.jsonl',WIKI_LIC,[tw.convert(x) for x in segs(P[pid])],'opencc s2tw')
for pid, w in ell:
    add('zht','ellipsis',pid,'prose_zh_wiki/passages.jsonl',WIKI_LIC,[tw.convert(x) for x in w],'opencc s2tw')

# --- Hong Kong Mandarin: news articles (main text by GeneralNewsExtractor in html_zh_news), the first 4 paragraphs of
# >= 30 characters ending in a terminator or closing mark of the first 6 articles, OpenCC s2hk per sentence
hk=opencc.OpenCC('s2hk')
arts=[]
for l in gzip.open(f'{DATA}/html_zh_news/pages.jsonl.gz','rt'):
    r=json.loads(l); g=r.get('gne_output')
    if isinstance(g,dict) and len(g.get('content') or '')>=300: arts.append((r['id'], g['content']))
HK_JOINS = {'第一位获奖的女性科学家什么来头？）': True}  # a parenthetical original title stays one sentence
for aid, c in arts[:6]:
    paras=[p.strip() for p in c.split('\n') if len(p.strip())>=30 and p.strip()[-1] in '。！？”」）…']
    for k, p in enumerate(paras[:4]):
        s=segs(p)
        for start in HK_JOINS:
            if start in s: s=join_before(s, start)
        add('zhhk','natural',f'{aid}#p{k}','html_zh_news/pages.jsonl.gz (gne_output.content)',
            'MIT (GeneralNewsExtractor test pages, as stated by ../shared/data)',[hk.convert(x) for x in s],'opencc s2hk')

# --- Cantonese: Common Voice zh-HK sentences from yue: the first 25 with a terminator inside, the first 15 with a
# comma and no terminator inside (file order)
items=[json.loads(l) for l in gzip.open(f'{DATA}/yue/yue.jsonl.gz','rt')]
cv=[r for r in items if r['source']=='common_voice_yue_sentences']
multi=[r for r in cv if re.search('[。！？；…].', r['text'])][:25]
single=[r for r in cv if re.search('[，、]', r['text']) and not re.search('[。！？；…].', r['text'])][:15]
for r in multi+single:
    add('yue','natural',r['id'],'yue/yue.jsonl.gz (common_voice_yue_sentences)',
        'MPL-2.0 (Common Voice sentence collection, as stated by ../shared/data)',segs(r['text']))

with open(REPO / 'tests' / 'data' / 'sentences_gold.jsonl', 'w', encoding='utf-8') as f:
    for r in records: f.write(json.dumps(r, ensure_ascii=False)+'\n')
import collections

c=collections.Counter((r['variety'],r['subset']) for r in records)
b=collections.Counter()
for r in records: b[(r['variety'],r['subset'])]+=len(r['sentences'])-1
print(c); print('internal boundaries', b)
