"""The risk score that ranks the registry's establishments when a campaign is planned: who to visit first.

    score = 10 × violation records (all history)
          +  3 × reminders (visits whose outcome was a reminder)
          + 15 × open follow-ups (corrections due and not verified yet)
          +  1 per full 3 months since the last visit, at most 20 (five years); never visited: 20

Each part is kept (`RiskScore.parts`) so that the page says why an establishment ranks where it does. Equal scores
keep the registry's order (kind, name). The weights say what the department weighs: a correction still owed counts
more than an old violation, and a violation more than a long time without a visit.
"""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from .selectors import establishments_with_history

VIOLATION_POINTS = 10
REMINDER_POINTS = 3
FOLLOW_UP_POINTS = 15
MONTHS_PER_POINT = 3
TIME_POINTS_MAX = 20  # five years without a visit, or never visited


@dataclass(frozen=True)
class RiskScore:
    establishment: object
    violations: int
    reminders: int
    follow_ups_open: int
    months_since_visit: int | None  # None: never visited

    @property
    def parts(self) -> dict[str, int]:
        return {"violations": VIOLATION_POINTS * self.violations, "reminders": REMINDER_POINTS * self.reminders,
                "follow_ups": FOLLOW_UP_POINTS * self.follow_ups_open, "time": self.time_points}

    @property
    def time_points(self) -> int:
        if self.months_since_visit is None:
            return TIME_POINTS_MAX
        return min(self.months_since_visit // MONTHS_PER_POINT, TIME_POINTS_MAX)

    @property
    def score(self) -> int:
        return sum(self.parts.values())


def months_between(earlier: date, later: date) -> int:
    """Full calendar months from `earlier` to `later` (0 when later is earlier)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)
    return max(months, 0)


def risk_scores(queryset, *, today: date | None = None) -> list[RiskScore]:
    """The establishments of `queryset`, highest score first (ties in the queryset's order)."""
    today = today or timezone.localdate()
    scores = []
    for establishment in establishments_with_history(queryset):
        visited = establishment.last_visited_at
        scores.append(RiskScore(
            establishment=establishment, violations=establishment.violations_total,
            reminders=establishment.reminders_total, follow_ups_open=establishment.follow_ups_open,
            months_since_visit=None if visited is None else months_between(timezone.localdate(visited), today)))
    scores.sort(key=lambda s: -s.score)  # stable: ties keep the queryset's order
    return scores
