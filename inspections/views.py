"""The inspectors' tablet pages: my visits, the checklist of one target, and the service worker that keeps
them usable without a connection.

Server-rendered; the pages hold no form posts. What the inspector records is kept in the browser (IndexedDB,
under ids the tablet makes) and sent through the API (findings/batch, photos) when there is a connection, so
the rules stay in the services: a page shows what the API would accept, the API decides.
"""

import hashlib
import json
from functools import lru_cache, wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from agencies.selectors import agency_ids_member
from cases import roles as r
from cases.workflow import State

from . import selectors
from .api.permissions import FIELD_ROLES as WRITE_ROLES
from .api.review import fieldwork_data
from .models import Finding, Outcome

# Who records findings on a tablet: the API's writing roles (inspector, lead, head, administrator), on the team.
PAGE_ROLES = WRITE_ROLES
SHELL_STATIC = ("inspections/tablet.js", "inspections/tablet.css", "sttt/site.css")
BATCH_SIZE = 50  # findings per batch request (the API takes up to 500)
NETWORK_TIMEOUT_MS = 6000  # a page answers from the tablet's copy when the network is slower than this
PING_TIMEOUT_MS = 4000  # the connection badge: "the server answers" only if the ping comes back within this
PHOTO_MAX_SIDE = 1600  # a camera photo is scaled to this longer side on the tablet before it is queued
PHOTO_QUALITY = 0.8  # and encoded as JPEG at this quality (issue 17, item 8; docs/PERFORMANCE.md)


def _field_roles_required(view):
    """Signed in (else to the login page) and holding a role that records findings (else 403)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (r.user_roles(request.user) & PAGE_ROLES):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def result_labels() -> dict[str, str]:
    """The three answers as the buttons say them (short, for a touch screen)."""
    return {
        Finding.Result.COMPLIANT: pgettext("finding result", "Compliant"),
        Finding.Result.VIOLATION: pgettext("finding result", "Violation"),
        Finding.Result.NOT_APPLICABLE: pgettext("finding result", "Not applicable"),
    }


def outcome_labels() -> list[tuple[str, str]]:
    """The outcomes an inspector can close a visit with on the tablet (target_outcome_set decides)."""
    return [(value, label) for value, label in Outcome.choices if value != Outcome.PENDING]


def _messages() -> dict[str, str]:
    """The sentences the page's script shows, translated here (placeholders: %(name)s)."""
    return {
        "online": _("Connected"),  # the server answered the last ping
        "offline": _("No connection"),
        "server_down": _("Server not answering"),
        "checking": _("Checking the connection…"),
        "sync_server_down": _("The server does not answer: what you record stays on this tablet and is sent as "
                              "soon as it answers."),
        "result_photo": _("Photo taken"),
        "disputed": _("Your colleagues recorded a different result: the team lead will review this item."),
        "others_title": _("Colleagues' findings"),
        "review_needs_correction": _("The team lead asks for a correction: %(note)s"),
        "review_rejected": _("The team lead rejected this finding: %(note)s"),
        "review_accepted": _("Accepted by the team lead"),
        "photo_scaling": _("Preparing the photo…"),
        "finish_waiting": _("Send what is waiting first (sync), then finish the visit."),
        "finish_offline": _("The server does not answer: finish the visit when it does."),
        "finish_done": _("The visit is finished: %(outcome)s."),
        "finish_refused": _("Not finished: %(reason)s"),
        "pending": _("Waiting to sync: %(findings)s findings, %(photos)s photos"),
        "last_sync": _("Synced at %(time)s: the server confirmed %(findings)s findings and %(photos)s photos."),
        "last_sync_nothing": _("Synced at %(time)s: nothing was waiting."),
        "never_synced": _("Not synced yet on this tablet."),
        "syncing": _("Syncing…"),
        "sync_offline": _("No connection: what you record stays on this tablet and is sent when the connection "
                          "returns."),
        "sync_auth": _("Your session has ended: sign in again to send what is waiting. Nothing is lost."),
        "sync_error": _("The server could not take the data (%(status)s); it will be tried again."),
        "conflicts": _("Conflicts: %(count)s"),
        "rejected": _("Refused: %(count)s"),
        "offline_ready": _("Saved on this tablet for use without a connection."),
        "offline_unavailable": _("This browser cannot keep the pages for use without a connection."),
        "not_recorded": _("Not recorded yet"),
        "state_pending": _("Waiting to sync"),
        "state_synced": _("Synced"),
        "state_server": _("Stored on the server"),
        "recorded_by": _("Recorded by %(name)s"),
        "state_conflict": _("Conflict: the server already holds a different finding under this id (%(stored)s). "
                            "Choose the result again to record it as a new finding."),
        "state_rejected": _("Refused by the server: %(reason)s Choose the result again to record it anew."),
        "photos_waiting": _("%(count)s photos waiting"),
        "photos_stored": _("%(count)s photos stored"),
        "photo_needed": _("This result needs a photo."),
        "photo_refused": _("Photo refused: %(reason)s"),
        "photo_conflict": _("Photo conflict: %(reason)s"),
        "photo_first_result": _("Choose a result before taking a photo."),
        "location_ok": _("Location: ±%(accuracy)s m"),
        "location_wait": _("Looking for the location…"),
        "location_none": _("No location (%(reason)s): findings are recorded without it."),
        "location_unsupported": _("not available on this device"),
        "location_denied": _("permission refused"),
        "location_failed": _("not found"),
        "storage_failed": _("This tablet could not store the data (%(reason)s)."),
        "target_pending": _("Waiting: %(findings)s findings, %(photos)s photos"),
    }


