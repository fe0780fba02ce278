"""Non-simplified content for the sample crawl: Taiwan/Hong Kong sentences, English/Japanese/Korean pages, spam.

All written for this project (Apache-2.0). The Taiwan and Hong Kong sentences are kept here in simplified
characters and converted at generation time with OpenCC (``s2twp`` for Taiwan vocabulary and characters, ``s2hk``
for Hong Kong), so the normalize stage's traditional->simplified conversion has a known source to come back to.
"""

from __future__ import annotations

TW_CITIES = ["台北", "新北", "桃园", "台中", "台南", "高雄", "新竹", "基隆", "嘉义", "花莲", "宜兰"]
HK_PLACES = ["九龙", "沙田", "荃湾", "将军澳", "铜锣湾", "旺角", "观塘", "屯门", "大埔", "西贡"]

# Taiwan-flavoured sentences ({city} is a Taiwan city), written in simplified and converted with s2twp.
TW_SENTENCES = [
    "{date}，{city}捷运公司宣布，尖峰时段的列车班距将缩短到{n:2-4}分钟。",
    "这个软件的网络连线功能经过更新后，速度明显变快了，不少用户在社群上分享使用心得。",
    "夜市里，卤肉饭、蚵仔煎和珍珠奶茶依然是观光客最爱的三样小吃。",
    "高雄的港边仓库经过改建，如今成了年轻人假日最常去的文创园区。",
    "气象局提醒，受东北季风影响，北部和东北部地区这几天早晚温差较大。",
    "全民健康保险实施多年，民众看病的负担比过去减轻了许多。",
    "{city}的一家独立书店开业十年，老板坚持每周举办一场读书会。",
    "花莲的海岸线风景优美，骑自行车沿着海边公路走，是很多游客的首选行程。",
    "便利商店几乎二十四小时营业，缴费、寄包裹、买车票都能在店里完成。",
    "电脑资讯展今年吸引了上百家厂商参展，笔记本电脑和电竞设备最受关注。",
    "新竹科学园区的半导体厂商持续扩产，带动了周边的租屋需求。",
    "宜兰的温泉旅馆在冬天最受欢迎，假日经常一房难求。",
    "台南的老街保留了许多传统建筑，巷弄里藏着不少老字号的小吃店。",
    "不少上班族利用午休时间到附近的公园散步，顺便晒晒太阳。",
    "这间餐厅的牛肉面汤头浓郁，面条有嚼劲，中午用餐时间总是大排长龙。",
    "学校的程序设计课程很受学生欢迎，很多人在课后自己动手写小游戏。",
    "老师提醒，使用公共无线网络时，最好不要登录银行账户。",
    "资料显示，今年第一季出口金额较去年同期增长{n:5-20}%。",
    "搭乘高铁从台北到高雄，最快只要一个半小时左右。",
    "环保团体呼吁民众减少使用一次性餐具，出门自备环保杯。",
    "{city}市政府表示，将在{n:10-30}个路口增设行人专用的倒数计时号志。",
    "这款手机的软件更新后，相机的夜拍效果有了明显改善。",
    "周末的农夫市集里，小农们带来了自家种的蔬菜、水果和手工果酱。",
    "许多年轻人回到家乡开咖啡店，让老街重新热闹起来。",
    "图书馆推出了行动借书服务，载着书的小货车每周固定到偏乡学校。",
    "记者实际走访发现，假日的老街人潮汹涌，店家几乎都在排队。",
    "业者表示，原物料价格上涨，部分饮料店已经调涨售价{n:5-10}元。",
    "登山步道整修完成后，沿途增设了休息区和指示牌，方便民众安全登山。",
]

# Hong Kong-flavoured sentences ({place} is a Hong Kong district), converted with s2hk.
HK_SENTENCES = [
    "港铁{date}起调整部分路线的班次，繁忙时间的列车班次将会增加。",
    "在茶餐厅点一份菠萝油配奶茶，是不少香港人的早餐选择。",
    "天星小轮往返于维多利亚港两岸，船程不到十分钟，票价也十分便宜。",
    "香港的楼价一直居高不下，不少年轻人只能选择租住面积较小的单位。",
    "天文台预测，未来数日天气炎热，市民外出时应注意防晒和补充水分。",
    "行山是不少香港人周末常见的消遣，郊野公园沿途风景优美。",
    "{place}的街市人来人往，摊档售卖新鲜的蔬菜、海鲜和水果。",
    "不少中学生在暑假期间参加义工服务，到长者中心探访独居老人。",
    "公共图书馆推出电子书借阅服务，市民可以在手机上借阅。",
    "巴士公司表示，将逐步引入电动巴士，以减少路边空气污染。",
    "这间小店专门售卖手工制作的皮具，店主已经在这行做了三十年。",
    "离岛的市集假日游人众多，不少游客专程乘坐缆车上山。",
    "医院提醒，季节性流感高峰期间，急症室轮候时间可能较长。",
    "{place}一间开业四十年的冰室即将结业，不少街坊专程前来拍照留念。",
    "周末的海滨长廊聚满了跑步、踩单车和放狗的市民。",
    "电车叮叮声穿梭于港岛北岸，车费便宜，是游客认识香港的好方法。",
    "有市民表示，希望政府在{place}增设更多休憩设施和儿童游乐场。",
    "餐厅东主表示，租金和人工成本上升，只能靠增加外卖生意维持。",
    "中秋节前夕，饼家的月饼订单比去年增加了约{n:10-30}%。",
    "大学毕业生就业博览会吸引了过百间机构参与，提供数千个职位空缺。",
]

