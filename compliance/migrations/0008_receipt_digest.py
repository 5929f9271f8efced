"""Receipts stored as a keyed digest only: each existing receipt is hashed, then dropped."""

from django.db import migrations, models

from compliance import receipts


def hash_receipts(apps, schema_editor):
    # The receipts as stored are the receipts as issued (the current format grouped, an old one
    # exactly): their digests are what a look-up computes from any way of typing them.
    report_model = apps.get_model("compliance", "ConfidentialReport")
    reports = report_model.objects.only("pk", "receipt").order_by("pk")
    for report in reports.iterator(chunk_size=1000):
        report_model.objects.filter(pk=report.pk).update(
            receipt_digest=receipts.digest(report.receipt),
            receipt_hint=receipts.hint(report.receipt),
        )


class Migration(migrations.Migration):
    # A digest cannot give the receipt back: going back works on a table without reports only
    # (the re-added unique column cannot take one default for many rows), e.g. in tests.

    dependencies = [
        ("compliance", "0007_alter_casedecision_measure_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="confidentialreport",
            name="receipt_digest",
            field=models.CharField(
                editable=False, max_length=64, null=True, verbose_name="receipt digest"
            ),
        ),
        migrations.AddField(
            model_name="confidentialreport",
            name="receipt_hint",
            field=models.CharField(
                blank=True, editable=False, max_length=8, verbose_name="receipt hint"
            ),
        ),
        migrations.RunPython(hash_receipts, migrations.RunPython.noop),
        migrations.RemoveField(model_name="confidentialreport", name="receipt"),
        migrations.AlterField(
            model_name="confidentialreport",
            name="receipt_digest",
            field=models.CharField(
                editable=False, max_length=64, unique=True, verbose_name="receipt digest"
            ),
        ),
    ]