def _page_config(request, **extra) -> dict:
    return {
        "user": request.user.pk,
        "urls": {
            "batch": reverse("inspection-finding-batch"),
            "photos": reverse("inspection-photo-list"),
            "sw": reverse("inspections:sw"),
            "scope": reverse("inspections:visits"),
            "ping": reverse("inspection-ping"),
        },
        "ping_timeout_ms": PING_TIMEOUT_MS,
        "photo_max_side": PHOTO_MAX_SIDE,
        "photo_quality": PHOTO_QUALITY,
        "batch_size": BATCH_SIZE,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "results": result_labels(),
        "messages": _messages(),
        **extra,
    }


# --- My visits ---------------------------------------------------------------------------------------------


@require_GET
@_field_roles_required
def visits(request):
    """The targets assigned to me in the campaigns of my agencies that are in the field, by campaign (a
    predecessor's campaign not transferred is its archive: read through the API, not recorded in)."""
    user = request.user
    targets = (
        selectors.targets_visible(user=user)
        .filter(inspectors=user, campaign__case__state=State.IN_FIELD,
                campaign__case__agency_id__in=agency_ids_member(user))
        .select_related("campaign__checklist", "campaign__case__assignee")
        .annotate(items_done=Count("findings__item", distinct=True))
        .order_by("campaign__period_start", "campaign_id", F("planned_on").asc(nulls_last=True), "establishment__name",
                  "pk")
    )
    today = timezone.localdate()
    totals: dict[int, int] = {}
    groups: list[dict] = []
    for target in targets:
        campaign = target.campaign
        if campaign.checklist_id not in totals:
            totals[campaign.checklist_id] = campaign.checklist.items.count()
        target.items_total = totals[campaign.checklist_id]
        target.is_today = target.planned_on == today
        if not groups or groups[-1]["campaign"].pk != campaign.pk:
            groups.append({"campaign": campaign, "targets": []})
        groups[-1]["targets"].append(target)
    context = {
        "groups": groups,
        "today": today,
        "today_count": sum(1 for g in groups for t in g["targets"] if t.is_today),
        "rendered_at": timezone.localtime(),
        "config": _page_config(request, page="visits",
                               targets=[reverse("inspections:target", args=[t.pk]) for g in groups
                                        for t in g["targets"]]),
    }
    return render(request, "inspections/visits.html", context)


