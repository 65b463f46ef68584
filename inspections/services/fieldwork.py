"""Fieldwork from the tablets: findings (idempotent by the client's UUID) and their photos."""

import hashlib
import json
import logging
import uuid as uuid_lib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.selectors import agency_ids_visible
from cases.errors import DomainError, ValidationFailed
from cases.models import Case
from cases.services import agency_member_required, case_lock, case_lock_shared
from cases.workflow import State
from worker.outbox import outbox_enqueue

from ..errors import (
    CampaignNotInField,
    FindingConflict,
    FindingNotReceived,
    NotOnTeam,
    PhotoConflict,
    ResultNotForItem,
)
from ..models import ChecklistItem, Finding, Photo, Target
from ..photos import photo_digest, photo_prepare, thumbnail_make
from ..selectors import findings_visible, on_team, photos_visible, team_ids
from ._common import DEVICE_CLOCK_SKEW, PHOTO_STATES, _decimal, _invalid, _not_future, _require_state
from .registry import _acts_for


def _finding_content(*, uuid, target_id: int, item_id: int, result: str, note: str, latitude, longitude, accuracy,
                     device_time: datetime, inspector_id: int) -> dict:
    """The finding as plain data, normalised so that the same finding always gives the same dict."""
    errors = {}
    if result not in Finding.Result.values:
        errors["result"] = [_("One of: %(values)s.") % {"values": ", ".join(Finding.Result.values)}]
    lat, lon, acc = _decimal(latitude, 6, "latitude"), _decimal(longitude, 6, "longitude"), _decimal(accuracy, 1,
                                                                                                      "accuracy")
    if (lat is None) != (lon is None):
        errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
    if lat is not None and not -90 <= lat <= 90:
        errors["latitude"] = [_("Latitude is between -90 and 90.")]
    if lon is not None and not -180 <= lon <= 180:
        errors["longitude"] = [_("Longitude is between -180 and 180.")]
    if acc is not None and (acc < 0 or acc >= Decimal("10000000")):
        errors["accuracy"] = [_("The accuracy is a distance in metres.")]
    if not isinstance(device_time, datetime) or timezone.is_naive(device_time):
        errors["device_time"] = [_("A time with its time zone is required.")]
    if errors:
        raise ValidationFailed(_("The finding is not valid."), extra={"errors": errors})
    return {
        "uuid": str(uuid), "target": target_id, "item": item_id, "result": result,
        "note": (note or "").replace("\r\n", "\n").strip(),
        "latitude": None if lat is None else f"{lat:.6f}", "longitude": None if lon is None else f"{lon:.6f}",
        "accuracy": None if acc is None else f"{acc:.1f}",
        "device_time": device_time.astimezone(UTC).isoformat(timespec="microseconds"),
        "inspector": inspector_id,
    }


def finding_content_stored(finding: Finding) -> dict:
    return _finding_content(uuid=finding.pk, target_id=finding.target_id, item_id=finding.item_id,
                            result=finding.result, note=finding.note, latitude=finding.latitude,
                            longitude=finding.longitude, accuracy=finding.accuracy, device_time=finding.device_time,
                            inspector_id=finding.inspector_id)


