"""Seed the lists of RULES.md (33 items, version 1), an example alias table and the thresholds.

The alias table is an EXAMPLE mapping of a locality's named lists onto the codes; each locality
edits it in the admin. Thresholds carry the example defaults of RULES.md; the meal cap is left
unset on purpose (P02 refuses to judge until a locality sets it).
"""

from decimal import Decimal

from django.db import migrations

# (code, category_zh, category_en, text_zh, text_en, signal)
ITEMS = [
    (
        "P01",
        "公开活动",
        "Public events",
        "经批准可参加企业、商协会举办的座谈会、茶话会、年会、展销推介、签约开工上市等公开活动",
        "With approval, may attend public enterprise/chamber events (forums, annual meetings, fairs, signings, groundbreakings, listings)",
        "`Interaction.kind` in the allowed set and `public=True`; fires if `approval_ref` is missing or `kind=celebration` (internal)",
    ),
    (
        "P02",
        "接待就餐",
        "Work meals",
        "上门服务、调研确需用餐的，可接受符合公务接待标准的工作餐，不上高档菜肴和烟酒",
        "May accept a work meal at the official reception standard during service visits; no premium dishes, tobacco or liquor",
        "`kind=meal`, `per_capita ≤ MEAL_PER_CAPITA_CAP`, no alcohol/tobacco flags (alcohol allowed only with a `ceremonial_toast_approved` exception, Weihai style); fires otherwise",
    ),
    (
        "P03",
        "交通用车",
        "Vehicles",
        "确有需要可搭乘企业交通工具，但不得要求单独派车、专程接送",
        "May ride an enterprise vehicle when needed, but not one dispatched specially or for a dedicated pick-up",
        "`AssetUse.asset=vehicle`, `dedicated=False`, tied to an `Interaction`; fires if `dedicated=True` or there is no linked official activity",
    ),
    (
        "P04",
        "差旅住宿",
        "Travel and lodging",
        "随企业外出招商、申报项目可同行同住，差旅费按公务标准自行结清",
        "May travel or stay with enterprise staff on official trips; own costs settled at official rates",
        "`ExpenseRecord` for hotel/travel with `payer=official_unit`, `settled_at ≤ trip_end + N days`; fires if `payer=enterprise` or over the cap without pre-approval",
    ),
    (
        "P05",
        "上门服务",
        "Site visits",
        "主动上门服务、调研、现场办公，入企前按规定报备",
        "Proactive site visits and on-site service, filed in advance",
        "`InspectionVisit`/`Interaction` with `filed_at < start`; fires if unfiled (see N15)",
    ),
    (
        "P06",
        "座谈洽谈",
        "Talks at the office",
        "可邀请企业、商协会人员到机关洽谈、座谈、办理业务",
        "May invite enterprise staff to the office for talks or business",
        "`Interaction.kind=office_meeting`; informational (counts toward 亲 metrics)",
    ),
    (
        "P07",
        "帮扶服务",
        "Help and support",
        "可在争取项目、融资、政策兑现、审批提速、追讨欠款等方面依法提供帮助",
        "May lawfully help with projects, financing, policy benefits, faster approvals, recovering arrears",
        "Service log linked to a `Ticket`; informational and counts toward 亲 metrics",
    ),
    (
        "P08",
        "产品推介",
        "Product promotion",
        "可为非特定企业的本地特色、名优产品开展推介、直播带货",
        "May promote local products as long as no *specific* enterprise is favoured",
        "`Interaction.kind=promotion` with ≥ `MIN_PROMOTED_ENTERPRISES` enterprises, or a category; fires if a single enterprise is promoted",
    ),
    (
        "P09",
        "培训授课",
        "Lectures and training",
        "经批准可到企业授课、宣讲政策，报酬按规定",
        "With approval, may lecture or explain policy at enterprises; any fee within rules",
        "`approval_ref` present and `honorarium ≤ cap`; fires otherwise",
    ),
    (
        "P10",
        "礼节往来",
        "Courtesy souvenirs",
        "招商等公务中可互赠体现地域文化的低值纪念品，并登记；国企商务招待纪念品人均不超过600元",
        "Low-value cultural souvenirs may be exchanged in official investment promotion and must be registered; SOE souvenirs ≤ 600 元 per person",
        "`GiftRecord.kind=souvenir`, `value ≤ SOE_SOUVENIR_CAP` (or local cap), `registered_at` set; fires if over the cap or unregistered",
    ),
    (
        "P11",
        "私人交往",
        "Private social life",
        "非因公务的聚餐原则上AA制",
        "Non-official social meals are split the bill",
        "`Interaction.kind=meal`, `official=False` → `payer=split`; fires if `payer=enterprise`",
    ),
    (
        "N01",
        "礼品礼金",
        "Gifts and cash",
        "不得索取、收受企业礼金、消费卡、有价证券、电子红包及贵重礼品",
        "Must not solicit or accept cash, gift cards, securities, e-red-packets or valuable gifts from enterprises",
        "Any `GiftRecord(received)` of kind cash/card/securities/e_red_packet (any value); goods over `GIFT_REGISTER_MIN` not registered within 30 days; goods over `GIFT_SURRENDER_MIN` not surrendered",
    ),
    (
        "N02",
        "宴请",
        "Banquets",
        "不得接受可能影响公正执行公务的宴请，不得要求企业为个人宴请买单",
        "Must not accept meals that could affect impartial duty, or make an enterprise pay for a private meal",
        "`Interaction.kind=meal`, `payer=enterprise`, `ManagementRelation` exists and P02 conditions not met",
    ),
    (
        "N03",
        "娱乐旅游",
        "Entertainment and travel",
        "不得接受企业安排的旅游、健身、娱乐、私人会所等活动",
        "Must not accept travel, fitness, entertainment or private-club activities arranged or paid by enterprises",
        "`Interaction.kind` in {tourism, entertainment, fitness} or `venue_type=private_club` with `payer=enterprise`",
    ),
    (
        "N04",
        "费用报销",
        "Expenses",
        "不得将应由个人或亲属支付的费用交由企业支付、报销",
        "Must not have enterprises pay or reimburse personal or family expenses",
        "`ExpenseRecord.reimbursed_by_enterprise=True` or `payer=enterprise` with an official or relative as beneficiary",
    ),
    (
        "N05",
        "借款借物",
        "Borrowing",
        "不得向企业借钱、借车、借房或以借为名长期占用财物",
        'Must not borrow money, cars, housing or goods from enterprises, or occupy them "on loan"',
        "`AssetUse.from_enterprise=True` (money/housing any; vehicle outside P03); `returned=False` after `ASSET_BORROW_MAX_DAYS`",
    ),
    (
        "N06",
        "兼职持股",
        "Part-time roles and shares",
        "不得违规在企业兼职取酬、入股（搭股）经商或持有管理服务对象股份",
        "Must not take unapproved paid part-time roles, hold shares, or run businesses with enterprises",
        "`Declaration` has a role with remuneration > 0 and no approval, or a shareholding in an enterprise within `ManagementRelation`",
    ),
    (
        "N07",
        "借贷理财",
        "Loans and investments",
        "不得以借贷、理财名义向企业索取高额利息或回报",
        "Must not extract high interest or returns from enterprises via loans or investments",
        "`Declaration` loan or investment with an enterprise counterparty; rate above `MAX_RATE` or return above the market",
    ),
    (
        "N08",
        "干预市场",
        "Market interference",
        "不得干预插手项目选定、招标投标、政府采购、工程建设等",
        "Must not interfere in project selection, tendering, procurement or construction",
        "Complaints or whistle reports tagged `tender_interference`; contact logs with bidders during an open tender window",
    ),
    (
        "N09",
        "指定服务",
        "Designated services",
        "不得向企业推荐、指定中介、代理、供应商或推销商品",
        "Must not recommend or designate intermediaries, agents or suppliers, or sell products to enterprises",
        "Complaint category `designated_service`; `Interaction` notes; enterprise survey answers",
    ),
    (
        "N10",
        "乱作为",
        "Arbitrary action",
        "不得对企业乱检查、乱收费、乱罚款、乱摊派、乱募捐",
        "No arbitrary inspections, fees, fines, levies or donation drives",
        "`InspectionVisit` without a plan or filing; fee not in the published fee catalogue; donation requests reported",
    ),
    (
        "N11",
        "不作为",
        "Inaction",
        "不得故意刁难、推诿扯皮、办事拖拉、吃拿卡要",
        "No obstruction, buck-passing, foot-dragging or petty extortion in handling enterprise affairs",
        "`Ticket` overdue beyond SLA, ≥2 unjustified 退单, repeated 不满意 ratings, complaints",
    ),
    (
        "N12",
        "设置障碍",
        "Barriers",
        "不得在准入、招商、审批中设置歧视性门槛或区别对待不同所有制企业",
        "No discriminatory thresholds or unequal treatment by ownership in access, investment promotion or approvals",
        "Complaint category `discrimination`; approval timing outliers by ownership type",
    ),
    (
        "N13",
        "庆典活动",
        "Celebrations",
        "一般不参加企业内部节庆、庆典、庆功宴",
        "Generally do not attend an enterprise's internal celebrations or victory banquets",
        "`Interaction.kind=celebration` and `public=False`",
    ),
    (
        "N14",
        "失信违诺",
        "Broken promises",
        "不得不兑现政策承诺、拖欠企业账款（政务失信）",
        "Must not break policy promises or withhold payments owed to enterprises",
        "`Ticket.category` in {policy_fulfilment, arrears} unresolved past SLA; 问题台账 recurrence",
    ),
    (
        "N15",
        "入企扰企",
        "Disruptive visits",
        "不得未经报备或在企业安宁生产期内随意入企检查，不得以观摩、督导名义变相检查",
        'No unfiled visits or inspections, none during the quiet-production period, and no disguised inspections ("observation", "supervision")',
        "`InspectionVisit` with `filed_at` missing, or `date` in the enterprise's quiet period without an exemption reason, or an inspection of a whitelisted enterprise without a statutory reason",
    ),
    (
        "N16",
        "利益冲突",
        "Conflicts of interest",
        "不得为亲属、特定关系人在管理服务对象企业中谋利或挂名取酬",
        "Must not secure benefits or sinecures for relatives or close associates in enterprises they oversee",
        "`Declaration` relative employed by or owning an enterprise in `ManagementRelation`; undisclosed conflicts",
    ),
    (
        "E01",
        "送礼",
        "Gift giving",
        "企业不得向公职人员及其亲属赠送明显超出正常礼尚往来的礼品、礼金、消费卡",
        "Enterprises must not give officials or relatives gifts or cash clearly beyond normal reciprocity",
        "`GiftRecord(direction=given)` reported by the enterprise, or matched to an official's N01 record",
    ),
    (
        "E02",
        "买单报销",
        "Paying officials' bills",
        "企业不得为公职人员宴请、旅游、娱乐买单或报销个人费用",
        "Enterprises must not pay for officials' meals, trips or entertainment, or reimburse their costs",
        "Mirror of N02/N03/N04 with the enterprise as payer",
    ),
    (
        "E03",
        "利益输送",
        "Benefit transfers",
        "企业不得以干股、挂名薪酬、低买高卖、借款不还等方式输送利益",
        'No benefit transfers via dry shares, no-show salaries, off-market trades or unreturned "loans"',
        "`Declaration` mismatches; N05/N06/N07 counterpart records",
    ),
    (
        "E04",
        "围猎",
        '"Hunting" officials',
        '企业不得以私人会所、娱乐等方式拉拢、"围猎"公职人员',
        'Enterprises must not "hunt" officials through private clubs or entertainment',
        "Mirror of N03",
    ),
    (
        "E05",
        "对抗调查",
        "Obstructing inquiries",
        "企业不得帮助公职人员掩盖违纪违法事实、串供或提供虚假情况",
        "Enterprises must not help conceal violations, collude or give false information",
        "Case flag from the 纪检 review",
    ),
    (
        "E06",
        "诚信诉求",
        "Truthful requests",
        "企业应如实反映诉求，不得恶意、重复或虚假投诉占用资源",
        "Enterprises must report requests truthfully; no malicious, repetitive or false filings",
        "`Ticket` flagged `malicious` by review; duplicate detection",
    ),
]

