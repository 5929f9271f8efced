"""GET /api/v1/reports/quarterly/: figures as JSON, CSV and XLSX; scoping; bad input is a 400."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.reports.test_figures import CITY

URL = "/api/v1/reports/quarterly/"
Q3 = {"year": 2026, "quarter": 3}


def test_the_contract_fields(cast, quarter, api):
    response = api(cast.ada).get(URL, Q3)
    assert response.status_code == 200
    data = response.json()
    for key in (
        "period",
        "received",
        "closed",
        "resolution_rate",
        "assign_on_time_rate",
        "answer_on_time_rate",
        "satisfaction",
        "reopen_rate",
        "overdue",
        "accountability_cases",
        "by_department",
        "by_category",
        "recurring",
        "flags",
    ):
        assert key in data
    assert {key: data[key] for key in CITY} == CITY
    assert set(data["flags"]) >= {"red", "yellow"}
    assert all(set(row["department"]) == {"id", "name"} for row in data["by_department"])
    assert all(isinstance(row["category"], str) for row in data["by_category"])
    for row in [data, *data["by_department"], *data["by_category"]]:
        for name in (
            "resolution_rate",
            "assign_on_time_rate",
            "answer_on_time_rate",
            "satisfaction",
            "satisfaction_follow_up",
            "reopen_rate",
        ):
            assert row[name] is None or 0 <= row[name] <= 1


def test_a_department_in_scope(cast, quarter, api):
    data = api(cast.ada).get(URL, {**Q3, "department": cast.roads.pk}).json()
    assert (data["received"], data["closed"]) == (2, 2)


@pytest.mark.parametrize(
    ("who", "department"),
    [
        ("hank", "environment"),  # a handler: their own department only
        ("irene", "roads"),  # an inspector of Minhou: Gulou's bureau is outside
        ("lars", "roads"),
    ],
)
def test_a_department_outside_scope_is_404(cast, quarter, api, who, department):
    response = api(cast[who]).get(URL, {**Q3, "department": cast[department].pk})
    assert response.status_code == 404


def test_a_missing_department_is_404(cast, quarter, api):
    assert api(cast.ada).get(URL, {**Q3, "department": 987654}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"year": 2026},
        {"quarter": 3},
        {"year": "abc", "quarter": 3},
        {"year": 2026, "quarter": 5},
        {"year": 2026, "quarter": 0},
        {"year": 2026, "quarter": "Q3"},
        {"year": -1, "quarter": 1},
        {"year": 99999999999999999999, "quarter": 1},
        {"year": 2026, "quarter": 3, "department": "roads"},
        {"year": 2026, "quarter": 3, "department": 0},
        {"year": 2026, "quarter": 3, "department": 10**30},
        {"year": 2026, "quarter": 3, "department": "1\x00"},
        {"year": 2026, "quarter": 3, "format": "pdf"},
        {"year": 2026, "quarter": 3, "format": "exe"},
    ],
)
def test_bad_input_is_400(cast, quarter, api, params):
    response = api(cast.ada).get(URL, params)
    assert response.status_code == 400
    assert isinstance(response.json(), dict)


def test_anonymous_is_401_and_an_entrepreneur_403(cast, quarter, api):
    assert api(None).get(URL, Q3).status_code == 401
    assert api(cast.alice).get(URL, Q3).status_code == 403


def test_leader_counts_only_linked_enterprises(cast, quarter, api):
    data = api(cast.leona).get(URL, Q3).json()
    assert data["received"] == 5
    assert "minhou" not in {row["region"] for row in data["by_region"]}


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _by_name(rows: list[list]) -> dict:
    header = rows[0]
    return {(row[0], row[1]): dict(zip(header, row, strict=False)) for row in rows[1:]}


@pytest.mark.parametrize("who", ["ada", "leona"])
def test_csv_and_xlsx_hold_the_numbers_of_the_json(cast, quarter, api, who):
    client = api(cast[who])
    data = client.get(URL, Q3).json()
    csv_response = client.get(URL, {**Q3, "format": "csv"})
    xlsx_response = client.get(URL, {**Q3, "format": "xlsx"})
    assert csv_response.status_code == xlsx_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in xlsx_response["Content-Disposition"]
    from reports.exports import percent, report_columns
    from reports.figures import RATES

    columns = report_columns()
    csv_rows, xlsx_rows = _csv_rows(csv_response.content), _xlsx_rows(xlsx_response.content)
    total_csv, total_xlsx = csv_rows[1], xlsx_rows[1]
    for position, (key, _label) in enumerate(columns, start=2):
        expected = data[key]
        assert total_xlsx[position] == expected
        # Rates as the dashboard shows them ("36.2%"); the workbook keeps the number.
        shown = percent(expected) if key in RATES else str(expected)
        assert total_csv[position] == ("" if expected is None else shown)
    departments = [
        row
        for row in xlsx_rows[1:]
        if row[1] in {d["department"]["name"] for d in data["by_department"]}
    ]
    assert len(departments) == len(data["by_department"])
    for item in data["by_department"]:
        row = next(r for r in departments if r[1] == item["department"]["name"])
        assert row[2] == item["received"]