# --- The checklist of one target -------------------------------------------------------------------------------


@require_GET
@login_required
def target_detail(request, pk: int):
    """The checklist of one visit. A target the user cannot see is 404; one they see but whose campaign team
    they are not on (a lead or the head looking on) is 403: recording is for the team."""
    target = get_object_or_404(
        selectors.targets_visible(user=request.user).select_related(
            "campaign__checklist", "campaign__case__assignee", "establishment__print_facility"), pk=pk)
    case = target.campaign.case
    if not (r.user_roles(request.user) & PAGE_ROLES and selectors.on_team(case, request.user)):
        raise PermissionDenied
    items = list(target.campaign.checklist.items.order_by("order", "pk"))
    # Every inspector's findings per item as the API's fieldwork gives them (the page's script refreshes them from
    # there after each sync): the tablet shows colleagues' findings beside its own, never mixes them.
    fieldwork = fieldwork_data(target)
    by_item = {entry["item"]: entry for entry in fieldwork["items"]}
    labels = result_labels()
    rows = []
    for item in items:
        entry = by_item.get(item.pk, {"current": [], "replaced": [], "disputed": False})
        mine = [f for f in entry["current"] + entry["replaced"] if f["inspector"]["id"] == request.user.pk]
        mine.sort(key=lambda f: f["device_time"])
        own = mine[-1] if mine else None
        rows.append({"item": item, "own": own, "others": [f for f in entry["current"]
                                                          if f["inspector"]["id"] != request.user.pk],
                     "disputed": entry["disputed"], "photos": len(own["photos"]) if own else 0,
                     "result_label": labels.get(own["result"], "") if own else ""})
    # Recording is for the staff of the agency holding the campaign: a predecessor's campaign is only read here.
    editable = case.state == State.IN_FIELD and case.agency_id in agency_ids_member(request.user)
    context = {
        "target": target,
        "campaign": target.campaign,
        "case": case,
        "establishment": target.establishment,
        "rows": rows,
        "results": list(labels.items()),
        "editable": editable,
        "inspectors": list(target.inspectors.all()),
        "rendered_at": timezone.localtime(),
        "outcomes": outcome_labels(),
        "config": _page_config(request, page="target", target=target.pk, editable=editable,
                               server=fieldwork["items"], outcome=target.outcome,
                               items={str(i.pk): {"photo_required": i.photo_required, "photo_only": i.photo_only,
                                                  "order": i.order} for i in items},
                               fieldwork_url=reverse("inspection-target-fieldwork", args=[target.pk]),
                               outcome_url=reverse("inspection-target-outcome", args=[target.pk])),
    }
    return render(request, "inspections/target.html", context)


# --- Offline fallback and the service worker -------------------------------------------------------------------


@require_GET
def offline(request):
    """What the service worker shows for a page it never saved, when there is no connection."""
    return render(request, "inspections/offline.html", {"visits_url": reverse("inspections:visits")})


@lru_cache(maxsize=1)
def _shell_version() -> str:
    """Changes whenever the worker or a file it keeps changes, so that tablets install the new worker."""
    digest = hashlib.sha256(get_template("inspections/sw.js").template.source.encode())
    for name in SHELL_STATIC:
        path = finders.find(name)
        if path:
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:16]


@require_GET
@never_cache
def service_worker(request):
    """The service worker, served from /inspections/ so that its scope covers the tablet pages. Never cached by
    HTTP: the browser must see a new version as soon as it is deployed. No sign-in needed (no data in it)."""
    scope = reverse("inspections:visits")
    config = {
        "version": _shell_version(),
        "scope": scope,
        "shell": [scope, reverse("inspections:offline"), *[static(name) for name in SHELL_STATIC]],
        "offline": reverse("inspections:offline"),
        "sw": reverse("inspections:sw"),
        "static_prefix": static(""),
        "api_prefix": "/api/",
        "network_timeout_ms": NETWORK_TIMEOUT_MS,
    }
    body = render_to_string("inspections/sw.js", {"config_json": json.dumps(config)})
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    return response