# Example only: how one locality's named lists map onto the codes (position in the named list).
ALIASES = {
    "八个不准": ["N01", "N02", "N03", "N04", "N05", "N06", "N08", "N09"],
    "七项规范": ["P02", "P03", "P04", "P10", "P11", "N13", "N15"],
    "七个准许": ["P01", "P03", "P05", "P06", "P07", "P08", "P09"],
    "六要六不准": [
        "P05",
        "P06",
        "P07",
        "P01",
        "P08",
        "P09",
        "N10",
        "N11",
        "N12",
        "N14",
        "N15",
        "N16",
    ],
    "八个不得": ["E01", "E02", "E03", "E04", "E05", "E06", "N07", "N16"],
}
ALIAS_LOCALITY = "示例 (example)"

THRESHOLDS = {
    "meal_per_capita_cap": None,
    "gift_register_min": Decimal("100"),
    "gift_surrender_min": Decimal("200"),
    "gift_register_days": Decimal("30"),
    "souvenir_cap": Decimal("600"),
    "asset_borrow_max_days": Decimal("0"),
    "transfer_threshold": Decimal("2"),
    "dissatisfaction_threshold": Decimal("2"),
}


def seed(apps, schema_editor):
    Rule = apps.get_model("compliance", "Rule")
    RuleVersion = apps.get_model("compliance", "RuleVersion")
    ListAlias = apps.get_model("compliance", "ListAlias")
    Threshold = apps.get_model("compliance", "Threshold")
    rules = {}
    for code, category_zh, category_en, text_zh, text_en, signal in ITEMS:
        rule, _ = Rule.objects.get_or_create(
            code=code,
            defaults={
                "list": "positive" if code.startswith("P") else "negative",
                "party": "enterprise" if code.startswith("E") else "official",
            },
        )
        rules[code] = rule
        if not RuleVersion.objects.filter(rule=rule).exists():
            RuleVersion.objects.create(
                rule=rule,
                number=1,
                category_zh=category_zh,
                category_en=category_en,
                text_zh=text_zh,
                text_en=text_en,
                signal=signal,
            )
    for name, codes in ALIASES.items():
        for position, code in enumerate(codes, start=1):
            ListAlias.objects.get_or_create(
                locality=ALIAS_LOCALITY, name=name, position=position, rule=rules[code]
            )
    for key, value in THRESHOLDS.items():
        Threshold.objects.get_or_create(key=key, defaults={"value": value})


def unseed(apps, schema_editor):
    # Reversing keeps nothing judged by these versions: findings protect them anyway.
    apps.get_model("compliance", "ListAlias").objects.filter(locality=ALIAS_LOCALITY).delete()
    apps.get_model("compliance", "Threshold").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_lists_records_visits_reports_decisions")]

    operations = [migrations.RunPython(seed, unseed)]
