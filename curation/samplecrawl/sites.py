"""Invented web sites of the sample crawl and the HTML layouts they render pages with.

Every host is under the reserved ``.example`` TLD (RFC 2606). A layout turns a ``Doc`` (title, main-content blocks,
forum posts, comments, sidebar headlines) into a full page with the boilerplate real Chinese sites carry: top bar
with 登录/注册, navigation, breadcrumbs (首页 > 新闻 > 科技), share bars, related links, hot lists, comment boxes,
footers with 版权所有 and ICP备 numbers, inline scripts. Main text sits in the container a main-text extractor is
expected to keep; a few boilerplate lines (责任编辑, 展开全文, 原标题...) are deliberately put *inside* it, as real
sites do, for the line-level boilerplate cleanup stage (they are listed per page in MANIFEST.json).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape


@dataclass(frozen=True)
class Site:
    host: str
    name: str
    layout: str
    icp: str = ""
    beian: str = ""
    server: str = "nginx"
    scheme: str = "https"


@dataclass
class Post:
    user: str
    time: str
    floor: int
    lines: list[str]
    signature: str = ""
    quote: str = ""


@dataclass
class Doc:
    """Everything a layout needs. ``blocks`` are (kind, payload): p, h2, code, ul (list), bp (boilerplate line)."""

    title: str
    section: str = ""
    section_path: str = "news"
    date: str = ""
    source: str = ""
    author: str = ""
    blocks: list[tuple[str, object]] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sidebar: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    views: int = 0
    comment_count: int = 0
    board: str = ""
    lang: str = "zh"


NEWS_SITES = [
    Site("news.qingyun.example", "青云网", "news_portal", "京ICP备10234567号", "京公网安备11010502030001号"),
    Site("www.huabei-daily.example", "华北日报网", "news_html5", "冀ICP备11002233号-1", "冀公网安备13010202000123号"),
    Site("news.nanfang-zaobao.example", "南方早报", "news_html5", "粤ICP备12003456号", "粤公网安备44010602000345号"),
    Site("www.xijiang-news.example", "西江新闻网", "news_portal", "桂ICP备13004567号-2", "桂公网安备45010302000456号"),
    Site("www.beifang-net.example", "北方网", "news_html5", "津ICP备14005678号", "", "openresty"),
    Site("city.shenghuo.example", "城市生活网", "news_portal", "沪ICP备15006789号-3", "沪公网安备31010402000567号"),
    Site("tech.xinzhi.example", "新知科技", "news_html5", "浙ICP备16007890号", "", "Tengine"),
]
# Older portals (table layouts) that serve GB-family encodings.
GB_SITES = [
    Site(
        "www.dongfang-times.example",
        "东方时报",
        "news_table",
        "京ICP备05012345号",
        "",
        "Apache/2.2.15 (CentOS)",
        "http",
    ),
    Site("news.zhongyuan.example", "中原在线", "news_table", "豫ICP备06023456号", "", "Microsoft-IIS/6.0", "http"),
    Site("www.jiangnan-wanbao.example", "江南晚报", "news_portal", "苏ICP备07034567号", "苏公网安备32010202000678号"),
]
MOBILE_SITES = {
    "news.qingyun.example": Site("m.qingyun.example", "青云网", "mobile", "京ICP备10234567号"),
    "www.huabei-daily.example": Site("m.huabei-daily.example", "华北日报网", "mobile", "冀ICP备11002233号-1"),
    "news.nanfang-zaobao.example": Site("m.nanfang-zaobao.example", "南方早报", "mobile", "粤ICP备12003456号"),
}
REPRINT_SITES = [
    Site("www.zixun-hui.example", "资讯汇", "reprint", "鲁ICP备18001234号", "", "nginx/1.20.1"),
    Site("kuaibao.example", "快报聚合", "reprint", "闽ICP备19002345号-1", "", "openresty"),
]
FORUM_SITES = [
    Site("bbs.shuimu-luntan.example", "水木论坛", "forum_discuz", "京ICP备08045678号", "", "Apache"),
    Site("bbs.jiayuan-shequ.example", "家园社区", "forum_discuz", "川ICP备09056789号", "", "nginx/1.14.0", "http"),
    Site("www.maiche-bang.example", "买车帮论坛", "forum_simple", "渝ICP备17067890号"),
    Site("forum.mamabao.example", "妈妈宝论坛", "forum_simple", "鄂ICP备20078901号"),
]
BLOG_SITES = [
    Site("blog.lanshan.example", "蓝山博客", "blog_wp", "湘ICP备21012345号-1"),
    Site("www.xiaoman-notes.example", "小满笔记", "blog_wp", "闽ICP备22023456号"),
    Site("www.chufang-riji.example", "厨房日记", "blog_wp", "皖ICP备23034567号"),
    Site("dev.mabiji.example", "码笔记", "blog_tech", "浙ICP备24045678号-2"),
]
HANT_SITES = {
    "tw_news": Site("news.taibei-ribao.example", "臺北日報", "news_html5"),
    "tw_news_big5": Site("www.baodao-shibao.example", "寶島時報", "news_table", "", "", "Apache/2.2.22", "http"),
    "hk_news": Site("www.gangcheng-news.example", "港城新聞", "news_html5"),
    "hk_forum": Site("forum.xianggang-talk.example", "香港討論區", "forum_simple", "", "", "Apache", "http"),
    "tw_blog": Site("blog.wanwan.example", "灣灣部落格", "blog_wp"),
}
FOREIGN_SITES = {
    ("en", "news"): Site("www.riverside-gazette.example", "Riverside Gazette", "foreign"),
    ("en", "blog"): Site("blog.trailnotes.example", "Trail Notes", "foreign"),
    ("ja", "news"): Site("www.sakura-shimbun.example", "さくら新聞", "foreign"),
    ("ja", "blog"): Site("blog.hibi-no-kiroku.example", "日々の記録", "foreign"),
    ("ko", "news"): Site("news.hangang-ilbo.example", "한강일보", "foreign"),
    ("ko", "blog"): Site("blog.bomnal.example", "봄날 블로그", "foreign"),
}
SPAM_SITES = {
    "software": Site("www.ruanjian-xiazai.example", "绿色软件下载站", "spam", "", "", "nginx", "http"),
    "lottery": Site("www.caipiao-888.example", "888彩票网", "spam", "", "", "nginx", "http"),
    "seo": Site("www.seo-guanjianci.example", "本地服务网", "spam", "", "", "nginx", "http"),
    "loan": Site("www.daikuan-kuai.example", "快速贷款网", "spam", "", "", "nginx", "http"),
}
STATIC_SITES = {
    "png": Site("static.qingyun.example", "青云网", "static"),
    "css": Site("static.qingyun.example", "青云网", "static"),
    "pdf": Site("files.huabei-daily.example", "华北日报网", "static"),
}

NAV_NEWS = ["首页", "新闻", "国内", "国际", "财经", "科技", "体育", "教育", "健康", "文化", "旅游", "视频", "图片"]


def t(s: object) -> str:
    """Escape text for an HTML text node (quotes stay literal, as most CMSs emit them)."""
    return escape(str(s), quote=False)


def _meta(meta_charset: str | None, style: str) -> str:
    if not meta_charset:
        return ""
    if style == "http-equiv":
        return f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">'
    return f'<meta charset="{meta_charset}">'


def _blocks(blocks: list[tuple[str, object]], p_tag: str = "p") -> list[str]:
    out = []
    for kind, payload in blocks:
        if kind == "p":
            out.append(f"<{p_tag}>{t(payload)}</{p_tag}>")
        elif kind == "h2":
            out.append(f"<h2>{t(payload)}</h2>")
        elif kind == "code":
            out.append(f"<pre><code>{t(payload)}</code></pre>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{t(x)}</li>" for x in payload) + "</ul>")  # type: ignore[union-attr]
        elif kind == "bp":
            out.append(f'<p class="bp">{t(payload)}</p>')
        elif kind == "raw":
            out.append(str(payload))
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    return out


def _footer_cn(site: Site, year: str = "2024") -> list[str]:
    lines = [
        '<div class="footer">',
        (
            '<p><a href="/about/">关于我们</a> | <a href="/contact/">联系我们</a> | <a href="/ads/">广告服务</a> | '
            '<a href="/sitemap/">网站地图</a> | <a href="/jobs/">招聘信息</a></p>'
        ),
        f"<p>版权所有 &copy; 2008-{year} {t(site.name)} 保留所有权利 未经授权禁止转载</p>",
    ]
    if site.icp:
        beian = f' <a href="#">{t(site.beian)}</a>' if site.beian else ""
        lines.append(f'<p><a href="#">{t(site.icp)}</a>{beian}</p>')
    lines.append("<p>违法和不良信息举报电话：12377</p>")
    lines.append("</div>")
    return lines


def _script_cn() -> str:
    return (
        "<script>\nvar _hmt = _hmt || [];\n(function(){ var hm = document.createElement('script');"
        " hm.src = '/static/js/stat.js'; document.body.appendChild(hm); })();\n"
        "function showLogin(){ alert('请先登录后再发表评论'); }\n</script>"
    )


def _list(items: list[str], cls: str, tag: str = "ul") -> str:
    return f'<{tag} class="{cls}">' + "".join(f'<li><a href="#">{t(x)}</a></li>' for x in items) + f"</{tag}>"


def render(site: Site, doc: Doc, meta_charset: str | None, meta_style: str = "html5") -> str:
    fn = LAYOUTS[site.layout]
    return fn(site, doc, _meta(meta_charset, meta_style))


def news_portal(site: Site, doc: Doc, meta: str) -> str:
    h = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        meta,
        f"<title>{t(doc.title)}_{t(doc.section)}_{t(site.name)}</title>",
        f'<meta name="keywords" content="{t(doc.section)},{t(site.name)},新闻">',
        '<link rel="stylesheet" href="/static/css/main.css">',
        "</head>",
        "<body>",
        '<div class="topbar"><div class="wrap"><span class="date">' + t(doc.date[:10]) + "</span>"
        '<span class="user"><a href="/login">登录</a> | <a href="/register">注册</a> | <a href="/app">下载客户端</a></span>'
        "</div></div>",
        (
            f'<div class="header"><div class="logo"><a href="/">{t(site.name)}</a></div>'
            '<form class="search"><input type="text" placeholder="请输入关键词"><button>搜索</button></form></div>'
        ),
        '<div class="nav">' + _list(NAV_NEWS, "nav-list") + "</div>",
        '<div class="wrap main">',
        (
            f'<div class="crumbs"><a href="/">首页</a> &gt; <a href="/news/">新闻</a> &gt; '
            f'<a href="/{doc.section_path}/">{t(doc.section)}</a> &gt; 正文</div>'
        ),
        '<div class="left">',
        f'<h1 class="article-title">{t(doc.title)}</h1>',
        (
            f'<div class="article-info"><span class="time">{t(doc.date)}</span><span class="source">来源：{t(doc.source)}</span>'
            f'<span class="author">作者：{t(doc.author)}</span><span class="cmt">评论(<em>{doc.comment_count}</em>)</span></div>'
        ),
        '<div class="article-content" id="content">',
        *_blocks(doc.blocks),
        "</div>",
        '<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a> <a href="#">复制链接</a></div>',
        '<div class="prev-next">'
        + (f'<p>上一篇：<a href="#">{t(doc.related[0])}</a></p>' if doc.related else "")
        + (f'<p>下一篇：<a href="#">{t(doc.related[1])}</a></p>' if len(doc.related) > 1 else "")
        + "</div>",
        '<div class="related"><h3>相关阅读</h3>' + _list(doc.related[2:], "related-list") + "</div>",
        (
            f'<div class="comments"><h3>网友评论</h3><p>已有<em>{doc.comment_count}</em>人参与 <a href="#">点击查看</a></p>'
            '<textarea placeholder="文明上网，理性发言"></textarea><button onclick="showLogin()">发表评论</button></div>'
        ),
        "</div>",
        '<div class="right">',
        '<div class="box"><h3>热点排行</h3>' + _list(doc.sidebar, "rank", "ol") + "</div>",
        '<div class="box ad"><a href="#"><img src="/static/ad/banner.jpg" alt="广告"></a><span>广告</span></div>',
        "</div>",
        "</div>",
        *_footer_cn(site),
        _script_cn(),
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def news_html5(site: Site, doc: Doc, meta: str) -> str:
    h = [
        "<!doctype html>",
        '<html lang="zh">',
        "<head>",
        meta,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{t(doc.title)} | {t(site.name)}</title>",
        f'<meta property="og:title" content="{t(doc.title)}">',
        "<style>body{font-family:sans-serif}.content p{line-height:1.8}</style>",
        "</head>",
        "<body>",
        (
            f'<header class="site-header"><a class="brand" href="/">{t(site.name)}</a>'
            '<nav class="main-nav"><a href="/">首页</a><a href="/china/">时政</a><a href="/society/">社会</a>'
            f'<a href="/{doc.section_path}/">{t(doc.section)}</a><a href="/opinion/">评论</a><a href="/video/">视频</a></nav>'
            '<div class="account"><a href="/login">登录</a><a href="/signup">注册</a></div></header>'
        ),
        "<main>",
        f'<nav class="breadcrumb"><a href="/">首页</a> &gt; <a href="/{doc.section_path}/">{t(doc.section)}</a> &gt; 正文</nav>',
        "<article>",
        f"<h1>{t(doc.title)}</h1>",
        (
            f'<div class="meta"><time>{t(doc.date)}</time> <span>{t(doc.source)}</span> <span>{t(doc.author)}</span>'
            f' <span class="views">阅读 {doc.views}</span></div>'
        ),
        '<section class="content">',
        *_blocks(doc.blocks),
        "</section>",
        (
            '<footer class="article-footer"><div class="share-bar">分享到：<button>微信</button><button>微博</button>'
            f'<button>QQ</button></div><a class="comment-link" href="#comments">评论 {doc.comment_count}</a></footer>'
        ),
        "</article>",
        '<section class="more"><h2>推荐阅读</h2>' + _list(doc.related, "rec") + "</section>",
        "</main>",
        '<aside class="sidebar"><h3>24小时热文</h3>' + _list(doc.sidebar, "hot", "ol") + "</aside>",
        *_footer_cn(site),
        _script_cn(),
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def news_table(site: Site, doc: Doc, meta: str) -> str:
    """Old portal: tables, <font>, paragraphs separated by <br><br> with &nbsp; indents, no <p>."""
    paras = []
    for kind, payload in doc.blocks:
        if kind in ("p", "bp"):
            paras.append("&nbsp;&nbsp;&nbsp;&nbsp;" + t(payload))
        else:
            paras.extend(_blocks([(kind, payload)]))
    h = [
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">',
        "<html>",
        "<head>",
        meta,
        f"<title>{t(doc.title)}--{t(site.name)}</title>",
        '<link href="/css/style.css" rel="stylesheet" type="text/css">',
        "</head>",
        '<body bgcolor="#FFFFFF" topmargin="0">',
        '<table width="960" border="0" align="center" cellpadding="0" cellspacing="0">',
        (
            f'<tr><td class="logo"><a href="/">{t(site.name)}</a></td><td align="right">'
            '<a href="/login.asp">会员登录</a> | <a href="/reg.asp">免费注册</a> | <a href="/">设为首页</a></td></tr>'
        ),
        '<tr><td colspan="2" class="menu">'
        + " | ".join(f'<a href="/{i}/">{t(x)}</a>' for i, x in enumerate(NAV_NEWS[:9]))
        + "</td></tr>",
        (
            f'<tr><td colspan="2" class="position">当前位置：<a href="/">首页</a> &gt;&gt; <a href="/{doc.section_path}/">'
            f"{t(doc.section)}</a> &gt;&gt; 正文</td></tr>"
        ),
        "</table>",
        '<table width="960" border="0" align="center" cellpadding="0" cellspacing="0"><tr>',
        '<td width="700" valign="top">',
        f'<table width="100%"><tr><td class="title" align="center"><font size="5"><b>{t(doc.title)}</b></font></td></tr>',
        (
            f'<tr><td class="info" align="center"><font color="#666666">时间：{t(doc.date)}&nbsp;&nbsp;来源：{t(doc.source)}'
            f"&nbsp;&nbsp;作者：{t(doc.author)}&nbsp;&nbsp;点击：{doc.views}</font></td></tr>"
        ),
        '<tr><td class="content" id="zoom">',
        "<br><br>\n".join(paras),
        "</td></tr>",
        '<tr><td align="right">【<a href="#">打印本页</a>】【<a href="#">关闭窗口</a>】【<a href="#">我要评论</a>】</td></tr>',
        "</table>",
        "</td>",
        '<td width="20"></td>',
        '<td width="240" valign="top" class="side"><b>本周排行</b><br>'
        + "<br>".join(f'<a href="#">{t(x)}</a>' for x in doc.sidebar)
        + "</td>",
        "</tr></table>",
        '<table width="960" align="center"><tr><td align="center" class="foot">',
        '<a href="/about.html">关于本站</a> | <a href="/ad.html">广告服务</a> | <a href="/link.html">友情链接</a><br>',
        f"Copyright &copy; 2003-2024 {t(site.name)} All Rights Reserved<br>",
        (f'<a href="#">{t(site.icp)}</a>' if site.icp else ""),
        "</td></tr></table>",
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def mobile(site: Site, doc: Doc, meta: str) -> str:
    h = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        meta,
        '<meta name="viewport" content="width=device-width,initial-scale=1,user-scalable=no">',
        f"<title>{t(doc.title)}</title>",
        "</head>",
        "<body>",
        f'<div class="m-top"><a href="/" class="m-logo">{t(site.name)}</a><a class="open-app" href="#">打开APP</a></div>',
        '<div class="m-article">',
        f'<h1 class="m-title">{t(doc.title)}</h1>',
        f'<p class="m-info">{t(doc.source)} {t(doc.date)}</p>',
        '<div class="m-content">',
        *_blocks(doc.blocks),
        "</div>",
        '<div class="m-more">打开APP阅读全文，体验更佳</div>',
        "</div>",
        '<div class="m-hot"><h4>大家都在看</h4>' + _list(doc.sidebar[:5], "m-hot-list") + "</div>",
        f'<div class="m-footer">&copy; {t(site.name)} {t(site.icp)}</div>',
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def reprint(site: Site, doc: Doc, meta: str) -> str:
    h = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        meta,
        f"<title>{t(doc.title)} - {t(site.name)}</title>",
        "</head>",
        "<body>",
        (
            f'<div id="header"><h2 class="site">{t(site.name)}</h2><ul class="menu"><li>头条</li><li>热点</li><li>财经</li>'
            '<li>科技</li><li>本地</li></ul><div class="login">登录 | 注册</div></div>'
        ),
        '<div id="main">',
        f'<div class="path">您的位置：首页 &gt; 资讯 &gt; {t(doc.section)}</div>',
        f'<h1 id="title">{t(doc.title)}</h1>',
        f'<div class="info">{t(doc.date)} &nbsp; 来源：{t(doc.source)} &nbsp; 阅读量：{doc.views}</div>',
        '<div id="article-body">',
        *_blocks(doc.blocks),
        "</div>",
        '<div class="tags">标签：' + " ".join(f'<a href="#">{t(x)}</a>' for x in doc.tags) + "</div>",
        '<div class="hot"><h3>热门推荐</h3>' + _list(doc.sidebar, "hot-list") + "</div>",
        "</div>",
        *_footer_cn(site),
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def forum_discuz(site: Site, doc: Doc, meta: str) -> str:
    posts = []
    for p in doc.posts:
        floor = {1: "楼主", 2: "沙发", 3: "板凳", 4: "地板"}.get(p.floor, f"{p.floor}#")
        quote = f'<div class="quote"><blockquote>{t(p.quote)}</blockquote></div>' if p.quote else ""
        body = "<br />\n".join(t(x) for x in p.lines)
        sig = f'<div class="sign">{t(p.signature)}</div>' if p.signature else ""
        posts.append(
            f'<table class="plhin" id="pid{p.floor}"><tr><td class="pls"><div class="authi"><a class="xw1" href="#">'
            f"{t(p.user)}</a></div><p>积分 {len(p.user) * 137 % 5000}</p></td>"
            f'<td class="plc"><div class="pi"><strong><a href="#">{floor}</a></strong><div class="authi">'
            f'<em>发表于 {t(p.time)}</em> | <a href="#">只看该作者</a></div></div>'
            f'<div class="pct"><div class="t_fsz"><table><tr><td class="t_f" id="postmessage_{p.floor}">'
            f"{quote}{body}</td></tr></table></div></div>{sig}"
            '<div class="po"><a href="#">回复</a> <a href="#">支持</a> <a href="#">举报</a></div></td></tr></table>'
        )
    h = [
        (
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
        ),
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        meta,
        f"<title>{t(doc.title)} - {t(doc.board)} - {t(site.name)}</title>",
        f'<meta name="keywords" content="{t(doc.title)}">',
        "</head>",
        "<body>",
        (
            f'<div id="hd"><div class="hdc"><h2><a href="/">{t(site.name)}</a></h2>'
            '<div class="fastlg"><a href="/member.php?mod=logging">登录</a> <a href="/member.php?mod=register">立即注册</a>'
            ' <a href="#">找回密码</a></div></div>'
            '<div id="nv"><ul><li><a href="/">首页</a></li><li><a href="/forum.php">论坛</a></li><li><a href="#">导读</a></li>'
            '<li><a href="#">排行榜</a></li></ul></div></div>'
        ),
        (
            f'<div id="pt"><a href="/">首页</a> <em>&rsaquo;</em> <a href="/forum.php">论坛</a> <em>&rsaquo;</em> '
            f'<a href="#">{t(doc.board)}</a> <em>&rsaquo;</em> {t(doc.title)}</div>'
        ),
        f'<div class="hm ptn"><span>查看:</span> {doc.views} <span>|</span> <span>回复:</span> {len(doc.posts) - 1}</div>',
        f'<h1 class="ts"><span id="thread_subject">{t(doc.title)}</span></h1>',
        '<div id="postlist">',
        *posts,
        "</div>",
        '<div class="pgs">返回列表 <a href="#">发新帖</a> <a href="#">回复</a></div>',
        '<div id="f_pst">您需要登录后才可以回帖 <a href="#">登录</a> | <a href="#">立即注册</a></div>',
        f'<div id="ft"><p>Powered by BBSKit 3.4 &copy; 2001-2024 {t(site.name)}</p>'
        + (f"<p>{t(site.icp)}</p>" if site.icp else "")
        + "</div>",
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def forum_simple(site: Site, doc: Doc, meta: str) -> str:
    posts = []
    for p in doc.posts:
        quote = f'<blockquote class="reply-quote">{t(p.quote)}</blockquote>' if p.quote else ""
        body = "".join(f"<p>{t(x)}</p>" for x in p.lines)
        posts.append(
            f'<div class="post" id="post-{p.floor}"><div class="post-head"><span class="author">{t(p.user)}</span>'
            f'<span class="time">{t(p.time)}</span><span class="floor">#{p.floor}</span></div>'
            f'<div class="post-body">{quote}{body}</div>'
            '<div class="post-actions"><a href="#">赞</a> <a href="#">回复</a> <a href="#">举报</a></div></div>'
        )
    h = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        meta,
        f"<title>{t(doc.title)} - {t(site.name)}</title>",
        "</head>",
        "<body>",
        f'<div class="top"><a href="/">{t(site.name)}</a> <a href="/login">登录</a> <a href="/register">注册</a></div>',
        f'<div class="crumb"><a href="/">首页</a> &gt; <a href="#">{t(doc.board)}</a></div>',
        f'<div class="thread"><h1>{t(doc.title)}</h1><div class="stats">浏览 {doc.views} · 回复 {len(doc.posts) - 1}</div>',
        *posts,
        "</div>",
        '<div class="reply-box">登录后参与讨论 <a href="/login">登录</a> / <a href="/register">注册</a></div>',
        f'<div class="foot">&copy; 2024 {t(site.name)}' + (f" {t(site.icp)}" if site.icp else "") + "</div>",
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def blog_wp(site: Site, doc: Doc, meta: str) -> str:
    comments = "".join(
        f'<li class="comment"><div class="comment-author">{t(u)}</div><div class="comment-body"><p>{t(c)}</p></div>'
        '<a class="reply" href="#">回复</a></li>'
        for u, c in doc.comments
    )
    h = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        meta,
        f"<title>{t(doc.title)} – {t(site.name)}</title>",
        '<link rel="stylesheet" href="/wp-content/themes/simple/style.css">',
        "</head>",
        '<body class="post-template">',
        (
            f'<header id="masthead"><h1 class="site-title"><a href="/">{t(site.name)}</a></h1>'
            '<p class="site-description">记录生活，分享点滴</p>'
            '<nav><a href="/">首页</a> <a href="/about/">关于</a> <a href="/archives/">归档</a> <a href="/guestbook/">留言板</a></nav>'
            "</header>"
        ),
        '<div id="content"><main id="main">',
        '<article class="post">',
        f'<h1 class="entry-title">{t(doc.title)}</h1>',
        f'<div class="entry-meta">发表于 {t(doc.date)} · 分类：{t(doc.section)} · {doc.views} 次阅读</div>',
        '<div class="entry-content">',
        *_blocks(doc.blocks),
        "</div>",
        '<footer class="entry-footer">标签：' + "、".join(f'<a href="#">{t(x)}</a>' for x in doc.tags) + "</footer>",
        "</article>",
        '<nav class="post-navigation">'
        + (f'<a href="#">&laquo; {t(doc.related[0])}</a> ' if doc.related else "")
        + (f'<a href="#">{t(doc.related[1])} &raquo;</a>' if len(doc.related) > 1 else "")
        + "</nav>",
        (
            f'<div id="comments"><h3>{len(doc.comments)} 条评论</h3><ol class="comment-list">{comments}</ol>'
            '<p class="must-log-in">要发表评论，您必须先<a href="/login">登录</a>。</p></div>'
        ),
        "</main>",
        '<aside id="secondary"><section class="widget"><h2>近期文章</h2>'
        + _list(doc.sidebar[:5], "recent")
        + '</section><section class="widget"><h2>分类</h2>'
        + _list(["游记", "美食", "读书", "随笔", "运动"], "cats")
        + '</section><section class="widget"><h2>归档</h2>'
        + _list(["2024年3月", "2024年2月", "2024年1月", "2023年12月"], "archives")
        + "</section></aside>",
        "</div>",
        f'<footer id="colophon">&copy; 2024 {t(site.name)} · 由 InkPress 驱动'
        + (f" · {t(site.icp)}" if site.icp else "")
        + "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def blog_tech(site: Site, doc: Doc, meta: str) -> str:
    h = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        meta,
        f"<title>{t(doc.title)}_{t(doc.author)}的博客-{t(site.name)}</title>",
        "</head>",
        "<body>",
        (
            f'<div class="toolbar"><a href="/">{t(site.name)}</a> <a href="#">博客</a> <a href="#">问答</a> <a href="#">课程</a>'
            ' <input placeholder="搜索"> <a href="/login">登录</a> <a href="/register">注册</a></div>'
        ),
        '<div class="blog-content-box">',
        f'<h1 class="title-article">{t(doc.title)}</h1>',
        f'<div class="article-info-box"><span class="time">于 {t(doc.date)} 发布</span> '
        f'<span class="read-count">阅读量 {doc.views}</span> <span class="collect">收藏 {doc.comment_count}</span>'
        '<div class="tags-box">文章标签：' + " ".join(f'<a href="#">{t(x)}</a>' for x in doc.tags) + "</div>"
        '<div class="copyright">版权声明：本文为博主原创文章，转载请附上原文出处链接和本声明。</div></div>',
        '<div id="article_content" class="article_content">',
        '<div class="markdown_views">',
        *_blocks(doc.blocks),
        "</div>",
        "</div>",
        '<div class="hide-article-box"><a class="btn-readmore" href="#">展开阅读全文</a></div>',
        '<div class="comment-box">登录后可评论 <a href="/login">登录</a></div>',
        "</div>",
        '<div class="recommend-box"><h3>相关推荐</h3>' + _list(doc.sidebar[:6], "rec") + "</div>",
        f'<div class="footer">&copy;2024 {t(site.name)} {t(site.icp)} 客服：周一至周五 9:00-18:00</div>',
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


FOREIGN_CHROME = {
    "en": {
        "lang": "en",
        "home": "Home",
        "sections": ["News", "Local", "Opinion", "Food", "Travel", "Sports"],
        "share": "Share this article",
        "related": "More stories",
        "login": "Sign in",
        "copy": "&copy; 2024 {name}. All rights reserved.",
        "by": "By the {name} staff",
    },
    "ja": {
        "lang": "ja",
        "home": "ホーム",
        "sections": ["ニュース", "地域", "くらし", "グルメ", "旅行", "スポーツ"],
        "share": "この記事をシェアする",
        "related": "関連記事",
        "login": "ログイン",
        "copy": "Copyright &copy; 2024 {name} All Rights Reserved.",
        "by": "{name} 編集部",
    },
    "ko": {
        "lang": "ko",
        "home": "홈",
        "sections": ["뉴스", "사회", "문화", "음식", "여행", "스포츠"],
        "share": "공유하기",
        "related": "관련 기사",
        "login": "로그인",
        "copy": "&copy; 2024 {name} 무단전재 및 재배포 금지",
        "by": "{name} 편집팀",
    },
}


def foreign(site: Site, doc: Doc, meta: str) -> str:
    c = FOREIGN_CHROME[doc.lang]
    name = t(site.name)
    h = [
        "<!DOCTYPE html>",
        f'<html lang="{c["lang"]}">',
        "<head>",
        meta,
        f"<title>{t(doc.title)} - {name}</title>",
        "</head>",
        "<body>",
        f'<header><a href="/">{name}</a><nav>'
        + " ".join(f'<a href="#">{t(x)}</a>' for x in c["sections"])
        + f'</nav><a href="/login">{c["login"]}</a></header>',
        f'<div class="crumbs"><a href="/">{c["home"]}</a> &gt; <a href="#">{t(c["sections"][0])}</a></div>',
        "<article>",
        f"<h1>{t(doc.title)}</h1>",
        f'<p class="byline">{t(c["by"].format(name=site.name))} | {t(doc.date)}</p>',
        *_blocks(doc.blocks),
        f'<div class="share">{c["share"]}</div>',
        "</article>",
        f"<aside><h3>{c['related']}</h3>" + _list(doc.sidebar, "related") + "</aside>",
        f"<footer>{c['copy'].format(name=name)}</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


def bare(site: Site, doc: Doc, meta: str) -> str:
    """Spam, short and navigation-only pages: the caller puts everything in raw blocks."""
    h = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        meta,
        f"<title>{t(doc.title)}</title>",
        "</head>",
        "<body>",
        *_blocks(doc.blocks),
        "</body>",
        "</html>",
    ]
    return "\n".join(x for x in h if x)


LAYOUTS = {
    "news_portal": news_portal,
    "news_html5": news_html5,
    "news_table": news_table,
    "mobile": mobile,
    "reprint": reprint,
    "forum_discuz": forum_discuz,
    "forum_simple": forum_simple,
    "blog_wp": blog_wp,
    "blog_tech": blog_tech,
    "foreign": foreign,
    "spam": bare,
    "bare": bare,
}
