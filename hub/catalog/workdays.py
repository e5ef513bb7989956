"""Working-day calendar under the State Council holiday schedule (节假日安排, with 调休).

Deadlines in the hub (publication within 7 working days, objections within 5 or 7, repair feedback
within 10, …) count working days: Monday to Friday, minus the public holidays the schedule makes
days off, plus the Saturdays and Sundays it makes working days. The schedule is policy data, one
YAML file per year under ``hub/catalog/calendar/``; a new year's schedule is published around
November and the credit office loads it. Until then, any computation touching that year raises
:class:`UnknownCalendarYear`: a deadline is never guessed.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from hub.catalog.values import as_date

__all__ = [
    "UnknownCalendarYear",
    "WorkingCalendar",
    "YearSchedule",
    "bundled_years",
    "load_year_file",
    "schedule_from_mapping",
]

CALENDAR_DIR = Path(__file__).resolve().parent / "calendar"

_SATURDAY = 5  # date.weekday(): Monday is 0


class UnknownCalendarYear(Exception):
    """A computation needs a year whose holiday schedule has not been loaded."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"the working-day calendar has no schedule for {year}; the credit office must load it first"
        )


@dataclass(frozen=True)
class YearSchedule:
    """One year of the State Council holiday schedule."""

    year: int
    holidays: frozenset[date]
    """Every day off that is not a plain weekend day (weekend days inside a holiday span may be listed)."""
    workdays: frozenset[date]
    """Saturdays and Sundays that are working days (调休上班)."""
    source: str
    """The document the schedule comes from."""


def _parse_date(value: object, where: str) -> date:
    parsed = as_date(value)
    if parsed is None:
        raise ValueError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)")
    return parsed


def _parse_dates(data: Mapping[str, object], key: str, year: int, origin: str) -> frozenset[date]:
    raw = data.get(key)
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ValueError(f"{origin}: '{key}' must be a list of ISO dates")
    seen: set[date] = set()
    for item in raw:
        day = _parse_date(item, f"{origin}: {key}")
        if day.year != year:
            raise ValueError(f"{origin}: {key} date {day.isoformat()} is not in the year {year}")
        if day in seen:
            raise ValueError(f"{origin}: {key} date {day.isoformat()} is listed twice")
        seen.add(day)
    return frozenset(seen)


def schedule_from_mapping(data: Mapping[str, object], origin: str = "calendar") -> YearSchedule:
    """Validate one year's schedule given as a mapping (parsed YAML or a stored version).

    Raises ValueError, naming ``origin`` and the offending date, when a date lies outside the named
    year, a date is both a holiday and a make-up working day, or a make-up working day is not a
    Saturday or Sunday.
    """
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9999:
        raise ValueError(f"{origin}: 'year' must be a four-digit integer, got {year!r}")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{origin}: 'source' must name the document the schedule comes from")
    holidays = _parse_dates(data, "holidays", year, origin)
    workdays = _parse_dates(data, "workdays", year, origin)
    both = sorted(holidays & workdays)
    if both:
        raise ValueError(f"{origin}: {both[0].isoformat()} is listed both as a holiday and as a workday")
    for day in sorted(workdays):
        if day.weekday() < _SATURDAY:
            raise ValueError(
                f"{origin}: workday {day.isoformat()} is a {day.strftime('%A')}; "
                "make-up working days must fall on a Saturday or Sunday"
            )
    return YearSchedule(year=year, holidays=holidays, workdays=workdays, source=source.strip())


def load_year_file(path: str | os.PathLike[str]) -> YearSchedule:
    """Read and validate one ``<year>.yaml`` calendar file."""
    file = Path(path)
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file.name}: expected a mapping with year, source, holidays and workdays")
    schedule = schedule_from_mapping(data, origin=file.name)
    if file.stem.isdigit() and int(file.stem) != schedule.year:
        # A file named for one year but holding another would silently shadow the real one.
        raise ValueError(f"{file.name}: the file is named for {file.stem} but holds year {schedule.year}")
    return schedule


def bundled_years() -> list[YearSchedule]:
    """The schedules shipped with the hub (``hub/catalog/calendar/*.yaml``), sorted by year."""
    return sorted((load_year_file(p) for p in CALENDAR_DIR.glob("*.yaml")), key=lambda s: s.year)


class WorkingCalendar:
    """Working-day arithmetic over the loaded years; refuses to compute in any other year."""

    def __init__(self, schedules: Iterable[YearSchedule]) -> None:
        self._schedules: dict[int, YearSchedule] = {}
        for schedule in schedules:
            if schedule.year in self._schedules:
                raise ValueError(f"the calendar was given two schedules for {schedule.year}")
            self._schedules[schedule.year] = schedule
        # Ordinals of every working day in the loaded years, ascending: counting and stepping
        # become binary searches instead of day-by-day walks.
        ordinals: list[int] = []
        for year in sorted(self._schedules):
            schedule = self._schedules[year]
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            for ordinal in range(first, last + 1):
                if self._working(date.fromordinal(ordinal), schedule):
                    ordinals.append(ordinal)
        self._ordinals = ordinals
        self._deadlines: dict[tuple[date, int], date] = {}

    @classmethod
    def bundled(cls) -> WorkingCalendar:
        """A calendar of the schedules shipped with the hub."""
        return cls(bundled_years())

    @property
    def known_years(self) -> tuple[int, ...]:
        """The loaded years, ascending."""
        return tuple(sorted(self._schedules))

    def schedule(self, year: int) -> YearSchedule:
        """The loaded schedule of ``year``; raises UnknownCalendarYear if there is none."""
        try:
            return self._schedules[year]
        except KeyError:
            raise UnknownCalendarYear(year) from None

    @staticmethod
    def _working(day: date, schedule: YearSchedule) -> bool:
        if day.weekday() >= _SATURDAY:
            return day in schedule.workdays
        return day not in schedule.holidays

    def _require_years(self, first: int, last: int) -> None:
        for year in range(first, last + 1):
            if year not in self._schedules:
                raise UnknownCalendarYear(year)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day: Mon–Fri unless a holiday; Sat/Sun only if a make-up day."""
        return self._working(day, self.schedule(day.year))

    def add_working_days(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (``start`` itself does not count; n >= 0).

        With n == 0 the result is ``start``. Raises UnknownCalendarYear for the first year between
        ``start`` and the result that is not loaded.
        """
        key = (start, n)
        cached = self._deadlines.get(key)
        if cached is not None:
            return cached
        if n < 0:
            raise ValueError(f"the number of working days must be >= 0, got {n}")
        self._require_years(start.year, start.year)
        if n == 0:
            result = start
        else:
            index = bisect_right(self._ordinals, start.toordinal()) + n - 1
            if index < len(self._ordinals):
                result = date.fromordinal(self._ordinals[index])
                # The ordinal list skips years that are not loaded; a gap means we cannot know.
                self._require_years(start.year, result.year)
            else:
                # Past the last loaded working day: the first missing year after start is unknown.
                year = start.year
                while year in self._schedules:
                    year += 1
                raise UnknownCalendarYear(year)
        self._deadlines[key] = result
        return result

    def deadline(self, start: date, n: int) -> date:
        """The last day of a time limit of ``n`` working days that starts on ``start``.

        E.g. a penalty decided on ``start`` must be published by ``deadline(start, 7)``.
        """
        return self.add_working_days(start, n)

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in (start, end]: ``start`` excluded, ``end`` included.

        Raises ValueError if ``end`` is before ``start``.
        """
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        self._require_years(start.year, end.year)
        return bisect_right(self._ordinals, end.toordinal()) - bisect_right(self._ordinals, start.toordinal())
