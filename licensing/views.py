"""The officers' pages: my queue, a case with its dossier and actions, receiving a dossier, the head's
approval queue and the permits registry. Server-rendered; every write calls one service, which re-checks
the user's role: a missing button is a convenience, not the security."""

import uuid as uuid_lib
from datetime import timedelta
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agencies.selectors import agency_ids_member
from cases import roles as r
from cases.competence import agencies_competent
from cases.errors import DomainError, ValidationFailed
from cases.models import Case, CaseEvent, CaseType
from cases.selectors import case_domain_roles_may_work
from cases.services import (
    attachment_add,
    case_assign,
    case_note_add,
    case_transition,
    decision_against_proposal,
)
from cases.workflow import CLOCK_RUNNING, TERMINAL, State, transition_get, transitions_available
from worker.models import OutboxMessage

from . import selectors
from .display import (
    PROPOSAL_LABELS,
    attachment_kind_choices,
    dossier_rows,
    required_file_labels,
    timeline_rows,
)
from .errors import DossierIncomplete
from .filters import PermitFilter
from .forms import AssignForm, AttachmentForm, NoteForm, PermitSearchForm, ReceiveForm, TransitionForm
from .models import Dossier, IssuedDocument
from .procedures import PROCEDURES
from .selectors import receipt_secret_printed
from .services import RECEIPT_TASK, application_receive

QUEUE_PAGE_SIZE = 50
PERMITS_PAGE_SIZE = 25
UNASSIGNED_SHOWN = 50
SEARCH_SHOWN = 50
# Counts other apps show on the queue page, by context name: callable(user) -> int. The portal registers the online
# dossiers waiting to be received (applicants/pages/office.py); licensing does not import it.
QUEUE_COUNTS: dict = {}
ACTION_ORDER = ("start_review", "receive_supplement", "propose_grant", "approve", "request_supplement",
                "propose_refusal", "refuse", "return_for_review", "apologise_late", "withdraw", "revoke")


def roles_required(roles: frozenset[str]):
    """Signed in (else to the login page) and holding one of `roles` (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not (r.user_roles(request.user) & roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def _case_get(request, pk: int):
    """A licensing case the user may see, or 404: every case lookup goes through cases_visible, and a
    role that reads no licensing case (inspectors) finds none. What a user may do there, the services check."""
    qs = selectors.licensing_cases_visible(user=request.user).select_related("terms", "dossier__organisation")
    return get_object_or_404(qs, pk=pk)


def _back(request, case, next_url: str = "") -> str:
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                                    require_https=request.is_secure()):
        return next_url
    return reverse("licensing:case", args=[case.pk])


def domain_error_message(exc: DomainError) -> str:
    """A domain error as one readable sentence in the user's language."""
    detail, title = str(exc.detail), str(exc.title)
    if isinstance(exc, DossierIncomplete) and detail != title:
        return f"{title} {detail}"
    return detail