# English, Japanese and Korean pages: (kind, title, paragraphs). Kind picks the layout (news or blog).
EN_PAGES = [
    (
        "news",
        "Riverside Library Reopens After Two-Year Renovation",
        [
            (
                "The Riverside public library reopened on Saturday after a two-year renovation that added a children's wing, "
                "a rooftop reading terrace and twice as many study desks as before."
            ),
            (
                "Hundreds of residents queued before the doors opened at nine. Many of them said they had missed the quiet "
                "of the old reading room more than they had expected."
            ),
            (
                "The project came in slightly under budget, according to the city's facilities office, largely because the "
                "original brick walls could be kept and insulated from the inside rather than rebuilt."
            ),
            (
                "Librarians say the most requested new service so far is the tool lending shelf, where members can borrow "
                "drills, sewing machines and even a telescope for up to a week."
            ),
        ],
    ),
    (
        "blog",
        "A Weekend on the Northern Ridge Trail",
        [
            (
                "I had been meaning to walk the Northern Ridge trail for three summers, and this year I finally blocked out "
                "a weekend, packed far too much food and set off before sunrise."
            ),
            (
                "The first climb is the hardest part: four kilometres of switchbacks through pine forest, with almost no "
                "views until you break out above the tree line. After that the ridge opens up and the walking is easy."
            ),
            (
                "I camped at the small lake below the second summit. The water was freezing, the stars were ridiculous, and "
                "I fell asleep before nine o'clock without meaning to."
            ),
            "If you go, bring more water than you think you need and start early. The afternoon storms roll in fast.",
        ],
    ),
    (
        "blog",
        "How I Finally Automated My Backups",
        [
            (
                "For years my backup strategy was a vague intention to copy things to an external drive every now and then. "
                "Last month a failing laptop disk convinced me to do better."
            ),
            (
                "The setup I ended up with is boring on purpose: a nightly job copies my home folder to a small server in the "
                "closet, and once a week the server pushes an encrypted copy offsite."
            ),
            (
                "The part most people skip is testing the restore. I now pick a random file every Friday and restore it, "
                "which takes two minutes and has already caught one broken configuration."
            ),
            (
                "None of this is clever, but that is the point. A backup you never think about is the only kind that "
                "actually keeps running."
            ),
        ],
    ),
    (
        "news",
        "Council Approves Protected Bike Lanes on Elm Street",
        [
            (
                "The city council voted seven to two on Tuesday night to build protected bike lanes along the full length of "
                "Elm Street, ending a debate that has run for more than a year."
            ),
            (
                "Supporters pointed to a rise in the number of people cycling to the downtown schools, while several shop "
                "owners worried about losing parking spaces in front of their stores."
            ),
            (
                "The final plan keeps loading zones on every block and moves about forty parking spaces to a nearby side "
                "street. Construction is expected to begin in late spring."
            ),
        ],
    ),
    (
        "blog",
        "The Best Bowl of Noodles I Ate This Year",
        [
            (
                "It was raining, I was lost, and the only place with its lights still on was a tiny noodle shop with six "
                "stools and a handwritten menu taped to the window."
            ),
            (
                "The owner recommended the beef noodles without asking what I wanted. The broth was dark and peppery, the "
                "noodles were pulled by hand while I watched, and the whole bowl cost less than a sandwich at the station."
            ),
            "I have been back four times since. I still do not know the name of the shop, and I am not sure it has one.",
        ],
    ),
    (
        "blog",
        "Notes from a Beginner's First Half Marathon",
        [
            (
                "Six months ago I could not run to the end of my street without stopping. On Sunday I finished my first "
                "half marathon in just under two and a half hours."
            ),
            (
                "The training plan was simple: three short runs during the week and one long run on Saturday, adding a "
                "kilometre every other week. The hardest part was going slowly enough on the easy days."
            ),
            (
                "On race day I started too fast, paid for it around kilometre fifteen, and walked through two water "
                "stations. I still crossed the line grinning."
            ),
        ],
    ),
]

