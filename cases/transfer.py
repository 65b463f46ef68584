"""An agency's open cases move to its successors on a reorganisation date, in one audited operation.

Which cases: those of the agency still open (state not terminal), and closed ones a domain app still counts as open
(a campaign whose corrections are not yet verified, `hooks.still_open`). Where each goes: the successor (direct, or
further down the line of successors) competent for its type on the date; a type the agency itself still handles
that day stays; the operator may name the agency for a type (`mapping`). A case with nowhere to go, or with several
places, is an error of the plan, and a plan with an error is not run: nothing is half-moved.

A moved case keeps everything but its holder: reference, state, due date, timeline, files, assignee and team. Its
timeline gets one TRANSFER event naming both agencies; its version goes up (a page open on it must be reloaded).
Once moved it is the successor's: the old agency's staff no longer see it (they see their own agency and its
predecessors, never its successors); the successor's staff see it, and the old agency's archive, as before.

Running the same transfer again moves nothing (the cases already belong to the successor). The agency's row is
locked for the run (two transfers of one agency never interleave) and the cases are locked in id order, so a
transition racing the transfer is applied either before it or after it, never lost.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.models import Agency, Membership
from agencies.selectors import successors_closure

from . import hooks
from . import roles as r
from .competence import agencies_competent
from .errors import Conflict, NotAllowed, ValidationFailed
from .models import Case, CaseEvent, CaseType
from .workflow import TERMINAL, State


@dataclass(frozen=True)
class PlannedCase:
    id: int
    reference: str
    case_type: str
    case_type_name: str
    state: str
    due_at: datetime | None
    assignee: str
    closed_with_open_work: bool = False  # closed, but a domain app still counts it open (follow-ups)

    @property
    def state_label(self) -> str:
        return str(State(self.state).label) if self.state in State.values else self.state

    def as_dict(self) -> dict:
        return {"id": self.id, "reference": self.reference, "type": self.case_type, "type_name": self.case_type_name,
                "state": self.state, "state_label": self.state_label,
                "due_at": self.due_at.isoformat() if self.due_at else None, "assignee": self.assignee,
                "closed_with_open_work": self.closed_with_open_work}


@dataclass
class Destination:
    agency: Agency
    cases: list[PlannedCase] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """An error (the run is refused) or a warning (the run goes ahead) of a plan."""

    code: str
    message: str
    case_type: str = ""
    cases: tuple[str, ...] = ()  # references

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "type": self.case_type, "cases": list(self.cases)}


def agency_label(agency: Agency) -> str:
    """The agency as a timeline names it: "Sở Thông tin và Truyền thông (Thái Bình)"."""
    return f"{agency.name} ({agency.place_name})" if agency.place_name else agency.name


def _agency_dict(agency: Agency) -> dict:
    return {"id": agency.pk, "code": agency.code, "name": str(agency)}


@dataclass
class TransferPlan:
    agency: Agency
    on: date
    dry_run: bool
    destinations: list[Destination] = field(default_factory=list)
    staying: list[PlannedCase] = field(default_factory=list)  # types the agency itself still handles on `on`
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    moved: int = 0  # cases moved by the run (0 for a dry run)

    @property
    def cases(self) -> list[PlannedCase]:
        return [case for destination in self.destinations for case in destination.cases]

    def as_dict(self) -> dict:
        return {
            "agency": _agency_dict(self.agency), "on": self.on.isoformat(), "dry_run": self.dry_run,
            "moved": self.moved,
            "destinations": [{"agency": _agency_dict(d.agency), "cases": [c.as_dict() for c in d.cases]}
                             for d in self.destinations],
            "staying": [c.as_dict() for c in self.staying],
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
        }


class TransferRefused(ValidationFailed):
    """The plan has errors: nothing was moved. `plan` says what would have moved and why it cannot."""

    def __init__(self, plan: TransferPlan):
        self.plan = plan
        super().__init__(_("The transfer was not run: %(errors)s") % {
            "errors": " ".join(problem.message for problem in plan.errors)},
            extra={"errors": [problem.as_dict() for problem in plan.errors]})


def transfer_text(before: dict, after: dict) -> str:
    """A TRANSFER event in words: "Chuyển từ Sở … (Thái Bình) sang Sở … (Thái Bình)"."""
    return _("Transferred from %(old)s to %(new)s") % {"old": before.get("agency_name") or "?",
                                                        "new": after.get("agency_name") or "?"}


def may_transfer(user) -> bool:
    return bool(user is not None and (user.is_superuser or r.ADMINISTRATOR in r.user_roles(user)))


# --- The plan ----------------------------------------------------------------------------------------------------


def cases_to_transfer(agency: Agency):
    """The agency's cases a transfer moves: open ones, and closed ones still holding open work."""
    # A periodic report is the agency's own record of its period (reports/): it stays with the agency that wrote it.
    held = Case.objects.filter(agency=agency).exclude(case_type__domain="report")
    closed_but_open = hooks.still_open_ids(held.filter(state__in=TERMINAL))
    return held.filter(~Q(state__in=TERMINAL) | Q(pk__in=closed_but_open))