def _form_errors_message(form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts += [f"{label}: {error}" if label else str(error) for error in errors]
    return _("The form could not be read: %(errors)s") % {"errors": " ".join(parts)}


def _draft_key(case_id: int) -> str:
    return f"licensing:draft:{case_id}"


def _draft_keep(request, case_id: int, data) -> None:
    """What the user typed, kept across the redirect so that an error loses nothing."""
    request.session[_draft_key(case_id)] = {
        "action": data.get("action", ""), "note": data.get("note", ""), "new_due_at": data.get("new_due_at", ""),
    }


def _draft_pop(request, case_id: int) -> dict:
    return request.session.pop(_draft_key(case_id), None) or {}


def _action_forms(case, user, draft: dict, only: tuple[str, ...] | None = None) -> list[dict]:
    roles = r.user_roles(user)
    available = transitions_available(domain=case.case_type.domain, state=case.state, roles=roles)
    order = only or ACTION_ORDER  # the usual next step first, the exceptional ones last
    available = sorted((t for t in available if only is None or t.action in only),
                       key=lambda t: order.index(t.action) if t.action in order else len(order))
    forms = []
    for transition in available:
        mine = draft.get("action") == transition.action
        against = decision_against_proposal(case, transition)
        forms.append({
            "action": transition.action,
            "label": _decision_label(case, transition, against),
            "requires_note": transition.requires_note or against,
            "against": against,
            "needs_date": transition.action == "apologise_late",
            "note": draft.get("note", "") if mine else "",
            "new_due_at": draft.get("new_due_at", "") if mine else "",
            "open": mine,
            "style": {"approve": "primary", "propose_grant": "primary", "refuse": "danger", "withdraw": "danger",
                      "revoke": "danger", "propose_refusal": "danger"}.get(transition.action, ""),
        })
    return forms


def _decision_label(case, transition, against: bool) -> str:
    """The head's buttons say what they decide: "Grant the licence" (or the written approval, for a procedure whose
    result is one), "Agree to refuse", and mark a decision against the officer's proposal."""
    if transition.action == "approve":
        label = _("Grant the licence") if case.terms.result_unit == "GP" else _("Grant the written approval")
        return _("%(label)s (against the proposal)") % {"label": label} if against else label
    if transition.action == "refuse" and against:
        return _("Refuse (against the proposal)")
    return str(transition.label)


# --- My queue ----------------------------------------------------------------------------------------------


@require_GET
@roles_required(selectors.LICENSING_READERS)
def queue(request):
    user = request.user
    now = timezone.now()
    page = Paginator(selectors.queue_for(user=user, now=now), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "cases": page.object_list, "now": now, "due_soon_hours": settings.DUE_SOON_HOURS}
    text = (request.GET.get("q") or "").strip()[:100]
    if text:
        context.update(q=text, found=list(selectors.cases_search(user=user, text=text, now=now)[:SEARCH_SHOWN]))
    received = selectors.received_by(user=user, now=now)
    context.update(received=list(received[:UNASSIGNED_SHOWN]), received_count=received.count())
    if r.user_roles(user) & r.ASSIGN_ROLES["licensing"]:
        unassigned = selectors.unassigned_open(user=user, now=now)
        context.update(unassigned=list(unassigned[:UNASSIGNED_SHOWN]), unassigned_count=unassigned.count(),
                       assign_form=AssignForm(agency_ids=agency_ids_member(user)))
    context.update({name: count(user) for name, count in QUEUE_COUNTS.items()})
    _online_mark([*page.object_list, *context.get("found", []), *context["received"], *context.get("unassigned", [])])
    return render(request, "licensing/queue.html", context)


def _online_mark(cases) -> None:
    """Mark the cases that were submitted online (they have a `submission`, from the portal): one query for all
    the rows shown."""
    cases = list(cases)
    if not cases:
        return
    online = set(Case.objects.filter(pk__in=[case.pk for case in cases], submission__isnull=False)
                 .values_list("pk", flat=True))
    for case in cases:
        case.online = case.pk in online


# --- Case detail and its forms ----------------------------------------------------------------------------


@require_GET
@login_required
def case_detail(request, pk: int):
    case = _case_get(request, pk)
    user = request.user
    code = case.case_type.code
    spec = PROCEDURES.get(code)
    try:
        dossier = case.dossier
    except Dossier.DoesNotExist:
        dossier = None
    labels = required_file_labels(code)
    attachments = list(case.attachments.select_related("uploaded_by"))
    kind_labels = dict(attachment_kind_choices(code))
    for attachment in attachments:
        attachment.kind_label = kind_labels.get(attachment.kind, attachment.kind) if attachment.kind else "–"
    present = {a.kind for a in attachments}
    now = timezone.now()
    soon_until = now + timedelta(hours=settings.DUE_SOON_HOURS)
    # A predecessor's archive is read, not changed: no action, file, note or assignment is offered on it.
    acting = selectors.agency_acts_for(user, case.agency_id)
    if not acting:
        messages.info(request, _("This case is in the records of %(agency)s: you can read it, not change it.")
                      % {"agency": case.agency})
    may_work = acting and case_domain_roles_may_work(user=user, domain="licensing")
    may_assign = acting and bool(r.user_roles(user) & r.ASSIGN_ROLES["licensing"]) and case.state not in TERMINAL
    draft = _draft_pop(request, case.pk)
    documents = list(case.documents.select_related("verifiable"))
    proposal_event = case.events.filter(kind="transition", action__in=selectors.PROPOSAL_ACTIONS) \
        .select_related("actor").order_by("-at", "-id").first()
    context = {
        "case": case,
        "dossier": dossier,
        "organisation": dossier.organisation if dossier else None,
        "dossier_rows": dossier_rows(spec, dossier.fields) if (spec and dossier) else [],
        "required_files": [{"kind": k, "label": label, "present": k in present} for k, label in labels.items()],
        "missing_labels": [labels.get(k, k) for k in (dossier.missing if dossier else [])],
        "attachments": attachments,
        "documents": documents,
        "receipt": next((d for d in documents if d.kind == IssuedDocument.Kind.RECEIPT), None),
        # A dossier received in the service gets its receipt seconds after (its task waiting in the outbox); one
        # imported from a register, or received before receipts were issued, has none.
        "receipt_waiting": dossier is not None and not any(d.kind == IssuedDocument.Kind.RECEIPT for d in documents)
        and OutboxMessage.objects.filter(task_name=RECEIPT_TASK, kwargs__case_id=case.pk,
                                         done_at__isnull=True).exists(),
        "receipt_secret": receipt_secret_printed(dossier.receipt_secret) if dossier else "",
        "timeline": timeline_rows(case.events.select_related("actor").order_by("at", "id"), case_type_code=code),
        "actions": _action_forms(case, user, draft) if acting else [],
        "late": case.is_overdue,
        "soon": bool(case.due_at and case.state in CLOCK_RUNNING and not case.is_overdue and case.due_at < soon_until),
        "paused": case.state == State.SUPPLEMENT_REQUESTED,
        "proposal_label": PROPOSAL_LABELS.get(case.proposal, ""),
        "proposal_event": proposal_event,
        "may_work": may_work,
        "upload_form": AttachmentForm(kinds=attachment_kind_choices(code)) if may_work else None,
        "note_form": NoteForm() if may_work else None,
        "assign_form": AssignForm(initial={"assignee": case.assignee_id}, agency_ids=[case.agency_id])
        if may_assign else None,
        "issuing": case.state == State.APPROVED,
        "issue_failure": case.events.filter(kind=CaseEvent.Kind.ISSUE_FAILED).order_by("-at", "-id").first()
        if case.state == State.APPROVED else None,
    }
    return render(request, "licensing/case_detail.html", context)


@require_POST
@login_required
def case_transition_view(request, pk: int):
    case = _case_get(request, pk)
    form = TransitionForm(request.POST)
    back = _back(request, case, request.POST.get("next", ""))
    if not form.is_valid():
        _draft_keep(request, case.pk, request.POST)
        messages.error(request, _form_errors_message(form))
        return redirect(back)
    data = form.cleaned_data
    try:
        case_transition(case_id=case.pk, actor=request.user, action=data["action"], version=data["version"],
                        note=data["note"], new_due_at=data["new_due_at"])
    except DomainError as exc:
        _draft_keep(request, case.pk, request.POST)
        messages.error(request, domain_error_message(exc))
        return redirect(back)
    transition = transition_get("licensing", data["action"])
    messages.success(request, _("Done: “%(action)s” on case %(reference)s.")
                     % {"action": transition.label, "reference": case.reference})
    return redirect(back)


@require_POST
@login_required
def case_attachment_upload(request, pk: int):
    case = _case_get(request, pk)
    back = reverse("licensing:case", args=[case.pk]) + "#files"
    form = AttachmentForm(request.POST, request.FILES, kinds=attachment_kind_choices(case.case_type.code))
    if not form.is_valid():
        messages.error(request, _form_errors_message(form))
        return redirect(back)
    data = form.cleaned_data
    try:
        attachment, created = attachment_add(case_id=case.pk, actor=request.user, upload=data["file"],
                                             description=data["description"], kind=data["kind"])
    except DomainError as exc:
        messages.error(request, domain_error_message(exc))
        return redirect(back)
    if created:
        messages.success(request, _("File “%(name)s” attached.") % {"name": attachment.original_name})
    else:
        messages.info(request, _("This file was already attached as “%(name)s”.") % {"name": attachment.original_name})
    return redirect(back)


@require_POST
@login_required
def case_assign_view(request, pk: int):
    case = _case_get(request, pk)
    form = AssignForm(request.POST, agency_ids=[case.agency_id])
    back = _back(request, case, request.POST.get("next", ""))
    if not form.is_valid():
        messages.error(request, _form_errors_message(form))
        return redirect(back)
    assignee = form.cleaned_data["assignee"]
    try:
        case_assign(case_id=case.pk, actor=request.user, assignee=assignee, version=form.cleaned_data["version"])
    except DomainError as exc:
        messages.error(request, domain_error_message(exc))
        return redirect(back)
    if assignee is None:
        messages.success(request, _("Case %(reference)s is no longer assigned.") % {"reference": case.reference})
    else:
        messages.success(request, _("Case %(reference)s assigned to %(name)s.")
                         % {"reference": case.reference, "name": assignee.get_full_name() or assignee.username})
    return redirect(back)


@require_POST
@login_required
def case_note_view(request, pk: int):
    case = _case_get(request, pk)
    back = reverse("licensing:case", args=[case.pk]) + "#timeline"
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors_message(form))
        return redirect(back)
    try:
        case_note_add(case_id=case.pk, actor=request.user, text=form.cleaned_data["text"])
    except DomainError as exc:
        messages.error(request, domain_error_message(exc))
        return redirect(back)
    messages.success(request, _("Note added to the timeline."))
    return redirect(back)


