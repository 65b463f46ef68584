"""How a case reads on the officers' pages: dossier fields with their labels, the timeline in words."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from cases.models import CaseEvent
from cases.transfer import transfer_text
from cases.workflow import WORKFLOWS, State

from .models import IssuedDocument
from .procedures import PROCEDURES, Procedure

ACTION_LABELS = {action: t.label for action, t in WORKFLOWS["licensing"].items()}
PROPOSAL_LABELS = {"grant": ACTION_LABELS["propose_grant"], "refuse": ACTION_LABELS["propose_refusal"]}
NOTIFICATION_LABELS = {
    "received": gettext_lazy("Receipt acknowledged"),
    "supplement": gettext_lazy("Request to supplement the dossier"),
    "decision": gettext_lazy("Result of the dossier"),
    "apology": gettext_lazy("Apology and new appointment date"),
}


def local(moment) -> str:
    """dd/mm/yyyy HH:MM in the department's time zone."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


def state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


def required_file_labels(case_type_code: str) -> dict[str, str]:
    spec = PROCEDURES.get(case_type_code)
    return {kind: str(label) for kind, label in spec.required_files} if spec else {}


def attachment_kind_choices(case_type_code: str) -> list[tuple[str, str]]:
    """The procedure's required kinds first, then "other"."""
    return [*required_file_labels(case_type_code).items(), ("other", _("Other document"))]


# --- Dossier fields --------------------------------------------------------------------------------------


@dataclass
class DossierRow:
    name: str
    label: str
    value: object = ""  # text, a number or a datetime
    items: list[str] | None = None  # a list of texts
    columns: list[str] = field(default_factory=list)  # a list of records: their column labels
    records: list[list] | None = None


def dossier_rows(procedure: Procedure, values: dict) -> list[DossierRow]:
    rows = []
    for name, spec in procedure.fields().fields.items():
        if name not in values:
            continue
        value = values[name]
        row = DossierRow(name=name, label=str(spec.label))
        if isinstance(spec, serializers.ListSerializer) and isinstance(value, list):
            children = spec.child.fields
            row.columns = [str(child.label) for child in children.values()]
            row.records = [[item.get(key, "") if isinstance(item, dict) else item for key in children]
                           for item in value]
        elif isinstance(spec, serializers.ListField) and isinstance(value, list):
            row.items = [str(item) for item in value]
        elif isinstance(spec, serializers.DateTimeField):
            row.value = local(value)
        else:
            row.value = value
        rows.append(row)
    return rows


# --- Timeline ------------------------------------------------------------------------------------------


@dataclass
class TimelineRow:
    at: datetime
    actor: str
    kind: str
    title: str
    details: list[str]
    note: str
    css: str


def _person(users: dict, user_id) -> str:
    user = users.get(user_id)
    if user is None:
        return _("nobody")
    return user.get_full_name() or user.username


def timeline_rows(events, *, case_type_code: str) -> list[TimelineRow]:
    events = list(events)
    user_ids = {e.after.get("assignee") for e in events if e.kind == CaseEvent.Kind.ASSIGNMENT}
    user_ids.discard(None)
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids)} if user_ids else {}
    file_labels = required_file_labels(case_type_code)
    field_labels = PROCEDURES[case_type_code].labels() if case_type_code in PROCEDURES else {}
    rows = []
    for event in events:
        kind = event.kind
        title = event.get_kind_display()
        details: list[str] = []
        css = kind
        if kind == CaseEvent.Kind.CREATED:
            title = _("Dossier received")
            if event.after.get("reference"):
                details.append(_("Reference: %(reference)s") % {"reference": event.after["reference"]})
            if event.after.get("due_at"):
                details.append(_("Due date: %(date)s") % {"date": local(event.after["due_at"])})
        elif kind == CaseEvent.Kind.TRANSITION:
            title = str(ACTION_LABELS.get(event.action, event.action))
            if event.to_state and event.to_state != event.from_state:
                details.append(_("State: %(from)s → %(to)s") % {
                    "from": state_label(event.from_state), "to": state_label(event.to_state)})
            if event.after.get("decided_against_proposal"):
                details.append(_("Decided against the officer's proposal"))
                css = f"{kind} against-proposal"
        elif kind == CaseEvent.Kind.ASSIGNMENT:
            details.append(_("Assigned to: %(name)s") % {"name": _person(users, event.after.get("assignee"))})
        elif kind == CaseEvent.Kind.ATTACHMENT:
            details.append(event.after.get("name", ""))
            if event.after.get("kind"):
                details.append(file_labels.get(event.after["kind"], _("Other document")))
        elif kind == CaseEvent.Kind.DUE_DATE:
            details.append(_("Due date: %(old)s → %(new)s") % {
                "old": local(event.before.get("due_at")) or "–", "new": local(event.after.get("due_at")) or "–"})
        elif kind == CaseEvent.Kind.OVERDUE:
            details.append(_("Due date: %(date)s") % {"date": local(event.after.get("due_at"))})
        elif kind == CaseEvent.Kind.DOSSIER:
            if "complete" in event.after:
                title = _("Dossier completeness checked")
                missing = event.after.get("missing") or []
                if event.after["complete"]:
                    details.append(_("The dossier is complete."))
                else:
                    details.append(_("Missing: %(items)s") % {
                        "items": ", ".join(file_labels.get(k, k) for k in missing)})
            else:
                changed = sorted(set(event.after) | set(event.before))
                details.append(_("Fields changed: %(fields)s") % {
                    "fields": ", ".join(field_labels.get(k, k) for k in changed)})
        elif kind == CaseEvent.Kind.DOCUMENT:
            title = str(IssuedDocument.Kind(event.action).label) if event.action in IssuedDocument.Kind.values \
                else title
            if event.after.get("number"):
                details.append(_("Number: %(number)s") % {"number": event.after["number"]})
        elif kind == CaseEvent.Kind.ISSUE_FAILED:
            css = f"{kind} error"
            details.append(_("Tried again automatically; an officer can issue it again now."))
        elif kind == CaseEvent.Kind.TRANSFER:
            title = transfer_text(event.before, event.after)
        elif kind == CaseEvent.Kind.NOTIFICATION:
            details.append(str(NOTIFICATION_LABELS.get(event.action, event.action)))
            if event.after.get("to"):
                details.append(_("Sent to: %(email)s") % {"email": event.after["to"]})
        actor = (event.actor.get_full_name() or event.actor.username) if event.actor else _("System")
        rows.append(TimelineRow(at=event.at, actor=actor, kind=str(event.get_kind_display()), title=str(title),
                                details=[d for d in details if d], note=event.note, css=css))
    return rows