def _destination(source: Agency, case_type: CaseType, *, on: date, mapping: dict, successors: frozenset[int]):
    """(agency, problem) for the cases of `case_type`: the agency to move them to (`source` itself: they stay), or
    the reason there is none."""
    day = on.strftime("%d/%m/%Y")
    names = {"type": case_type.name_vi, "date": day, "agency": str(source)}
    if case_type.code in mapping:
        target = mapping[case_type.code]
        if target.pk == source.pk:
            return None, Problem("mapped_to_itself", _("“%(type)s” is mapped to %(agency)s itself.") % names,
                                 case_type.code)
        if not target.in_force_on(on):
            return None, Problem("mapped_not_in_force", _("“%(type)s” is mapped to %(target)s, which does not exist "
                                                          "on %(date)s.") % {**names, "target": str(target)},
                                 case_type.code)
        return target, None
    competent = list(agencies_competent(case_type=case_type, day=on))
    if any(agency.pk == source.pk for agency in competent):
        return source, None
    candidates = [agency for agency in competent if agency.pk in successors]
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        return None, Problem("no_successor", _("No successor of %(agency)s handles “%(type)s” on %(date)s: name the "
                                               "agency that takes these cases.") % names, case_type.code)
    return None, Problem("several_successors", _("Several successors of %(agency)s handle “%(type)s” on %(date)s "
                                                 "(%(candidates)s): name the one that takes these cases.")
                         % {**names, "candidates": ", ".join(str(agency) for agency in candidates)}, case_type.code)


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _plan(source: Agency, cases: list[Case], *, on: date, mapping: dict, dry_run: bool) -> TransferPlan:
    plan = TransferPlan(agency=source, on=on, dry_run=dry_run)
    if on > timezone.localdate():
        plan.errors.append(Problem("date_ahead", _("The reorganisation date %(date)s has not come yet.")
                                   % {"date": on.strftime("%d/%m/%Y")}))
    successors = successors_closure({source.pk}) - {source.pk}
    by_type: dict[int, Agency | None] = {}
    refused: dict[int, list[str]] = {}
    type_problems: dict[int, Problem] = {}
    destinations: dict[int, Destination] = {}
    moving: list[tuple[Case, Agency]] = []
    for case in cases:
        if case.case_type_id not in by_type:
            by_type[case.case_type_id], problem = _destination(source, case.case_type, on=on, mapping=mapping,
                                                               successors=successors)
            if problem is not None:
                type_problems[case.case_type_id] = problem
        target = by_type[case.case_type_id]
        planned = PlannedCase(id=case.pk, reference=case.reference, case_type=case.case_type.code,
                              case_type_name=case.case_type.name_vi, state=case.state, due_at=case.due_at,
                              assignee=_person(case.assignee), closed_with_open_work=case.state in TERMINAL)
        if target is None:
            refused.setdefault(case.case_type_id, []).append(case.reference)
        elif target.pk == source.pk:
            plan.staying.append(planned)
        else:
            destinations.setdefault(target.pk, Destination(agency=target)).cases.append(planned)
            moving.append((case, target))
    for type_id, problem in type_problems.items():
        plan.errors.append(Problem(problem.code, problem.message, problem.case_type, tuple(refused[type_id])))
    plan.destinations = sorted(destinations.values(), key=lambda d: (d.agency.name, d.agency.pk))
    plan.warnings = _people_warnings(moving)
    return plan