JA_PAGES = [
    (
        "news",
        "桜の季節、川沿いの遊歩道に多くの花見客",
        [
            "市内を流れる川沿いの遊歩道で桜が見頃を迎え、週末には多くの花見客が訪れた。",
            "遊歩道には約八百本の桜が植えられており、夜にはライトアップも行われている。",
            "家族連れで訪れた会社員の男性は「毎年この時期に来るのが楽しみです。今年は天気にも恵まれました」と話した。",
            "市によると、混雑を避けるため、来週末は近くの駐車場を臨時に開放する予定だという。",
        ],
    ),
    (
        "blog",
        "京都の小さな路地を歩く一日",
        [
            "久しぶりに京都へ行ってきました。今回は有名なお寺ではなく、地図にも載っていないような路地を歩くことにしました。",
            "朝早くの路地はとても静かで、聞こえるのは自転車の音と、どこかの家から流れてくるラジオの声だけでした。",
            "お昼は小さな定食屋で焼き魚定食を食べました。お店のおばあさんが、近くの古い銭湯のことを教えてくれました。",
            "観光地を急いで回るのもいいけれど、こうしてゆっくり歩く旅もいいものだと思いました。",
        ],
    ),
    (
        "blog",
        "駅前の小さなラーメン屋",
        [
            "駅前に新しいラーメン屋ができたので、仕事帰りに寄ってみました。",
            "カウンターだけの小さなお店ですが、店主が一人で丁寧にスープを作っているそうです。",
            "醤油ラーメンはあっさりしているのに味に深みがあり、最後の一滴まで飲み干してしまいました。",
            "次は味噌ラーメンも試してみたいと思います。",
        ],
    ),
    (
        "news",
        "市立図書館がリニューアルオープン",
        [
            "改修工事のため休館していた市立図書館が、一日にリニューアルオープンした。",
            "新しい図書館には、子ども向けの読み聞かせスペースや、パソコンを使える学習室が設けられている。",
            "館長は「誰もが気軽に立ち寄れる場所にしたい」と話している。",
        ],
    ),
    (
        "blog",
        "在宅勤務を三年続けて分かったこと",
        [
            "在宅勤務を始めてから、もうすぐ三年になります。最初は通勤がなくなって嬉しいだけでしたが、だんだん課題も見えてきました。",
            "一番大きかったのは、仕事と生活の境目がなくなることです。今は仕事用の机を決めて、終業時間になったら必ずパソコンを閉じるようにしています。",
            "もう一つは運動不足です。朝と夕方に近所を散歩する習慣をつけてから、体の調子がずいぶん良くなりました。",
        ],
    ),
]

KO_PAGES = [
    (
        "news",
        "지하철 새 노선 개통, 출퇴근 시간 단축 기대",
        [
            "도심과 외곽 신도시를 잇는 지하철 새 노선이 지난 토요일 개통했다.",
            "새 노선은 모두 열두 개 역으로 이루어져 있으며, 종점에서 도심까지 약 삼십 분이면 도착할 수 있다.",
            '개통 첫날 열차를 이용한 한 시민은 "버스를 두 번 갈아타던 때보다 훨씬 편해졌다"고 말했다.',
            "시는 이용객 추이를 살펴 출퇴근 시간대 배차 간격을 더 줄일 계획이다.",
        ],
    ),
    (
        "blog",
        "집에서 만드는 김치찌개",
        [
            "날씨가 쌀쌀해지면 제일 먼저 생각나는 음식이 김치찌개입니다.",
            "잘 익은 김치와 돼지고기를 냄비에 넣고 먼저 볶아 주면 국물 맛이 훨씬 깊어집니다.",
            "물을 붓고 끓기 시작하면 두부와 파를 넣고 중불에서 십오 분 정도 더 끓여 주세요.",
            "마지막에 간을 보고 부족하면 김칫국물을 조금 더 넣으면 됩니다.",
        ],
    ),
    (
        "blog",
        "제주 올레길을 걸으며",
        [
            "이번 휴가에는 제주도에 가서 올레길을 며칠 동안 걸었습니다.",
            "바닷가를 따라 이어지는 길은 생각보다 조용했고, 중간중간 작은 마을과 카페가 있어서 쉬어 가기 좋았습니다.",
            "가장 기억에 남는 것은 해 질 무렵 바다 위로 번지던 노을이었습니다.",
            "다음에는 가족들과 함께 다시 오고 싶습니다.",
        ],
    ),
    (
        "news",
        "동네 도서관, 주민 문화 공간으로 변신",
        [
            "오래된 동네 도서관이 리모델링을 마치고 주민들을 위한 문화 공간으로 다시 문을 열었다.",
            "새 도서관에는 어린이 열람실과 작은 공연장, 주민 모임 공간이 새로 마련됐다.",
            "도서관 측은 매달 작가와의 만남과 독서 모임을 열 예정이라고 밝혔다.",
        ],
    ),
    (
        "blog",
        "첫 마라톤 완주 후기",
        [
            "처음으로 풀코스 마라톤을 완주했습니다. 기록은 네 시간 오십 분이었습니다.",
            "삼십 킬로미터 지점부터 다리가 무거워져서 몇 번이나 걷고 싶었지만, 길가에서 응원해 주시는 분들 덕분에 끝까지 달릴 수 있었습니다.",
            "결승선을 통과하는 순간 그동안의 훈련이 떠올라 눈물이 났습니다.",
        ],
    ),
]

