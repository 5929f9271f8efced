"""Demo data of the inspectors' side: confidential reports, and cases with notes and decisions.

Runs after the demo city exists (seed_demo calls it); it goes through the services, as people
would, so the reports notify the inspectors and the decisions are final records.
"""

from django.db import transaction

from compliance.models import AccountabilityCase, CaseSource, CaseStatus, ReportKind
from inspection import confidential, services
from officials.models import Department, Enterprise, Role, User


def seed_inspection_demo(stdout) -> None:
    inspector = User.objects.filter(username="inspector1", role=Role.INSPECTOR).first()
    entrepreneur = User.objects.filter(username="ent01").first()
    if inspector is None or entrepreneur is None:
        stdout.write("No demo city: the inspectors' demo data is skipped.")
        return
    enterprise = Enterprise.objects.filter(members=entrepreneur).first()
    department = Department.objects.filter(staff__role=Role.HANDLER).order_by("pk").first()
    handler = User.objects.filter(role=Role.HANDLER, department=department).first()
    with transaction.atomic():
        # An anonymous report, a named one, and one about a department only.
        extortion = confidential.file_report(
            by=None,
            kind=ReportKind.PETTY_EXTORTION,
            text="办理施工许可时，经办人暗示需要“意思一下”才能加快审批。",
            anonymous=True,
            enterprise=enterprise,
            official_name=handler.display_name if handler else "",
            department=department,
        )
        confidential.file_report(
            by=entrepreneur,
            kind=ReportKind.BUCK_PASSING,
            text="用电增容问题在三个部门之间来回转办，一个月没有结果。",
            anonymous=False,
            enterprise=enterprise,
        )
        confidential.file_report(
            by=None,
            kind=ReportKind.ARBITRARY_CHARGES,
            text="检查时要求企业购买指定的消防器材。",
            anonymous=True,
            department=department,
        )
        # A case from the first report: taken, inquired into, decided (accountable).
        case = confidential.open_case(
            extortion.pk, by=inspector, official=handler, department=department
        )
        services.take_case(case.pk, by=inspector)
        services.add_note(case.pk, by=inspector, text="约谈企业负责人，核实了时间和经过。")
        services.add_note(case.pk, by=inspector, text="经办人承认有不当暗示，未收受财物。")
        services.decide(
            case.pk,
            by=inspector,
            outcome="accountable",
            measure="admonition",
            reasoning="存在吃拿卡要倾向，情节较轻，未造成实际损失，予以诫勉。",
        )
        # A breach case opened by the deadline sweep, if the demo has one: taken, tolerated.
        breach = AccountabilityCase.objects.filter(
            status=CaseStatus.OPEN, source=CaseSource.BREACH
        ).first()
        if breach is not None:
            services.take_case(breach.pk, by=inspector)
            services.add_note(breach.pk, by=inspector, text="调阅办理记录：逾期因企业补充材料。")
            services.decide(
                breach.pk,
                by=inspector,
                outcome="tolerated",
                reasoning="首次适用新流程，企业材料迟交，属容错情形。",
                distinction_reform="改革中缺乏经验，并非明知故犯。",
                distinction_trial="新流程试行，上级无明令禁止。",
                distinction_development="为加快项目落地，未谋取私利。",
            )
    stdout.write("Inspectors' demo: 3 confidential reports, cases with notes and decisions.")
