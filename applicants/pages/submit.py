"""The portal's dossier pages: choose a procedure, fill its form (the counter's inputs, from the same definitions),
attach the files it needs, declare and submit; withdraw before receipt. Every page is the representative's
organisation's only (another organisation's dossier is not found). What was typed is never lost on an error: the
page comes back with it and the reasons next to the inputs."""

import uuid as uuid_lib

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.attachments import download_name
from cases.errors import DomainError, StaleVersion, ValidationFailed
from licensing.display import dossier_rows
from licensing.forms import dossier_initial, error_messages
from licensing.procedures import PROCEDURES

from .. import submissions as services
from ..access import applicant_required, submissions_visible
from ..forms import FILE_PREFIX, SubmissionForm
from ..models import Submission

State = Submission.State


def _own(request, submission_uuid) -> Submission:
    return get_object_or_404(submissions_visible(request.user).select_related("agency", "case"), uuid=submission_uuid)


@require_http_methods(["GET", "POST"])
@applicant_required
def submission_new(request):
    offered = services.procedures_offered()
    if request.method == "POST":
        code = request.POST.get("procedure", "")
        try:
            token = uuid_lib.UUID(request.POST.get("uuid", ""))
        except ValueError:
            token = None
        try:
            submission, _created = services.submission_create(representative=request.representative,
                                                              procedure=code, uuid=token)
        except DomainError as exc:
            messages.error(request, str(exc.detail))
        else:
            return redirect("portal:submission-edit", uuid=submission.uuid)
    for item in offered:
        item["token"] = uuid_lib.uuid4()  # one draft per click, even if the click is sent twice
    drafts = submissions_visible(request.user).filter(state__in=services.EDITABLE).order_by("-updated_at")[:20]
    names = {item["code"]: item["name"] for item in offered}
    for draft in drafts:
        draft.procedure_name = names.get(draft.procedure, draft.procedure)
    return render(request, "applicants/submit/new.html", {"procedures": offered, "drafts": drafts})


def _form(submission, data=None, files=None) -> SubmissionForm:
    spec = PROCEDURES[submission.procedure]
    kinds = services.file_kinds(submission.procedure)
    if data is None:
        initial = {**dossier_initial(spec, submission.fields), "version": submission.version}
        return SubmissionForm(procedure=spec, kinds=kinds, initial=initial)
    return SubmissionForm(data, files, procedure=spec, kinds=kinds)


def _context(submission: Submission, form: SubmissionForm | None) -> dict:
    spec = PROCEDURES[submission.procedure]
    files = list(submission.files.all())
    labels = dict(services.file_kinds(submission.procedure))
    required = {kind for kind, _label in spec.required_files}
    groups = []
    for kind, label in services.file_kinds(submission.procedure):
        groups.append({"kind": kind, "label": label, "required": kind in required,
                       "files": [f for f in files if f.kind == kind],
                       "input": form[FILE_PREFIX + kind] if form is not None else None})
    for item in files:
        item.kind_label = labels.get(item.kind, item.kind)
    return {
        "submission": submission, "form": form, "procedure_name": services.procedure_name(submission.procedure),
        "editable": submission.state in services.EDITABLE,
        "withdrawable": submission.state in services.WITHDRAWABLE,
        "dossier_inputs": [form[name] for name in form.dossier_names] if form is not None else [],
        "file_groups": groups, "files": files,
        "rows": dossier_rows(spec, submission.fields),
        "missing": [labels.get(k, k) for k in services.files_missing(submission)],
    }


