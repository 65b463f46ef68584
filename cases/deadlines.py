"""Due dates from a case type's time limit, on Vietnam's working calendar.

Rules (DESIGN.md): counting starts the day after receipt; a day limit that ends on a rest day
moves to the next working day; hours stay hours. Working days are the `holidays` package's
Vietnam calendar (weekends, Tết, make-up Saturdays) corrected by the CalendarDay table.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone

from .models import CalendarDay, LimitUnit


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


class WorkCalendar:
    """Working days between two dates; the admin table's overrides are read once per instance."""

    def __init__(self, overrides: dict[date, str] | None = None):
        self._overrides = overrides

    @property
    def overrides(self) -> dict[date, str]:
        if self._overrides is None:
            self._overrides = dict(CalendarDay.objects.values_list("date", "kind"))
        return self._overrides

    def is_working_day(self, day: date) -> bool:
        kind = self.overrides.get(day)
        if kind == CalendarDay.Kind.DAY_OFF:
            return False
        if kind == CalendarDay.Kind.WORKING_DAY:
            return True
        return _vn_holidays(day.year).is_working_day(day)

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, amount: int) -> date:
        """The `amount`-th working day after `day` (counting starts the next day)."""
        counted = 0
        while counted < amount:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))


def _local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment, _local_tz()).date()


def _office_close(day: date) -> datetime:
    return datetime.combine(day, time(settings.OFFICE_CLOSE_HOUR, 0), tzinfo=_local_tz())


def due_at_compute(*, start: datetime, amount: int, unit: str, calendar: WorkCalendar | None = None) -> datetime:
    """When a limit of `amount` `unit`s, counted from `start`, runs out."""
    calendar = calendar or WorkCalendar()
    if unit == LimitUnit.HOURS:
        return start + timedelta(hours=amount)
    start_day = _local_date(start)
    if unit == LimitUnit.CALENDAR_DAYS:
        return _office_close(calendar.next_working_day(start_day + timedelta(days=amount)))
    if unit == LimitUnit.WORKING_DAYS:
        if amount == 0:
            return _office_close(calendar.next_working_day(start_day))
        return _office_close(calendar.add_working_days(start_day, amount))
    raise ValueError(f"unknown limit unit {unit!r}")


def clock_used_compute(*, start: datetime, until: datetime, unit: str, calendar: WorkCalendar | None = None) -> int:
    """What the clock consumed between `start` and `until`: seconds for hour limits, days otherwise.

    For days, the days counted are those after `start`'s day up to and including `until`'s day.
    """
    calendar = calendar or WorkCalendar()
    if unit == LimitUnit.HOURS:
        return max(0, int((until - start).total_seconds()))
    start_day, end_day = _local_date(start), _local_date(until)
    if end_day <= start_day:
        return 0
    if unit == LimitUnit.CALENDAR_DAYS:
        return (end_day - start_day).days
    if unit == LimitUnit.WORKING_DAYS:
        return calendar.working_days_between(start_day, end_day)
    raise ValueError(f"unknown limit unit {unit!r}")


def due_at_remaining(*, start: datetime, amount: int, unit: str, used: int,
                     calendar: WorkCalendar | None = None) -> datetime:
    """The due date when the clock restarts at `start` with `used` already consumed."""
    if unit == LimitUnit.HOURS:
        return start + timedelta(seconds=max(0, amount * 3600 - used))
    return due_at_compute(start=start, amount=max(0, amount - used), unit=unit, calendar=calendar)


def quarter_start(moment: datetime) -> datetime:
    """00:00 local time on the first day of the calendar quarter of `moment` (Asia/Ho_Chi_Minh)."""
    local = moment.astimezone(_local_tz())
    return local.replace(month=3 * ((local.month - 1) // 3) + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