# --- Receiving a dossier ----------------------------------------------------------------------------------


def _procedures() -> list[tuple[str, str]]:
    types = CaseType.objects.filter(domain="licensing", active=True, code__in=list(PROCEDURES)).order_by(
        "report_order", "code")
    return [(t.code, t.name_vi) for t in types]


@require_http_methods(["GET", "POST"])
@roles_required(r.CREATE_ROLES["licensing"])
def receive(request):
    procedures = _procedures()
    names = dict(procedures)
    code = request.POST.get("procedure") if request.method == "POST" else request.GET.get("procedure")
    if code not in names:
        if code:
            messages.error(request, _("Unknown procedure."))
        return render(request, "licensing/receive.html", {"procedures": procedures, "procedure": None})
    spec = PROCEDURES[code]
    agencies = _receiving_agencies(request.user, code)
    if request.method == "GET":
        form = ReceiveForm(procedure=spec, agencies=agencies, initial={"uuid": uuid_lib.uuid4(), "procedure": code})
    else:
        form = ReceiveForm(request.POST, procedure=spec, agencies=agencies)
        if form.is_valid():
            fields = form.dossier_fields()
            if form.is_valid():  # a list input that could not be read adds its error above
                case = _receive_call(request, form, code, fields)
                if case is not None:  # the case page offers the receipt to print at its top
                    return redirect("licensing:case", pk=case.pk)
    context = {
        "procedures": procedures, "procedure": code, "procedure_name": names[code], "form": form,
        "organisation_inputs": [form[name] for name in form.fields if name.startswith("org_") or name == "agency"],
        "dossier_inputs": [{"field": form[name], "wide": isinstance(form.fields[name].widget, forms.Textarea)}
                           for name in form.dossier_names],
        "required_files": [label for _kind, label in spec.required_files],
    }
    return render(request, "licensing/receive.html", context)


