"""An accountability case's cause as a code and its values, so each reader reads it in their own
language; the cases opened before are given theirs from what they stored."""

import re

from django.db import migrations, models

from core import bilingual

_COUNT = re.compile(r"\d+")
_PERIOD = re.compile(r"\d{4}-Q[1-4]")


def _breach(case) -> dict | None:
    # Stored as f"{reference}: {rule name}", the name "中文 / English" before rules had two.
    reference, separator, rule = case.cause.partition(": ")
    if not separator:
        return None
    pair = bilingual.split(rule)
    chinese, english = pair if pair is not None else (rule, "")
    return {"reference": reference, "rule": chinese, "rule_en": english}


def _flags(case) -> dict | None:
    count, period = _COUNT.search(case.cause), _PERIOD.search(case.cause)
    if count is None or period is None:
        return None
    return {"count": int(count.group()), "period": period.group()}


def give_codes(apps, schema_editor):
    case_model = apps.get_model("compliance", "AccountabilityCase")
    cases = (
        case_model.objects.filter(cause_code="")
        .select_related("finding", "report")
        .order_by("pk")
    )
    changed = []
    for case in cases.iterator(chunk_size=2000):
        code, params = "", None
        if case.source == "breach":
            code, params = "breach", _breach(case)
        elif case.source == "finding" and case.finding is not None:
            code = "finding"
            params = {
                "rule": case.finding.rule_code,
                "message_id": case.finding.message_id,
                "params": case.finding.params or {},
            }
        elif case.source == "report" and case.report is not None:
            code, params = "report", {"number": case.report.pk, "kind": case.report.kind}
        elif case.source == "flag":
            code, params = "flags", _flags(case)
        if params is None:
            continue  # not in a known shape: the page shows its stored cause
        case.cause_code, case.cause_params = code, params
        changed.append(case)
        if len(changed) >= 2000:
            case_model.objects.bulk_update(changed, ["cause_code", "cause_params"])
            changed = []
    case_model.objects.bulk_update(changed, ["cause_code", "cause_params"])


class Migration(migrations.Migration):
    dependencies = [("compliance", "0008_receipt_digest")]

    operations = [
        migrations.AddField(
            model_name="accountabilitycase",
            name="cause_code",
            field=models.CharField(
                blank=True, default="", max_length=20, verbose_name="cause code"
            ),
        ),
        migrations.AddField(
            model_name="accountabilitycase",
            name="cause_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="cause values"),
        ),
        # Backwards the fields are dropped; the stored cause was never changed.
        migrations.RunPython(give_codes, migrations.RunPython.noop),
    ]
