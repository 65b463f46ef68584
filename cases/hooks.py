"""Extension points of the case engine for the domain apps (licensing, inspections).

Guards run under the case's row lock before a transition applies and may raise a DomainError.
Listeners run after it applies, in the same transaction (timeline rows, outbox tasks, notifications).
Intake listeners run in the intake task's transaction. Apps register in their AppConfig.ready().
"""

from collections import defaultdict
from collections.abc import Callable

_guards: dict[tuple[str, str], list[Callable]] = defaultdict(list)
_after: dict[tuple[str, str], list[Callable]] = defaultdict(list)
_intake: dict[str, list[Callable]] = defaultdict(list)
_attachment: dict[str, list[Callable]] = defaultdict(list)
_changed: list[Callable] = []
_doors: dict[str, str] = {}
_still_open: dict[str, list[Callable]] = defaultdict(list)


def _register(table, keys, func):
    for key in keys:
        if func not in table[key]:
            table[key].append(func)
    return func


def guard(domain: str, *actions: str):
    """`func(case, transition, actor, note, **params)` may raise to refuse the transition."""
    return lambda func: _register(_guards, [(domain, a) for a in actions], func)


def after_transition(domain: str, *actions: str):
    """`func(case, transition, actor, note, event)` runs after the transition, in its transaction."""
    return lambda func: _register(_after, [(domain, a) for a in actions], func)


def on_intake(domain: str):
    """`func(cases)` runs in the intake's transaction for a batch of the domain's cases (locked), after
    assignment is chosen and before the intake is recorded."""
    return lambda func: _register(_intake, [domain], func)


def on_attachment(domain: str):
    """`func(case, attachment)` runs in the transaction that stored a new attachment."""
    return lambda func: _register(_attachment, [domain], func)


def guards_run(case, transition, *, actor, note, params) -> None:
    for func in _guards[(case.case_type.domain, transition.action)]:
        func(case, transition, actor=actor, note=note, **params)


def after_run(case, transition, *, actor, note, event) -> None:
    for func in _after[(case.case_type.domain, transition.action)]:
        func(case, transition, actor=actor, note=note, event=event)


def intake_run(cases) -> None:
    by_domain = defaultdict(list)
    for case in cases:
        by_domain[case.case_type.domain].append(case)
    for domain, domain_cases in by_domain.items():
        for func in _intake[domain]:
            func(domain_cases)


def attachment_run(case, attachment) -> None:
    for func in _attachment[case.case_type.domain]:
        func(case, attachment)


def on_case_changed(func):
    """`func(case)` runs in the transaction of every receipt and transition (all domains)."""
    if func not in _changed:
        _changed.append(func)
    return func


def changed_run(case) -> None:
    for func in _changed:
        func(case)


def receives_own_cases(domain: str, where: str) -> None:
    """The domain app receives its cases through its own service (a licensing dossier with its procedure's fields
    and checks), at `where`; the bare case engine's doors then refuse to open cases of that domain."""
    _doors[domain] = where


def own_door(domain: str) -> str | None:
    """Where cases of the domain are received, if not through the bare case engine."""
    return _doors.get(domain)


def still_open(domain: str):
    """`func(cases)` takes a queryset of the domain's closed cases and returns those that still hold open work (a
    campaign whose corrections are not yet verified): an agency transfer moves them with the open cases."""
    return lambda func: _register(_still_open, [domain], func)


def still_open_ids(cases) -> set[int]:
    """The ids among `cases` (closed cases, any domain) that a domain app counts as still open."""
    ids: set[int] = set()
    for domain, funcs in _still_open.items():
        for func in funcs:
            ids |= set(func(cases.filter(case_type__domain=domain)).values_list("pk", flat=True))
    return ids
