"""The default escalation ladder of the "133" rule; admins edit it afterwards."""

from decimal import Decimal

from django.db import migrations

LADDER = [
    (
        "交办时限过75%，提醒服务企业专员 / Remind the liaison at 75% of the assign clock",
        "assign",
        "fraction",
        Decimal("0.750"),
        None,
        "remind",
        ["liaison"],
    ),
    (
        "交办超期，提级挂包领导督办 / Escalate to the linked leader when the assign clock breaches",
        "assign",
        "breach",
        None,
        None,
        "escalate",
        ["leader", "liaison"],
    ),
    (
        "答复时限过2/3，催办承办人 / Remind the handler at 2/3 of the answer clock",
        "answer",
        "fraction",
        Decimal("0.667"),
        None,
        "remind",
        ["assignee", "liaison"],
    ),
    (
        "答复超期，启动追责问责 / Accountability case when the answer clock breaches",
        "answer",
        "breach",
        None,
        None,
        "accountability",
        ["inspectors", "leader"],
    ),
    (
        "延期到期未反馈，启动追责问责 / Accountability case when an approved extension passes without feedback",
        "extension",
        "breach",
        None,
        None,
        "accountability",
        ["inspectors", "leader"],
    ),
]


def seed(apps, schema_editor):
    EscalationRule = apps.get_model("requests_app", "EscalationRule")
    for name, clock, trigger, fraction, days_after, action, recipients in LADDER:
        EscalationRule.objects.get_or_create(
            name=name,
            defaults={
                "clock": clock,
                "trigger": trigger,
                "fraction": fraction,
                "days_after": days_after,
                "action": action,
                "recipients": recipients,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0003_escalation")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