def _fingerprint(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _finding_same(stored: Finding, content: dict, fingerprint: str, actor) -> Finding:
    """The stored finding when the content is the same, else FindingConflict. The conflict shows the stored
    finding (its note, position, inspector) only to someone who may read it; anyone else learns only that the id
    is taken."""
    if stored.fingerprint == fingerprint:
        return stored
    if findings_visible(user=actor).filter(pk=stored.pk).exists():
        raise FindingConflict(extra={"stored": finding_content_stored(stored), "sent": content})
    raise FindingConflict(_("This id is already taken by a finding you may not see: record it under a new id."),
                          extra={"sent": content})


def _finding_from(content: dict, *, target, item, device_time: datetime, actor) -> Finding:
    """An unsaved finding from its normalised content, the same content its fingerprint is taken from."""
    def number(key: str) -> Decimal | None:
        return None if content[key] is None else Decimal(content[key])

    return Finding(id=uuid_lib.UUID(content["uuid"]), target=target, item=item, result=content["result"],
                   note=content["note"], latitude=number("latitude"), longitude=number("longitude"),
                   accuracy=number("accuracy"), device_time=device_time, inspector=actor,
                   fingerprint=_fingerprint(content))


def _result_fits(item: ChecklistItem, result: str) -> None:
    """A photo-only item's answer is "photo"; every other item's is compliant, violation or not applicable."""
    if item.photo_only != (result == Finding.Result.PHOTO):
        message = (_("This item asks only for a photo: its answer is “photo”.") if item.photo_only
                   else _("“photo” is the answer of photo-only items."))
        _invalid("result", message, error=ResultNotForItem)


def _by_pk(model_or_queryset, pk):
    """The row with this key or None, read without the model's default ordering (which joins other tables)."""
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    return next(iter(queryset.filter(pk=pk).order_by()[:1]), None)


def finding_submit(
    *, actor, uuid: uuid_lib.UUID, target_id: int, item_id: int, result: str, device_time: datetime,
    note: str = "", latitude=None, longitude=None, accuracy=None,
) -> tuple[Finding, bool]:
    """Store one finding a tablet made under its own id. Returns (finding, created).

    The same id with the same content returns the stored finding and changes nothing, in any state; the same
    id with other content is a FindingConflict carrying both versions. Only the campaign's team (lead and
    members) submits, and only while the campaign is in the field. A finding that arrives after its target's
    outcome was recorded is kept (nothing a tablet sent is dropped); the minutes already made stay as they are.
    """
    content = _finding_content(uuid=uuid, target_id=target_id, item_id=item_id, result=result, note=note,
                               latitude=latitude, longitude=longitude, accuracy=accuracy, device_time=device_time,
                               inspector_id=actor.pk)
    fingerprint = _fingerprint(content)
    stored = _by_pk(Finding, uuid)
    if stored is not None:
        return _finding_same(stored, content, fingerprint, actor), False
    target = _by_pk(Target.objects.select_related("campaign__case"), target_id)
    if target is None or target.campaign.case.agency_id not in agency_ids_visible(actor):
        _invalid("target", _("Unknown target."))  # another agency's target is unknown here
    with transaction.atomic():
        # Findings of one campaign go in side by side (a share lock); closing the findings waits for them.
        case = case_lock_shared(target.campaign.case_id)
        if not on_team(case, actor):
            raise NotOnTeam()
        agency_member_required(case, actor)
        _require_state(case, {State.IN_FIELD}, error=CampaignNotInField)
        item = _by_pk(ChecklistItem, item_id)
        if item is None or item.template_id != target.campaign.checklist_id:
            _invalid("item", _("This item is not on the campaign's checklist."))
        _result_fits(item, result)
        _not_future(device_time, "device_time", DEVICE_CLOCK_SKEW)
        try:  # the same id sent again at the same moment: the unique key decides, the loser reads the winner
            with transaction.atomic():
                finding = _finding_from(content, target=target, item=item, device_time=device_time, actor=actor)
                finding.save(force_insert=True)
        except IntegrityError:
            stored = _by_pk(Finding, uuid)
            if stored is None:
                raise
            return _finding_same(stored, content, fingerprint, actor), False
        # The visit is the earliest finding's time.
        Target.objects.filter(Q(visited_at__isnull=True) | Q(visited_at__gt=device_time), pk=target.pk).update(
            visited_at=device_time)
    return finding, True


@dataclass
class BatchResult:
    status: int
    finding: Finding | None = None
    error: DomainError | None = None


def findings_batch_submit(*, actor, items: list[dict]) -> list[BatchResult]:
    """Many findings at once, each answered on its own, in order, with what a single submission would have
    answered. Items are dicts of finding_submit's arguments (without actor).

    The common case, new findings sent by the team of a campaign in the field, is checked from one read of
    the targets, teams and checklists and stored by one insert. Every other item (sent before, refused, or the
    same id arriving from another device at this moment) goes through finding_submit in its own savepoint, so
    a refused item costs only itself."""
    results: list[BatchResult | None] = [None] * len(items)
    with transaction.atomic():
        fresh = _findings_fresh(actor=actor, items=items)
        if fresh:
            try:
                with transaction.atomic():
                    Finding.objects.bulk_create(sorted(fresh.values(), key=lambda finding: str(finding.pk)))
            except IntegrityError:  # an id came in from elsewhere meanwhile: every item on its own, below
                fresh = {}
            first_seen: dict[int, datetime] = {}
            for index, finding in fresh.items():
                results[index] = BatchResult(status=201, finding=finding)
                seen = first_seen.get(finding.target_id)
                first_seen[finding.target_id] = finding.device_time if seen is None else min(seen, finding.device_time)
            for target_id, moment in sorted(first_seen.items()):  # the visit is the earliest finding's time
                Target.objects.filter(Q(visited_at__isnull=True) | Q(visited_at__gt=moment), pk=target_id).update(
                    visited_at=moment)
        for index, item in enumerate(items):
            if results[index] is not None:
                continue
            try:
                with transaction.atomic():
                    finding, created = finding_submit(actor=actor, **item)
            except DomainError as error:
                results[index] = BatchResult(status=error.status, error=error)
            except (DataError, IntegrityError) as exc:  # the database refused this item only: it costs only itself
                logging.getLogger(__name__).warning("finding %s of a batch refused by the database: %s",
                                                    item.get("uuid"), exc)
                error = ValidationFailed(_("The finding could not be stored as sent."))
                results[index] = BatchResult(status=error.status, error=error)
            else:
                results[index] = BatchResult(status=201 if created else 200, finding=finding)
    return results


def _findings_fresh(*, actor, items: list[dict]) -> dict[int, Finding]:
    """The items that are plainly new and acceptable, as unsaved findings by position. The campaigns' cases are
    locked here for update, in one order, for the rest of the transaction: two batches of one campaign take
    turns (each inserts many rows, and two such inserts waiting on each other's ids would deadlock), while
    single findings, one row each, share the lock."""
    ids = [str(item.get("uuid")) for item in items]
    repeated = {finding_id for finding_id, times in Counter(ids).items() if times > 1}
    known = {str(pk) for pk in Finding.objects.filter(pk__in=ids).order_by().values_list("pk", flat=True)}
    targets = {target.pk: target for target in Target.objects.filter(
        pk__in={item.get("target_id") for item in items}).select_related("campaign").order_by()}
    cases = {case_id: case_lock(case_id)
             for case_id in sorted({target.campaign.case_id for target in targets.values()})}
    teams = {case_id: team_ids(case) for case_id, case in cases.items()}
    checklist_items = {item.pk: item for item in ChecklistItem.objects.filter(
        template_id__in={target.campaign.checklist_id for target in targets.values()}).order_by()}
    latest = timezone.now() + DEVICE_CLOCK_SKEW
    fresh: dict[int, Finding] = {}
    for index, item in enumerate(items):
        target = targets.get(item.get("target_id"))
        checklist_item = checklist_items.get(item.get("item_id"))
        device_time = item.get("device_time")
        if ids[index] in known or ids[index] in repeated or target is None or checklist_item is None:
            continue
        case = cases[target.campaign.case_id]
        if case.state != State.IN_FIELD or actor.pk not in teams[case.pk] or not _acts_for(actor, case.agency_id) \
                or checklist_item.template_id != target.campaign.checklist_id \
                or checklist_item.photo_only != (item.get("result") == Finding.Result.PHOTO):
            continue
        try:
            content = _finding_content(
                uuid=item["uuid"], target_id=target.pk, item_id=checklist_item.pk, result=item.get("result"),
                note=item.get("note", ""), latitude=item.get("latitude"), longitude=item.get("longitude"),
                accuracy=item.get("accuracy"), device_time=device_time, inspector_id=actor.pk)
        except ValidationFailed:
            continue
        if timezone.is_naive(device_time) or device_time > latest:
            continue
        fresh[index] = _finding_from(content, target=target, item=checklist_item, device_time=device_time,
                                     actor=actor)
    return fresh




def _photo_same(stored: Photo, *, finding_id, sha256: str, actor) -> Photo:
    """The stored photo when this is the same upload again (same finding, content and sender), else PhotoConflict.
    The conflict shows the stored photo's details only to someone who may read that photo."""
    if (str(stored.finding_id), stored.sha256, stored.uploaded_by_id) == (str(finding_id), sha256, actor.pk):
        return stored
    sent = {"uuid": str(stored.pk), "finding": str(finding_id), "sha256": sha256, "uploaded_by": actor.pk}
    if photos_visible(user=actor).filter(pk=stored.pk).exists():
        raise PhotoConflict(extra={"stored": {"uuid": str(stored.pk), "finding": str(stored.finding_id),
                                              "sha256": stored.sha256, "uploaded_by": stored.uploaded_by_id},
                                   "sent": sent})
    raise PhotoConflict(_("This id is already taken by a photo you may not see: send the photo under a new id."),
                        extra={"sent": sent})


def _photo_writer_check(case: Case, actor) -> None:
    """Only the campaign's team adds photos, while the campaign is in the field or its findings are closed."""
    if not on_team(case, actor):
        raise NotOnTeam()
    agency_member_required(case, actor)
    _require_state(case, PHOTO_STATES)


def photo_add(*, actor, uuid: uuid_lib.UUID, finding_id: uuid_lib.UUID, upload, taken_at: datetime | None = None,
              taken_latitude=None, taken_longitude=None) -> tuple[Photo, bool]:
    """Store a photo of a finding under the tablet's id: checked, re-encoded as JPEG without EXIF. The same id
    again returns the stored photo; the same content for the same finding is stored once. A task makes the
    thumbnail after commit.

    Who may add it is settled before the file is opened, so that a file sent where it may not go costs a few
    queries and never a decoding: a used id is answered from the stored photo (the bytes sent are hashed, not
    decoded); a finding not received is 409; someone off the campaign's team is 403; a campaign past its field
    work is 409. Only then is the image checked (its pixels counted from its header) and decoded, outside any
    lock; the team and the state are checked again under the campaign's lock. `taken_at` and the position are what
    the camera wrote in the original (the tablet reads them before scaling the photo down): kept as sent when
    plausible (both coordinates, in range; a time not in the future), else left empty."""
    stored = _by_pk(Photo, uuid)
    if stored is not None:
        return _photo_same(stored, finding_id=finding_id, sha256=photo_digest(upload), actor=actor), False
    finding = _by_pk(Finding.objects.select_related("target__campaign__case"), finding_id)
    if finding is None or finding.target.campaign.case.agency_id not in agency_ids_visible(actor):
        raise FindingNotReceived(extra={"finding": str(finding_id)})  # another agency's finding is unknown here
    _photo_writer_check(finding.target.campaign.case, actor)
    checked = photo_prepare(upload)  # the CPU work happens before any lock is taken
    with transaction.atomic():
        case = case_lock(finding.target.campaign.case_id)
        _photo_writer_check(case, actor)
        stored = Photo.objects.filter(pk=uuid).first()
        if stored is not None:
            return _photo_same(stored, finding_id=finding_id, sha256=checked.sha256, actor=actor), False
        same_content = Photo.objects.filter(finding=finding, sha256=checked.sha256).first()
        if same_content is not None:
            return same_content, False
        lat = _decimal_or_none(taken_latitude, -90, 90)
        lon = _decimal_or_none(taken_longitude, -180, 180)
        if lat is None or lon is None:
            lat = lon = None
        if taken_at is not None and (timezone.is_naive(taken_at) or taken_at > timezone.now() + DEVICE_CLOCK_SKEW):
            taken_at = None
        photo = Photo(id=uuid, finding=finding, sha256=checked.sha256, width=checked.width, height=checked.height,
                      size=len(checked.jpeg), uploaded_by=actor, taken_at=taken_at, taken_latitude=lat,
                      taken_longitude=lon)
        photo.file.save("photo.jpg", ContentFile(checked.jpeg), save=False)
        try:  # if the row cannot be stored, the file must not stay behind
            with transaction.atomic():
                photo.save(force_insert=True)
            outbox_enqueue("inspections.photo_thumbnail", photo_id=str(photo.pk))
        except Exception:
            photo.file.delete(save=False)
            raise
    return photo, True


def _decimal_or_none(value, low: int, high: int) -> Decimal | None:
    try:
        number = None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))
    except ArithmeticError:
        return None
    return number if number is not None and number.is_finite() and low <= number <= high else None


def photo_thumbnail_make(*, photo_id) -> bool:
    """The photo's thumbnail, made once: a second run finds it made."""
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None or photo.thumbnail:
            return False
        with photo.file.open("rb") as source:
            thumbnail = thumbnail_make(source.read())
        photo.thumbnail.save("thumbnail.jpg", ContentFile(thumbnail), save=False)
        try:
            photo.save(update_fields=["thumbnail"])
        except Exception:
            photo.thumbnail.delete(save=False)
            raise
    return True


