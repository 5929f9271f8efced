"""Seed the request categories of API.md (admins may add more)."""

from django.db import migrations

CATEGORIES = [
    ("labor", "用工", "Labour and employment"),
    ("finance", "融资", "Finance and credit"),
    ("land", "用地", "Land and planning"),
    ("approval", "审批", "Approvals and permits"),
    ("environment", "环保", "Environment"),
    ("policy", "政策兑现", "Policy benefits"),
    ("infrastructure", "基础设施", "Infrastructure and utilities"),
    ("legal", "法律", "Legal and disputes"),
    ("other", "其他", "Other"),
]


def seed(apps, schema_editor):
    Category = apps.get_model("officials", "Category")
    for position, (code, name_zh, name_en) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("officials", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
