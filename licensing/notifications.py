"""E-mails to applicants: written in the transaction of the change they report, sent by a task after commit."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.errors import NotFound
from cases.models import Case, CaseEvent
from cases.workflow import State
from worker.outbox import outbox_enqueue

from .models import Notification

logger = logging.getLogger(__name__)


def _notification_text(case: Case, key: str, note: str = "") -> tuple[str, str]:
    kind = key.split(":")[0]
    name = case.case_type.name_vi
    due = timezone.localtime(case.due_at).strftime("%H giờ %M ngày %d/%m/%Y") if case.due_at else ""
    head = f"Kính gửi: {case.subject_name}\n\nHồ sơ số {case.reference} ({name})"
    if kind == "received":
        return (f"[{settings.AGENCY_CODE}] Đã tiếp nhận hồ sơ {case.reference}",
                f"{head} đã được tiếp nhận lúc "
                f"{timezone.localtime(case.received_at).strftime('%H giờ %M ngày %d/%m/%Y')}.\n"
                f"Ngày hẹn trả kết quả: {due}.")
    if kind == "supplement":
        return (f"[{settings.AGENCY_CODE}] Đề nghị bổ sung hồ sơ {case.reference}",
                f"{head} cần được bổ sung như sau:\n{note}\n\nThời gian bổ sung không tính vào thời hạn giải quyết.")
    if kind == "apology":
        return (f"[{settings.AGENCY_CODE}] Xin lỗi và hẹn lại ngày trả kết quả hồ sơ {case.reference}",
                f"{head} chưa được giải quyết đúng hạn. Lý do: {note}\nNgày hẹn trả kết quả mới: {due}.\n"
                "Sở Thông tin và Truyền thông xin lỗi quý cơ quan, tổ chức vì sự chậm trễ này.")
    if case.state == State.REFUSED:
        return (f"[{settings.AGENCY_CODE}] Kết quả giải quyết hồ sơ {case.reference}: từ chối",
                f"{head} không được chấp thuận. Lý do: {case.outcome_reasons}")
    return (f"[{settings.AGENCY_CODE}] Kết quả giải quyết hồ sơ {case.reference}",
            f"{head} đã có kết quả: văn bản số {case.result_number}. Mời quý cơ quan, tổ chức đến nhận kết quả.")


def notification_queue(case: Case, *, key: str, note: str = "") -> Notification | None:
    """Write the email in the current transaction; a task sends it after commit."""
    if not case.contact_email:
        return None
    subject, body = _notification_text(case, key, note)
    notification, created = Notification.objects.get_or_create(
        case=case, key=key, defaults={"recipient": case.contact_email, "subject": subject, "body": body})
    if created:
        outbox_enqueue("licensing.notification_send", notification_id=notification.pk)
    return notification


def notification_send(*, notification_id: int) -> bool:
    """Send one email once (see notifications_send). False if it had been sent already."""
    sent, error = notifications_send(notification_ids=[notification_id])
    if error is not None:
        raise error
    if not sent and not Notification.objects.filter(pk=notification_id).exists():
        raise NotFound(_("Notification not found."))
    return bool(sent)


def notifications_send(*, notification_ids) -> tuple[list[int], Exception | None]:
    """Send a batch of emails over one connection, each once: the rows are locked while sending and the ones that
    went out are marked sent (with a timeline event) in the same transaction. If the mail server fails part way,
    the ones already handed over are still marked, and the error is returned for the rest.
    Returns (ids sent now, error or None)."""
    from django.core.mail import EmailMessage, get_connection

    with transaction.atomic():
        pending = list(Notification.objects.select_for_update()
                       .filter(pk__in=set(notification_ids), sent_at__isnull=True).order_by("pk"))
        if not pending:
            return [], None
        sent, error = [], None
        try:
            with get_connection() as connection:  # one SMTP session for the batch
                for notification in pending:
                    EmailMessage(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL,
                                 [notification.recipient], connection=connection).send()
                    sent.append(notification)
        except Exception as exc:  # the server refused or went away: keep what was handed over
            logger.warning("email: %s of %s sent, then: %s", len(sent), len(pending), exc)
            error = exc
        now = timezone.now()
        for notification in sent:
            notification.sent_at = now
        Notification.objects.filter(pk__in=[n.pk for n in sent]).update(sent_at=now)
        CaseEvent.objects.bulk_create([
            CaseEvent(case_id=n.case_id, kind=CaseEvent.Kind.NOTIFICATION, action=n.key.split(":")[0], at=now,
                      after={"to": n.recipient, "subject": n.subject}) for n in sent])
    return [n.pk for n in sent], error


