"""The query every report page, export and API call reads: quarter, department, figure."""

from django import forms
from django.utils.translation import gettext_lazy as _

from officials.models import Category
from reports import figures
from reports.figures import Period

FORMATS = ("csv", "xlsx")


class ReportQuery(forms.Form):
    """year, quarter and an optional department id; nonsense is a 400, never a 500."""

    year = forms.IntegerField(
        label=_("Year"), min_value=figures.MIN_YEAR, max_value=figures.MAX_YEAR
    )
    quarter = forms.IntegerField(label=_("Quarter"), min_value=1, max_value=4)
    department = forms.IntegerField(
        label=_("Department"), required=False, min_value=1, max_value=2**63 - 1
    )

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["year"], self.cleaned_data["quarter"])


class ApiReportQuery(ReportQuery):
    format = forms.ChoiceField(
        required=False, choices=[("json", "JSON")] + [(f, f.upper()) for f in FORMATS]
    )


class FigureQuery(ReportQuery):
    """The requests behind one figure, optionally one category's or region's."""

    figure = forms.ChoiceField(choices=[(name, name) for name in figures.COUNT_NAMES])
    category = forms.SlugField(required=False, max_length=40)
    region = forms.CharField(required=False, max_length=100)

    def clean_category(self):
        code = self.cleaned_data["category"]
        if code and not Category.objects.filter(code=code).exists():
            raise forms.ValidationError(_("Unknown category."))
        return code
