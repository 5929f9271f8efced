"""Escalation rules get an English name: a "中文 / English" name (the default ladder's, 0004)
becomes its Chinese half in `name` and its English half in `name_en`."""

from django.db import migrations, models

from core import bilingual


def split_names(apps, schema_editor):
    rule_model = apps.get_model("requests_app", "EscalationRule")
    for rule in rule_model.objects.filter(name__contains=bilingual.SEPARATOR):
        pair = bilingual.split(rule.name)
        if pair is not None:
            # update(): the model's save() (which restarts the sweep's stages) is not needed.
            rule_model.objects.filter(pk=rule.pk).update(name=pair[0], name_en=pair[1])


def join_names(apps, schema_editor):
    rule_model = apps.get_model("requests_app", "EscalationRule")
    for rule in rule_model.objects.exclude(name_en=""):
        joined = f"{rule.name}{bilingual.SEPARATOR}{rule.name_en}"[:150]
        rule_model.objects.filter(pk=rule.pk).update(name=joined)


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0018_alter_escalationrule_action")]

    operations = [
        migrations.AddField(
            model_name="escalationrule",
            name="name_en",
            field=models.CharField(
                blank=True, default="", max_length=150, verbose_name="English name"
            ),
        ),
        migrations.AlterField(
            model_name="escalationrule",
            name="name",
            field=models.CharField(max_length=150, verbose_name="Chinese name"),
        ),
        migrations.RunPython(split_names, join_names),
    ]
