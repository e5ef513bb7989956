"""The working-day calendar: bundled State Council schedules, arithmetic, and file validation."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from hub.catalog.workdays import (
    UnknownCalendarYear,
    WorkingCalendar,
    YearSchedule,
    bundled_years,
    load_year_file,
)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.bundled()


def test_bundled_years_cover_2023_to_2026(calendar: WorkingCalendar) -> None:
    assert calendar.known_years == (2023, 2024, 2025, 2026)
    assert [s.year for s in bundled_years()] == [2023, 2024, 2025, 2026]
    assert "2024年部分节假日安排" in calendar.schedule(2024).source


def test_national_day_2024(calendar: WorkingCalendar) -> None:
    for day in range(1, 8):
        assert not calendar.is_working_day(date(2024, 10, day)), day
    # Make-up working days (调休) on a Sunday and a Saturday.
    assert calendar.is_working_day(date(2024, 9, 29))
    assert calendar.is_working_day(date(2024, 10, 12))
    # Plain weekend and plain weekday around it.
    assert not calendar.is_working_day(date(2024, 9, 28))
    assert calendar.is_working_day(date(2024, 10, 8))


def test_seven_working_days_across_national_day_2024(calendar: WorkingCalendar) -> None:
    # Fri 27 Sep: Sun 29 (1), Mon 30 (2), 1–7 Oct off, 8–11 Oct (3–6), Sat 12 Oct (7).
    assert calendar.add_working_days(date(2024, 9, 27), 7) == date(2024, 10, 12)
    assert calendar.deadline(date(2024, 9, 27), 7) == date(2024, 10, 12)
    assert calendar.add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)


def test_spring_festival_2025(calendar: WorkingCalendar) -> None:
    for offset in range(8):  # 28 Jan – 4 Feb 2025
        assert not calendar.is_working_day(date(2025, 1, 28) + timedelta(days=offset))
    assert calendar.is_working_day(date(2025, 1, 26))  # Sunday, make-up day
    assert calendar.is_working_day(date(2025, 2, 8))  # Saturday, make-up day
    assert not calendar.is_working_day(date(2025, 2, 9))  # plain Sunday
    # Fri 24 Jan: Sun 26 (1), Mon 27 (2), 5–7 Feb (3–5), Sat 8 Feb (6), Mon 10 Feb (7).
    assert calendar.add_working_days(date(2025, 1, 24), 7) == date(2025, 2, 10)


def test_new_year_2026_crosses_year_boundary(calendar: WorkingCalendar) -> None:
    # 1–3 Jan 2026 are days off and Sunday 4 Jan is a make-up working day.
    assert calendar.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert calendar.working_days_between(date(2025, 12, 31), date(2026, 1, 5)) == 2


def test_zero_days_is_the_start(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2024, 10, 3), 0) == date(2024, 10, 3)


def test_negative_days_rejected(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        calendar.add_working_days(date(2024, 10, 3), -1)


def test_working_days_between(calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(date(2024, 9, 27), date(2024, 10, 12)) == 7
    assert calendar.working_days_between(date(2024, 9, 30), date(2024, 10, 7)) == 0
    assert calendar.working_days_between(date(2024, 10, 8), date(2024, 10, 8)) == 0
    with pytest.raises(ValueError, match="before start"):
        calendar.working_days_between(date(2024, 10, 8), date(2024, 10, 7))


def test_between_inverts_add(calendar: WorkingCalendar) -> None:
    day = date(2024, 1, 1)
    while day.year == 2024:
        for n in (1, 3, 7, 10):
            assert calendar.working_days_between(day, calendar.add_working_days(day, n)) == n
        day += timedelta(days=1)


def test_unknown_year_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(UnknownCalendarYear) as info:
        calendar.is_working_day(date(2027, 1, 4))
    assert info.value.year == 2027
    assert "no schedule for 2027" in str(info.value)
    assert "credit office must load it" in str(info.value)
    with pytest.raises(UnknownCalendarYear) as info:
        calendar.add_working_days(date(2026, 12, 31), 1)  # Thursday; the answer lies in 2027
    assert info.value.year == 2027
    with pytest.raises(UnknownCalendarYear):
        calendar.working_days_between(date(2026, 12, 1), date(2027, 1, 5))
    with pytest.raises(UnknownCalendarYear) as info:
        calendar.add_working_days(date(2022, 12, 30), 0)
    assert info.value.year == 2022


def test_gap_between_loaded_years_is_refused() -> None:
    by_year = {s.year: s for s in bundled_years()}
    calendar = WorkingCalendar([by_year[2023], by_year[2025]])
    assert calendar.add_working_days(date(2023, 12, 26), 3) == date(2023, 12, 29)
    with pytest.raises(UnknownCalendarYear) as info:
        calendar.add_working_days(date(2023, 12, 28), 3)
    assert info.value.year == 2024


def test_duplicate_year_rejected() -> None:
    schedule = YearSchedule(2030, frozenset(), frozenset(), "test")
    with pytest.raises(ValueError, match="two schedules for 2030"):
        WorkingCalendar([schedule, schedule])


def test_bundled_data_matches_chinese_calendar(calendar: WorkingCalendar) -> None:
    # The YAML was generated once from chinesecalendar; guard against hand edits drifting from it.
    chinese_calendar = pytest.importorskip("chinese_calendar")
    day = date(2023, 1, 1)
    while day.year <= 2026:
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_valid_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "2027.yaml",
        'year: 2027\nsource: "test"\nholidays: ["2027-01-01", 2027-10-01]\nworkdays: ["2027-09-26"]\n',
    )
    schedule = load_year_file(path)
    assert schedule == YearSchedule(
        2027, frozenset({date(2027, 1, 1), date(2027, 10, 1)}), frozenset({date(2027, 9, 26)}), "test"
    )
    # Loading the schedule is what makes the year computable.
    calendar = WorkingCalendar([*bundled_years(), schedule])
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'year: 2027\nsource: "t"\nholidays: ["2026-12-31"]\n',
            "2027.yaml: holidays date 2026-12-31 is not in the year 2027",
        ),
        (
            'year: 2027\nsource: "t"\nworkdays: ["2027-10-12"]\n',
            "2027.yaml: workday 2027-10-12 is a Tuesday; "
            "make-up working days must fall on a Saturday or Sunday",
        ),
        (
            'year: 2027\nsource: "t"\nholidays: ["2027-09-26"]\nworkdays: ["2027-09-26"]\n',
            "2027.yaml: 2027-09-26 is listed both as a holiday and as a workday",
        ),
        (
            'year: 2027\nsource: "t"\nholidays: ["2027-02-30"]\n',
            "2027.yaml: holidays: '2027-02-30' is not an ISO date",
        ),
        ("year: 2027\nholidays: []\n", "2027.yaml: 'source' must name the document"),
        ('year: "2027"\nsource: "t"\n', "2027.yaml: 'year' must be a four-digit integer"),
        ('year: 2028\nsource: "t"\n', "2027.yaml: the file is named for 2027 but holds year 2028"),
    ],
)
def test_invalid_file_rejected(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, "2027.yaml", body)
    with pytest.raises(ValueError) as info:
        load_year_file(path)
    assert str(info.value).startswith(message)