def _people_warnings(moving: list[tuple[Case, Agency]]) -> list[Problem]:
    """The assignee or a team member of a moved case who does not work for the agency it moves to: they stay on
    the case (nothing is unassigned), but may no longer see it; the successor's head reassigns it."""
    people: dict[int, set[int]] = {}  # case → users
    for case, _target in moving:
        people[case.pk] = {case.assignee_id, *(member.pk for member in case.members.all())} - {None}
    user_ids = set().union(*people.values()) if people else set()
    if not user_ids:
        return []
    works_for = set(Membership.objects.filter(user_id__in=user_ids, agency_id__in={t.pk for _c, t in moving})
                    .values_list("user_id", "agency_id"))
    warnings = []
    for case, target in moving:
        team = {member.pk: member for member in case.members.all()}
        for user_id in sorted(people[case.pk]):
            if (user_id, target.pk) in works_for:
                continue
            user = case.assignee if user_id == case.assignee_id else team[user_id]
            role = _("assignee") if user_id == case.assignee_id else _("team member")
            warnings.append(Problem("not_member", _("%(person)s (%(role)s of %(reference)s) does not work for "
                                                    "%(agency)s; the case stays with them until it is reassigned.")
                                    % {"person": _person(user), "role": role, "reference": case.reference,
                                       "agency": str(target)}, case.case_type.code, (case.reference,)))
    return warnings


# --- The run -----------------------------------------------------------------------------------------------------


def agency_transfer(*, agency: Agency, on: date, actor, dry_run: bool, mapping: dict[str, Agency] | None = None,
                    note: str = "") -> TransferPlan:
    """Move `agency`'s open cases to its successors as of the reorganisation date `on` (see the module's text).
    `mapping` names the agency for a case type ({code: Agency}), overriding competence. A dry run returns the plan
    and writes nothing; a run with errors in its plan raises TransferRefused and writes nothing. `actor` None is the
    system (a management command run without --by); otherwise a superuser or an administrator."""
    if actor is not None and not may_transfer(actor):
        raise NotAllowed(_("Only an administrator can transfer an agency's cases."))
    mapping = dict(mapping or {})
    if dry_run:
        cases = list(cases_to_transfer(agency).select_related("case_type", "assignee")
                     .prefetch_related("members").order_by("pk"))
        return _plan(agency, cases, on=on, mapping=mapping, dry_run=True)
    with transaction.atomic():
        source = Agency.objects.select_for_update().get(pk=agency.pk)  # one transfer of an agency at a time
        # Locked in id order, as a batch intake locks them; a case whose transition commits first is read as it
        # now stands (one closed meanwhile drops out of the set).
        cases = list(cases_to_transfer(source).select_for_update(of=("self",))
                     .select_related("case_type", "assignee").prefetch_related("members").order_by("pk"))
        plan = _plan(source, cases, on=on, mapping=mapping, dry_run=False)
        if plan.errors:
            raise TransferRefused(plan)
        now = timezone.now()
        with translation.override(settings.LANGUAGE_CODE):  # stored text is in the department's language
            reason = _("Reorganisation of %(date)s") % {"date": on.strftime("%d/%m/%Y")}
        text = f"{reason}: {note.strip()}" if note.strip() else f"{reason}."
        by_id = {case.pk: case for case in cases}
        before = {"agency": source.pk, "agency_name": agency_label(source), "agency_code": source.code}
        events = []
        for destination in plan.destinations:
            target = destination.agency
            ids = [planned.id for planned in destination.cases]
            updated = Case.objects.filter(pk__in=ids, agency=source).update(
                agency=target, version=F("version") + 1, updated_at=now)
            if updated != len(ids):  # cannot happen while the rows are locked; never leave a half-move behind
                raise Conflict(_("The cases changed during the transfer; nothing was moved."))
            after = {"agency": target.pk, "agency_name": agency_label(target), "agency_code": target.code,
                     "on": on.isoformat()}
            events += [CaseEvent(case_id=pk, actor=actor, kind=CaseEvent.Kind.TRANSFER, at=now, before=before,
                                 after=after, note=text) for pk in ids]
            for pk in ids:
                case = by_id[pk]
                case.agency, case.version, case.updated_at = target, case.version + 1, now
                hooks.changed_run(case)
        CaseEvent.objects.bulk_create(events)
        plan.moved = len(events)
    return plan
