"""The demo city: places, people and requests, for `manage.py seed_demo`.

Requests are driven through the real workflow with replayed timestamps, so every timeline is a
genuine hash chain and every clock is computed the way production computes it.
"""

import datetime as dt
import random

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from officials.credit_code import ALPHABET, check_character
from officials.models import (
    Category,
    Department,
    Enterprise,
    EnterpriseLink,
    EnterpriseMember,
    LinkKind,
    Role,
    User,
)
from requests_app import workflow

DEMO_PASSWORD = "qinqing-demo"

# (name, region, category codes); children of the city government unless a county is named.
CITY = ("榕城市人民政府", "榕城市", "Rongcheng Municipal Government")
COUNTIES = [
    ("鼓楼区人民政府", "鼓楼区", "Gulou District Government"),
    ("仓山区人民政府", "仓山区", "Cangshan District Government"),
]
# Each region's and sub-district's name in English (the departments' English names use them).
PLACES_EN = {
    "鼓楼区": "Gulou District",
    "仓山区": "Cangshan District",
    "东街街道": "Dongjie Sub-district",
    "温泉街道": "Wenquan Sub-district",
    "仓前街道": "Cangqian Sub-district",
}
# Sub-district offices (街道办事处) under each district: the third level of the region tree.
TOWNS = {"鼓楼区": ["东街街道", "温泉街道"], "仓山区": ["仓前街道"]}
CITY_BUREAUS = [
    ("市人力资源和社会保障局", "Municipal Human Resources and Social Security Bureau", ["labor"]),
    ("市地方金融管理局", "Municipal Local Financial Regulatory Bureau", ["finance"]),
    ("市自然资源和规划局", "Municipal Natural Resources and Planning Bureau", ["land"]),
    ("市行政审批局", "Municipal Administrative Approval Bureau", ["approval"]),
    ("市生态环境局", "Municipal Ecology and Environment Bureau", ["environment"]),
    ("市发展和改革委员会", "Municipal Development and Reform Commission", ["policy", "other"]),
    (
        "市住房和城乡建设局",
        "Municipal Housing and Urban-Rural Development Bureau",
        ["infrastructure"],
    ),
    ("市司法局", "Municipal Justice Bureau", ["legal"]),
]
COUNTY_BUREAUS = [
    ("人社局", "Human Resources and Social Security Bureau", ["labor"]),
    ("市场监管局", "Market Regulation Bureau", ["approval", "policy"]),
]

INDUSTRIES = [
    "制造业",
    "软件和信息技术",
    "批发零售",
    "建筑业",
    "食品加工",
    "物流",
    "医药",
    "新能源",
]
NAME_PARTS = [
    "闽江",
    "海峡",
    "榕树",
    "鼓山",
    "三坊",
    "七巷",
    "金山",
    "乌龙",
    "东街",
    "西湖",
    "台江",
    "马尾",
    "琅岐",
    "旗山",
    "五四",
    "温泉",
    "罗源",
    "连江",
    "长乐",
    "永泰",
]
NAME_SUFFIX = [
    "科技有限公司",
    "食品有限公司",
    "机械制造有限公司",
    "物流有限公司",
    "新材料股份有限公司",
]

TITLES = {
    "labor": [
        "新招员工社保登记办理缓慢",
        "急需技能工人，申请用工对接",
        "稳岗补贴申领材料被多次退回",
    ],
    "finance": [
        "申请中小企业贴息贷款无进展",
        "应收账款质押融资渠道咨询",
        "银行抽贷导致资金周转困难",
    ],
    "land": ["厂房扩建用地指标迟迟未批", "土地证办理卡在测绘环节", "园区用地规划调整咨询"],
    "approval": [
        "环评批复后施工许可仍未下发",
        "食品经营许可证续期材料要求不一致",
        "项目审批多头跑",
    ],
    "environment": ["排污许可证变更办理", "园区污水管网接入问题", "环保检查频次过高影响生产"],
    "policy": [
        "去年承诺的技改奖励资金尚未兑现",
        "高新技术企业奖励申报无人受理",
        "招商协议优惠未落实",
    ],
    "infrastructure": [
        "园区道路破损影响货车通行",
        "厂区供电容量不足申请增容",
        "天然气管道接入排期过长",
    ],
    "legal": ["合同纠纷寻求法律援助", "知识产权被侵权维权咨询", "政府工程款拖欠问题"],
    "other": ["企业周边治安问题", "员工子女入学咨询", "厂区门口公交站点设置建议"],
}


def credit_code(rng: random.Random, region_code: str) -> str:
    body = "91" + region_code + "".join(rng.choice(ALPHABET) for _ in range(9))
    body = body.replace("I", "1")[:17]
    return body + check_character(body)


