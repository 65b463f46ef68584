"""The officers' pages for dossiers submitted online (/online/): the ones waiting, oldest first, for the agencies the
officer works for; one dossier with its fields and files, and the three answers: receive it (its case begins now),
ask to complete it first, refuse to receive it (with reasons). Every answer is a service that re-checks the role,
the agency and the version: a button shown is a convenience, not the security."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.attachments import download_name
from cases.deadlines import WorkCalendar
from cases.errors import DomainError
from licensing import views as licensing_views
from licensing.display import dossier_rows
from licensing.procedures import PROCEDURES
from licensing.views import roles_required

from .. import submissions as services
from ..forms import ReasonsForm
from ..models import Representative, Submission

QUEUE_PAGE_SIZE = 50
# The licensing queue page shows how many online dossiers wait (licensing does not import the portal).
licensing_views.QUEUE_COUNTS["online_waiting"] = lambda user: services.office_queue(user).count()


@require_GET
@roles_required(services.OFFICE_ROLES)
def queue(request):
    page = Paginator(services.office_queue(request.user), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    calendar = WorkCalendar()  # the calendar's overrides read once for the page, not once a row
    names = {item["code"]: item["name"] for item in services.procedures_offered()}
    for submission in page.object_list:
        submission.procedure_name = names.get(submission.procedure, submission.procedure)
        submission.waiting_hours = int((now - submission.submitted_at).total_seconds() // 3600)
        submission.answer_due = services.answer_due(submission, calendar=calendar)
        submission.answer_late = submission.answer_due < now
    return render(request, "applicants/office/queue.html", {"page": page, "submissions": page.object_list,
                                                            "answer_days": settings.ONLINE_ANSWER_WORKING_DAYS})


def _visible(request, uuid) -> Submission:
    return get_object_or_404(services.office_visible(request.user).select_related(
        "organisation", "agency", "case", "created_by", "handled_by"), uuid=uuid)


@require_GET
@roles_required(services.OFFICE_ROLES)
def submission_detail(request, uuid):
    submission = _visible(request, uuid)
    spec = PROCEDURES[submission.procedure]
    labels = dict(services.file_kinds(submission.procedure))
    files = list(submission.files.all())
    for item in files:
        item.kind_label = labels.get(item.kind, item.kind)
    draft = request.session.pop(f"portal-office:draft:{submission.uuid}", None) or {}
    return render(request, "applicants/office/submission.html", {
        "submission": submission, "procedure_name": services.procedure_name(submission.procedure),
        "representative": Representative.objects.filter(user_id=submission.created_by_id).first(),
        "rows": dossier_rows(spec, submission.fields), "files": files,
        "missing": [labels.get(k, k) for k in services.files_missing(submission)],
        "waiting": submission.state == Submission.State.SUBMITTED, "draft": draft,
        "answer_due": services.answer_due(submission) if submission.state == Submission.State.SUBMITTED else None,
        "now": timezone.now(),
    })


@require_GET
@roles_required(services.OFFICE_ROLES)
def submission_file(request, uuid, file_uuid):
    submission = _visible(request, uuid)
    item = submission.files.filter(uuid=file_uuid).first()
    if item is None:
        raise Http404
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=download_name(item),
                        content_type=item.content_type)


ANSWERS = {
    "receive": None,
    "request_completion": services.submission_request_completion,
    "refuse": services.submission_refuse,
}


@require_POST
@roles_required(services.OFFICE_ROLES)
def submission_answer(request, uuid, answer):
    submission = _visible(request, uuid)
    if answer not in ANSWERS:
        raise Http404
    back = redirect("portal-office:submission", uuid=submission.uuid)
    form = ReasonsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form could not be read: reload the page and try again."))
        return back
    version, reasons = form.cleaned_data["version"], form.cleaned_data["reasons"]
    try:
        if answer == "receive":
            case, created = services.submission_receive(actor=request.user, submission_uuid=submission.uuid,
                                                        version=version)
        else:
            ANSWERS[answer](actor=request.user, submission_uuid=submission.uuid, version=version, reasons=reasons)
    except DomainError as exc:
        request.session[f"portal-office:draft:{submission.uuid}"] = {"answer": answer, "reasons": reasons}
        messages.error(request, str(exc.detail))
        return back
    if answer == "receive":
        if created:
            messages.success(request, _("Dossier received: %(reference)s.") % {"reference": case.reference})
        else:
            messages.info(request, _("This dossier was already received as %(reference)s.")
                          % {"reference": case.reference})
        return redirect("licensing:case", pk=case.pk)
    if answer == "refuse":
        messages.success(request, _("The dossier was not received; the applicant is told why by e-mail."))
    else:
        messages.success(request, _("The applicant is asked by e-mail to complete the dossier."))
    return redirect("portal-office:queue")


urlpatterns = [
    path("", queue, name="queue"),
    path("<uuid:uuid>/", submission_detail, name="submission"),
    path("<uuid:uuid>/files/<uuid:file_uuid>/", submission_file, name="file"),
    path("<uuid:uuid>/<str:answer>/", submission_answer, name="answer"),
]