def _receiving_agencies(user, code: str) -> list:
    """The user's agencies that handle the procedure today: when there are several, the form asks which one
    receives the dossier."""
    member = agency_ids_member(user)
    return [agency for agency in agencies_competent(case_type=CaseType.objects.get(code=code),
                                                    day=timezone.localdate()) if agency.pk in member]


def _receive_call(request, form, code: str, fields: dict):
    data = form.cleaned_data
    try:
        case, created = application_receive(
            actor=request.user, procedure=code, fields=fields, organisation=form.organisation(),
            received_at=data["received_at"], contact_email=data["org_email"], contact_phone=data["org_phone"],
            uuid=data["uuid"], agency=data.get("agency"))
    except ValidationFailed as exc:
        form.errors_apply(exc.extra.get("errors") or {})
        messages.error(request, domain_error_message(exc))
        return None
    except DomainError as exc:
        messages.error(request, domain_error_message(exc))
        return None
    if created:
        messages.success(request, _("Dossier received: %(reference)s.") % {"reference": case.reference})
    else:
        messages.info(request, _("This dossier was already received as %(reference)s.")
                      % {"reference": case.reference})
    return case


# --- The head's approval queue -------------------------------------------------------------------------------


@require_GET
@roles_required(selectors.LICENSING_DECIDERS)
def approvals(request):
    now = timezone.now()
    cases = list(selectors.approvals_pending(user=request.user, now=now))
    entries = []
    for case in cases:
        event = case.proposal_events[0] if case.proposal_events else None
        try:
            dossier = case.dossier
        except Dossier.DoesNotExist:
            dossier = None
        labels = required_file_labels(case.case_type.code)
        entries.append({
            "case": case,
            "proposal_label": PROPOSAL_LABELS.get(case.proposal, ""),
            "proposal_event": event,
            "missing": [labels.get(k, k) for k in (dossier.missing if dossier and dossier.complete is False else [])],
            "actions": _action_forms(case, request.user, _draft_pop(request, case.pk),
                                     only=("approve", "refuse", "return_for_review")),
        })
    not_issued = []
    for case in selectors.results_not_issued(user=request.user):
        not_issued.append({"case": case, "failure": case.issue_failures[0] if case.issue_failures else None,
                           "actions": _action_forms(case, request.user, _draft_pop(request, case.pk),
                                                    only=("retry_issue", "reopen_decision"))})
    return render(request, "licensing/approvals.html", {"entries": entries, "now": now, "not_issued": not_issued})


# --- The permits registry -------------------------------------------------------------------------------------


@require_GET
@roles_required(selectors.LICENSING_READERS)
def permits(request):
    form = PermitSearchForm(request.GET or None)
    data = {}
    if form.is_bound:
        form.is_valid()
        clean = form.cleaned_data
        data = {key: clean.get(key) for key in ("q", "procedure", "revoked") if clean.get(key)}
        # The registry's filter reads a day as people do: from its first minute, up to and including it.
        if clean.get("issued_from"):
            data["issued_after"] = clean["issued_from"].isoformat()
        if clean.get("issued_to"):
            data["issued_before"] = clean["issued_to"].isoformat()
    registry = PermitFilter(data, queryset=selectors.permits_visible(user=request.user))
    page = Paginator(registry.qs, PERMITS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "licensing/permits.html", {
        "form": form, "page": page, "permits": page.object_list, "query": query.urlencode(),
        "filtered": bool(data),
    })