class Demo:
    def __init__(self, rng: random.Random, out):
        self.rng = rng
        self.out = out
        self.now = timezone.now()
        self.bureaus: dict[str, Department] = {}
        self.handlers: dict[int, list[User]] = {}
        self.enterprises: list[Enterprise] = []
        self.entrepreneurs: dict[int, User] = {}
        self.liaisons: list[User] = []
        self.led: set[int] = set()  # the enterprises the linked leader (挂包领导) answers for

    def build_places(self):
        city = Department.objects.create(name=CITY[0], name_en=CITY[2], region=CITY[1])
        for name, name_en, codes in CITY_BUREAUS:
            department = Department.objects.create(name=name, name_en=name_en, parent=city)
            department.categories.set(Category.objects.filter(code__in=codes))
            for code in codes:
                self.bureaus.setdefault(code, department)
        # Enterprise regions are the tree's (city → district → sub-district), chosen, never typed.
        regions = [CITY[1]]
        for county_name, region, county_en in COUNTIES:
            county = Department.objects.create(
                name=county_name, name_en=county_en, parent=city, region=region
            )
            regions.append(region)
            for suffix, suffix_en, codes in COUNTY_BUREAUS:
                department = Department.objects.create(
                    name=region + suffix, name_en=f"{PLACES_EN[region]} {suffix_en}", parent=county
                )
                department.categories.set(Category.objects.filter(code__in=codes))
            for town in TOWNS[region]:
                Department.objects.create(
                    name=town + "办事处",
                    name_en=f"{PLACES_EN[town]} Office",
                    parent=county,
                    region=town,
                )
                regions.append(town)
        used = set()
        for index in range(40):
            name = self._enterprise_name(index, used)
            self.enterprises.append(
                Enterprise.objects.create(
                    name=name,
                    credit_code=credit_code(self.rng, "350100"),
                    region=regions[index % len(regions)],
                    industry=self.rng.choice(INDUSTRIES),
                    whitelisted=index % 7 == 0,
                    quiet_days=[3] if index % 5 == 0 else [],
                )
            )

    def _enterprise_name(self, index: int, used: set) -> str:
        while True:
            name = "榕城" + self.rng.choice(NAME_PARTS) + self.rng.choice(NAME_SUFFIX)
            if name not in used:
                used.add(name)
                return name

    def _user(self, username: str, role: str, name: str, **extra) -> User:
        # Hash the shared demo password once: PBKDF2 per user would dominate the seed's run time.
        if not hasattr(self, "_password_hash"):
            self._password_hash = make_password(DEMO_PASSWORD)
        return User.objects.create(
            username=username,
            password=self._password_hash,
            role=role,
            name=name,
            email=f"{username}@demo.qinqing.local",
            **extra,
        )

    def build_people(self):
        self.admin = self._user("admin", Role.ADMIN, "系统管理员", is_staff=True, is_superuser=True)
        self.liaisons = [
            self._user(
                "liaison1", Role.LIAISON, "林专员", title="服务企业专员", phone="0591-87110001"
            ),
            self._user(
                "liaison2", Role.LIAISON, "陈专员", title="驻企特派员", phone="0591-87110002"
            ),
        ]
        leader = self._user("leader1", Role.LEADER, "王副市长", title="挂包领导")
        self._user("inspector1", Role.INSPECTOR, "纪检监察员 张", title="市纪委监委")
        gulou = Department.objects.get(region="鼓楼区", parent__parent__isnull=True)
        self._user("inspector_gulou", Role.INSPECTOR, "纪检监察员 黄", department=gulou)
        # District liaisons, linked to nothing: a request of their district (or of a
        # sub-district below it) passes to them when its linked liaison recuses (回避).
        for username, name, region in (
            ("liaison_gulou", "郑专员", "鼓楼区"),
            ("liaison_cangshan", "吴专员", "仓山区"),
        ):
            district = Department.objects.get(region=region, parent__parent__isnull=True)
            self._user(username, Role.LIAISON, name, department=district, title="服务企业专员")
        for code, department in self.bureaus.items():
            if department.pk in self.handlers:
                continue
            self.handlers[department.pk] = [
                self._user(
                    f"handler_{code}",
                    Role.HANDLER,
                    f"{department.name}经办人",
                    department=department,
                    title="科员",
                    phone="0591-8700" + str(department.pk).zfill(4),
                ),
            ]
        start = self.now.date() - dt.timedelta(days=400)
        for index, enterprise in enumerate(self.enterprises):
            user = self._user(f"ent{index + 1:02d}", Role.ENTREPRENEUR, f"{enterprise.name[2:4]}总")
            EnterpriseMember.objects.create(user=user, enterprise=enterprise)
            self.entrepreneurs[enterprise.pk] = user
            liaison = self.liaisons[0 if index < 20 else 1]
            EnterpriseLink.objects.create(
                official=liaison, enterprise=enterprise, kind=LinkKind.LIAISON, start=start
            )
            if index < 20:
                EnterpriseLink.objects.create(
                    official=leader, enterprise=enterprise, kind=LinkKind.LEADER, start=start
                )
                self.led.add(enterprise.pk)
        self.leader = leader

    # --- requests ----------------------------------------------------------------------------

    # Final states and how often they occur; "overdue_*" leave a clock breached.
    PLAN = [
        ("closed", 40),
        ("submitted", 6),
        ("overdue_submitted", 4),
        ("assigned", 8),
        ("rectifying", 10),
        ("overdue_rectifying", 6),
        ("info_needed", 5),
        ("feedback", 7),
        ("reopened", 4),
        ("extension_pending", 3),
        ("extension_approved", 3),
        ("rejected", 2),
        ("merged", 1),
        ("withdrawn", 1),
    ]

    def build_requests(self, total: int) -> int:
        weights = [weight for _, weight in self.PLAN]
        kinds = [kind for kind, _ in self.PLAN]
        made = 0
        for number in range(total):
            kind = self.rng.choices(kinds, weights)[0]
            with transaction.atomic():
                self._one_request(number, kind)
            made += 1
        return made

    def _one_request(self, number: int, kind: str):
        rng = self.rng
        enterprise = rng.choice(self.enterprises)
        code = rng.choice(list(TITLES))
        category = Category.objects.get(code=code)
        entrepreneur = self.entrepreneurs[enterprise.pk]
        department = self.bureaus[code]
        handler = self.handlers[department.pk][0]
        liaison = self.liaisons[0 if self.enterprises.index(enterprise) < 20 else 1]
        recent = kind in (
            "submitted",
            "assigned",
            "rectifying",
            "info_needed",
            "feedback",
            "extension_pending",
        )
        age_hours = rng.uniform(2, 20) if recent else rng.uniform(24 * 6, 24 * 120)
        if kind in ("overdue_submitted", "overdue_rectifying"):
            age_hours = rng.uniform(24 * 4, 24 * 12)
        t = self.now - dt.timedelta(hours=age_hours)
        title = rng.choice(TITLES[code])
        request = workflow.submit_request(
            by=entrepreneur,
            enterprise=enterprise,
            category=category,
            title=title,
            description=f"{title}。企业已多次沟通，希望相关部门尽快协调解决。"
            f"（演示数据 #{number + 1}）",
            now=t,
        )
        steps = self._steps(kind, request, department, handler, liaison, entrepreneur)
        span = (self.now - t) * 0.9
        for index, (action, actor, payload) in enumerate(steps, start=1):
            moment = t + span * index / (len(steps) + 1)
            if callable(payload):
                payload = payload(moment)
            workflow.transition(request.pk, action, by=actor, now=moment, **payload)

    def _steps(self, kind, request, department, handler, liaison, entrepreneur):
        assign = (
            "assign",
            liaison,
            {"department": department, "handler": handler, "note": "请按“133”机制限时办理。"},
        )
        start = ("start", handler, {})
        feedback = (
            "feedback",
            handler,
            {"message": "已会同相关科室现场核实并办理完毕，详见回复。"},
        )
        accept = (
            "review",
            entrepreneur,
            {"accepted": True, "rating": self.rng.choice([4, 5, 5, 3])},
        )
        reject = (
            "review",
            entrepreneur,
            {"accepted": False, "comment": "问题没有真正解决，请重新办理。"},
        )
        ask = ("request_info", handler, {"question": "请补充营业执照副本和相关合同扫描件。"})
        # The enterprise's linked leader decides an extension; with none, an administrator.
        approver = self.leader if request.enterprise_id in self.led else self.admin
        answer = ("provide_info", entrepreneur, {"answer": "已上传补充材料，请查收。"})

        def extend(moment):
            return {
                "until": moment + dt.timedelta(days=30),
                "plan": "第一周完成现场勘查，第三周完成方案论证，月底前办结。",
            }

        plans = {
            "closed": [assign, start, feedback, accept],
            "submitted": [],
            "overdue_submitted": [],
            "assigned": [assign],
            "rectifying": [assign, start],
            "overdue_rectifying": [assign, start],
            "info_needed": [assign, start, ask],
            "feedback": [assign, start, ask, answer, feedback],
            "reopened": [assign, start, feedback, reject],
            "extension_pending": [assign, start, ("extend", handler, extend)],
            "extension_approved": [
                assign,
                start,
                ("extend", handler, extend),
                ("approve_extension", approver, {"note": "同意，挂账督办。"}),
            ],
            "rejected": [
                (
                    "reject",
                    liaison,
                    {"reason": "属于司法诉讼范围，不予受理，已告知企业通过法律途径解决。"},
                )
            ],
            "withdrawn": [("withdraw", entrepreneur, {"reason": "问题已自行解决。"})],
            "merged": [
                (
                    "merge",
                    liaison,
                    {
                        "into": self._merge_target(request, liaison),
                        "note": "与企业此前提交的诉求重复。",
                    },
                )
            ],
        }
        steps = plans[kind]
        if kind == "merged" and steps[0][2]["into"] is None:
            return []
        return steps

    def _merge_target(self, request, liaison):
        from requests_app.selectors import requests_visible_to

        return (
            requests_visible_to(liaison)
            .filter(status__in=["submitted", "assigned"])
            # A duplicate of one filed before it ("此前提交"): the merge is then dated after the
            # target's own events, as a real one is (the timeline refuses backdated events).
            .filter(submitted_at__lt=request.submitted_at)
            .exclude(pk=request.pk)
            .order_by("submitted_at")
            .first()
        )