# --------------------------------------------------------------------------------------------------------------
# Spam / SEO vocabulary (keyword stuffing, link farms, lottery ads, loan ads).
# --------------------------------------------------------------------------------------------------------------

SPAM_SOFTWARE = ["办公软件", "视频剪辑软件", "杀毒软件", "看图软件", "解压软件", "输入法", "游戏加速器", "录屏软件"]
SPAM_SUFFIXES = [
    "免费下载",
    "最新版",
    "破解版",
    "绿色版",
    "官方版",
    "中文版",
    "安卓版",
    "电脑版",
    "2024最新版",
    "免激活",
    "永久免费",
    "无广告",
]
SPAM_LOTTERY = [
    "彩票开奖结果",
    "精准预测",
    "稳赚不赔",
    "注册即送88元彩金",
    "首充返利",
    "一码中特",
    "必中三码",
    "百万大奖等你拿",
    "信誉平台",
    "提款秒到账",
    "天天返水",
    "官方直营",
]
SPAM_LOAN = [
    "无抵押贷款",
    "当天放款",
    "征信不好也能贷",
    "秒批秒到",
    "利息超低",
    "不看征信",
    "大额度",
    "随借随还",
    "黑户可贷",
]
SPAM_SERVICES = ["搬家公司", "开锁公司", "家电维修", "空调清洗", "管道疏通", "保洁公司", "装修公司"]
SPAM_SERVICE_SUFFIXES = ["电话", "价格", "哪家好", "收费标准", "24小时", "上门服务", "附近", "多少钱", "便宜", "排名"]

SHORT_PAGES = [
    ("页面正在建设中", "本栏目正在建设中，敬请期待。"),
    ("提示信息", "该帖子已被删除或屏蔽。"),
    ("暂无内容", "暂无相关内容。"),
    ("请登录", "请登录后查看本页内容。"),
    ("系统维护公告", "系统维护中，预计两小时后恢复访问。"),
    ("活动已结束", "本次活动已结束，感谢您的参与！"),
    ("订阅成功", "您已成功订阅本站每周精选。"),
    ("链接已失效", "您访问的链接已失效，请返回首页。"),
]

# Titles and forum replies for the Taiwan / Hong Kong pages (simplified source, converted like the sentences).
TW_TITLES = [
    "{city}捷运尖峰班距缩短，通勤族：终于不用挤了",
    "夜市观光人潮回流，摊商生意回温",
    "{city}独立书店十周年，读书会从未间断",
    "半导体厂扩产带动租屋需求，{city}房租看涨",
    "东北季风增强，北部早晚温差大",
    "软件更新后网络连线更稳定，用户好评",
    "青年返乡开店，老街重新热闹起来",
    "登山步道整修完成，假日游客明显增加",
    "农夫市集周末登场，小农直送新鲜蔬果",
    "原物料上涨，饮料店调涨售价",
    "图书馆行动借书车开进偏乡学校",
    "电脑资讯展开幕，电竞设备最吸睛",
]
HK_TITLES = [
    "港铁繁忙时间加密班次",
    "{place}老字号冰室结业，街坊排队留念",
    "天文台预测未来数日酷热",
    "巴士公司陆续引入电动巴士",
    "公共图书馆推出电子书借阅服务",
    "中秋将至，月饼订单较去年增加",
    "{place}街市人流回升，摊档生意好转",
    "中学生暑期做义工，探访独居长者",
]
HK_REPLIES = [
    "同意楼主，我也是这样想",
    "多谢分享",
    "这间我去过，确实不错",
    "上次去的时候排了很久",
    "周末人太多了，建议平日去",
    "楼主讲得很清楚",
    "我也想知道",
    "住在附近，平时经常经过",
]
