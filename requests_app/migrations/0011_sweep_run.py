"""When the deadline sweep last finished: one row every process shares, for /health/."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('requests_app', '0010_leaner_timeline'),
    ]

    operations = [
        migrations.CreateModel(
            name='SweepRun',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('finished_at', models.DateTimeField(verbose_name='finished')),
            ],
            options={
                'verbose_name': 'sweep run',
                'verbose_name_plural': 'sweep runs',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='sweep_run_singleton')],
            },
        ),
    ]