@require_http_methods(["GET", "POST"])
@applicant_required
def submission_edit(request, uuid):
    submission = _own(request, uuid)
    if request.method == "GET" or submission.state not in services.EDITABLE:
        form = _form(submission) if submission.state in services.EDITABLE else None
        return render(request, "applicants/submit/edit.html", _context(submission, form))
    form = _form(submission, request.POST, request.FILES)
    action = request.POST.get("action", "save")
    ok = _save(request, submission, form, action)
    submission.refresh_from_db()
    if ok and action == "submit":
        messages.success(request, _("Your dossier was submitted. The agency will receive it or tell you what to "
                                    "complete; you will be told by e-mail."))
        return redirect("portal:submission-edit", uuid=submission.uuid)
    if ok:
        messages.success(request, _("Draft saved."))
        return redirect("portal:submission-edit", uuid=submission.uuid)
    # Back to the page with what was typed, and the current version (what was saved meanwhile stays saved).
    form.data = form.data.copy()
    form.data["version"] = str(submission.version)
    return render(request, "applicants/submit/edit.html", _context(submission, form), status=400)


def _save(request, submission: Submission, form: SubmissionForm, action: str) -> bool:
    """The fields, then the files, removals and the submission, each its own service; True if all went through."""
    representative = request.representative
    ok = form.is_valid()
    fields = form.dossier_fields() if ok else None
    if fields is not None and form.is_valid():
        version = form.cleaned_data["version"]
        try:
            services.submission_update(representative=representative, submission_uuid=submission.uuid,
                                       fields=fields, version=version)
        except StaleVersion as exc:
            form.add_error(None, str(exc.detail))
            ok = False
        except ValidationFailed as exc:
            _errors_apply(form, exc)
            ok = False
        except DomainError as exc:
            form.add_error(None, str(exc.detail))
            return False
    else:
        ok = False
    for kind, upload in form.uploads(request.FILES):
        try:
            services.file_add(representative=representative, submission_uuid=submission.uuid, upload=upload,
                              kind=kind)
        except DomainError as exc:
            for message in error_messages((exc.extra.get("errors") or {}).get("file") or [str(exc.detail)]):
                form.add_error(FILE_PREFIX + kind, f"{upload.name}: {message}")
            ok = False
    if action.startswith("remove:"):
        try:
            services.file_remove(representative=representative, submission_uuid=submission.uuid,
                                 file_uuid=uuid_lib.UUID(action.removeprefix("remove:")))
        except (ValueError, DomainError):
            form.add_error(None, _("The file could not be removed."))
            ok = False
        else:
            messages.info(request, _("File removed."))
    if ok and action == "submit":
        submission.refresh_from_db()
        try:
            services.submission_submit(representative=representative, submission_uuid=submission.uuid,
                                       version=submission.version, declared=form.cleaned_data["declaration"])
        except ValidationFailed as exc:
            _errors_apply(form, exc)
            ok = False
        except DomainError as exc:
            form.add_error(None, str(exc.detail))
            ok = False
    return ok


def _errors_apply(form: SubmissionForm, exc: ValidationFailed) -> None:
    errors = exc.extra.get("errors") or {}
    for key, detail in errors.items():
        if key == "fields":
            form.fields_errors_apply(detail)
        elif key == "declaration":
            for message in error_messages(detail):
                form.add_error("declaration", message)
        else:
            for message in error_messages(detail):
                form.add_error(None, message)
    if not errors:
        form.add_error(None, str(exc.detail))


@require_POST
@applicant_required
def submission_withdraw(request, uuid):
    submission = _own(request, uuid)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        services.submission_withdraw(representative=request.representative, submission_uuid=submission.uuid,
                                     version=version)
    except DomainError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("The dossier was withdrawn."))
    return redirect("portal:submission-edit", uuid=submission.uuid)


@require_GET
@applicant_required
def submission_file(request, uuid, file_uuid):
    submission = _own(request, uuid)
    item = submission.files.filter(uuid=file_uuid).first()
    if item is None:
        raise Http404
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=download_name(item),
                        content_type=item.content_type)


urlpatterns = [
    path("dossiers/new/", submission_new, name="submission-new"),
    path("dossiers/drafts/<uuid:uuid>/", submission_edit, name="submission-edit"),
    path("dossiers/drafts/<uuid:uuid>/withdraw/", submission_withdraw, name="submission-withdraw"),
    path("dossiers/drafts/<uuid:uuid>/files/<uuid:file_uuid>/", submission_file, name="submission-file"),
]
