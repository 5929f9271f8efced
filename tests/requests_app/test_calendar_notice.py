"""Reading the State Council's holiday notice as an administrator pastes it."""

import datetime as dt

import chinese_calendar
import pytest
from django.utils import translation

from requests_app.calendar_notice import NoticeDay, NoticeError, parse_notice


@pytest.fixture(autouse=True)
def english():
    # The problems are words for the person who pasted the notice, in their language.
    with translation.override("en"):
        yield


# The notice for 2026 as published (国办发明电〔2025〕7号), with its title, greeting and signature.
NOTICE_2026 = """国务院办公厅关于2026年部分节假日安排的通知
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2026年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫、疫情防控等工作。
国务院办公厅
2025年11月4日
"""


def _exceptions(days: list[NoticeDay]) -> tuple[set[dt.date], set[dt.date]]:
    """Weekdays off and weekend days worked: what differs from Monday–Friday."""
    off = {d.date for d in days if not d.working and d.date.weekday() < 5}
    worked = {d.date for d in days if d.working and d.date.weekday() >= 5}
    return off, worked


def test_the_2026_notice_gives_the_official_2026_calendar():
    """The same exceptions as the calendar the chinesecalendar package ships for 2026."""
    off, worked = _exceptions(parse_notice(NOTICE_2026, 2026))
    expected_off = {d for d in chinese_calendar.holidays if d.year == 2026 and d.weekday() < 5}
    expected_worked = {d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() >= 5}
    assert (off, worked) == (expected_off, expected_worked)
    assert len(off) == 19 and len(worked) == 6


def test_days_carry_the_holiday_they_belong_to():
    days = {d.date: d for d in parse_notice(NOTICE_2026, 2026)}
    assert days[dt.date(2026, 1, 1)] == NoticeDay(dt.date(2026, 1, 1), False, "元旦")
    assert days[dt.date(2026, 2, 14)] == NoticeDay(dt.date(2026, 2, 14), True, "春节")
    assert days[dt.date(2026, 10, 10)].name == "国庆节"
    # The weekend days inside a holiday are days off too (the range is the holiday).
    assert days[dt.date(2026, 1, 3)].working is False


def test_the_issues_example_line_for_2027():
    """元旦 2027: Friday 1 January to Sunday 3 January; a make-up Saturday in February."""
    text = "元旦：1月1日（周五）至3日（周日）放假调休，共3天。\n春节：……2月14日（周日）上班。"
    days = parse_notice(text, 2027)
    assert [(d.date, d.working) for d in days] == [
        (dt.date(2027, 1, 1), False),
        (dt.date(2027, 1, 2), False),
        (dt.date(2027, 1, 3), False),
        (dt.date(2027, 2, 14), True),
    ]


def test_a_make_up_line_of_its_own_belongs_to_the_holiday_above():
    text = "二、春节：2月15日（周日）至23日（周一）放假调休，共9天。\n2月14日（周六）上班。"
    days = parse_notice(text, 2026)
    assert days[0] == NoticeDay(dt.date(2026, 2, 14), True, "春节")


def test_single_days_and_lists_of_days():
    text = "元旦：1月1日（周四）放假1天，不调休。\n国庆节：9月20日（周日）、10月10日（周六）上班。"
    days = parse_notice(text, 2026)
    assert [(d.date.isoformat(), d.working) for d in days] == [
        ("2026-01-01", False),
        ("2026-09-20", True),
        ("2026-10-10", True),
    ]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        # The notice of another year pasted: its weekdays do not match this year's dates.
        ("一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。", 1, "is a 周四"),
        ("title\n一、元旦：1月1日（周四）至3日（周六）放假调休，共4天。", 2, "共4天"),
        ("元旦：2025年12月31日（周三）放假。", 1, "not in 2026"),
        ("元旦：2月30日放假。", 1, "does not exist"),
        ("元旦：1月1日（周四）至3日（周六）放假。1月2日（周五）上班。", 1, "both a day off"),
        ("国庆节：10月10日（周六），上班的安排另行通知。9月20日（周日）。上班", 1, "without"),
        ("no schedule here", 1, "no line says"),
        ("元旦：1月1日至3月5日放假。", 1, "longer than a month"),
    ],
)
def test_what_cannot_be_read_names_the_line(text, line, problem):
    with pytest.raises(NoticeError) as raised:
        parse_notice(text, 2026)
    assert raised.value.line == line
    assert problem in str(raised.value)


def test_the_problem_is_told_in_the_readers_language():
    with translation.override("zh-hans"), pytest.raises(NoticeError) as raised:
        parse_notice("title\n一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。", 2026)
    assert str(raised.value).startswith("第 2 行：2026-01-01 是周四，通知写的是周五")


def test_a_range_into_the_next_year_is_outside_the_year():
    with pytest.raises(NoticeError, match="2027-01-01 is not in 2026"):
        parse_notice("元旦：12月31日（周四）至1月2日（周六）放假调休，共3天。", 2026)
