"""E-mails to applicants: written in the transaction of the change they report, sent by a task after commit, each
at most once, even when the sender dies while handing it over (see notifications_send)."""

import contextlib
import logging
import smtplib

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
    symbol, agency = case.agency.symbol, case.agency.name
    if kind == "received":
        return (f"[{symbol}] Đã tiếp nhận hồ sơ {case.reference}",
                f"{head} đã được tiếp nhận lúc "
                f"{timezone.localtime(case.received_at).strftime('%H giờ %M ngày %d/%m/%Y')}.\n"
                f"Ngày hẹn trả kết quả: {due}.")
    if kind == "supplement":
        return (f"[{symbol}] Đề nghị bổ sung hồ sơ {case.reference}",
                f"{head} cần được bổ sung như sau:\n{note}\n\nThời gian bổ sung không tính vào thời hạn giải quyết.")
    if kind == "apology":
        return (f"[{symbol}] Xin lỗi và hẹn lại ngày trả kết quả hồ sơ {case.reference}",
                f"{head} chưa được giải quyết đúng hạn. Lý do: {note}\nNgày hẹn trả kết quả mới: {due}.\n"
                f"{agency} xin lỗi quý cơ quan, tổ chức vì sự chậm trễ này.")
    if case.state == State.REFUSED:
        return (f"[{symbol}] Kết quả giải quyết hồ sơ {case.reference}: từ chối",
                f"{head} không được chấp thuận. Lý do: {case.outcome_reasons}")
    return (f"[{symbol}] Kết quả giải quyết hồ sơ {case.reference}",
            f"{head} đã có kết quả: văn bản số {case.result_number}. Mời quý cơ quan, tổ chức đến nhận kết quả.")


def portal_link(case: Case) -> str:
    """For a case submitted online, the address of its page on the applicants' portal (else ""). The portal's
    dossier is found by the reverse relation's name and its URL by name: this app imports nothing of applicants."""
    submission = getattr(case, "submission", None)
    if submission is None:
        return ""
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("portal:dossier", kwargs={"uuid": submission.uuid})
    except NoReverseMatch:
        return ""
    base = (getattr(settings, "DOCUMENTS_PUBLIC_BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
    return base + path


def notification_queue(case: Case, *, key: str, note: str = "") -> Notification | None:
    """Write the email in the current transaction; a task sends it after commit. An email about a case submitted
    online ends with the link to its page on the portal (documents to download, supplement to send, rating)."""
    if not case.contact_email:
        return None
    subject, body = _notification_text(case, key, note)
    link = portal_link(case)
    if link:
        body += f"\n\nTheo dõi hồ sơ, gửi bổ sung và tải văn bản trên Cổng dịch vụ công trực tuyến: {link}"
    notification, created = Notification.objects.get_or_create(
        case=case, key=key, defaults={"recipient": case.contact_email, "subject": subject, "body": body})
    if created:
        outbox_enqueue("licensing.notification_send", notification_id=notification.pk)
    return notification


def notification_queue_without_case(*, key: str, recipient: str, subject: str, body: str) -> Notification | None:
    """An email about something that has no case yet (a dossier submitted online, answered before its receipt):
    written in the current transaction, sent after commit like the others, once per `key` (a retry that writes the
    same key again writes nothing)."""
    if not recipient:
        return None
    notification, created = Notification.objects.get_or_create(
        case=None, key=key, defaults={"recipient": recipient, "subject": subject, "body": body})
    if created:
        outbox_enqueue("licensing.notification_send", notification_id=notification.pk)
    return notification


def notification_message_id(notification: Notification) -> str:
    """The email's Message-ID, the same every time it is built: a copy sent again by a person's decision is the
    same message to the applicant's mail system (and to any that drops a Message-ID it has already delivered)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" <>") or "localhost"
    return f"<sttt.notification.{notification.pk}.{notification.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def notification_email(notification: Notification, connection=None):
    from django.core.mail import EmailMessage

    return EmailMessage(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL,
                        [notification.recipient], connection=connection,
                        headers={"Message-ID": notification_message_id(notification)})


def notification_send(*, notification_id: int) -> bool:
    """Send one email at most once (see notifications_send). False if it had been sent (or tried) already."""
    sent, error = notifications_send(notification_ids=[notification_id])
    if error is not None:
        raise error
    if not sent and not Notification.objects.filter(pk=notification_id).exists():
        raise NotFound(_("Notification not found."))
    return bool(sent)


# The mail server answered that it did not take the email: it is certainly not delivered, and may be tried again.
REFUSED = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError)


def notifications_send(*, notification_ids) -> tuple[list[int], Exception | None]:
    """Send a batch of emails over one connection, each at most once, even across a crash:

    * an email's `sending_at` is committed, in a transaction of its own and only if neither it nor `sent_at` is set
      (of two senders, one gets it), before the email is handed to the mail server;
    * once the server has taken it, `sent_at` is committed with the timeline event;
    * if the server answers that it does not take it, the mark is taken back: the email waits for a later try;
    * if the connection breaks while it is handed over, or the sender dies, the server may have it: the mark
      stays and the email is "uncertain". It is never sent again automatically; a person decides (the admin's
      notifications list: send again, or mark as sent).

    Emails marked "sending" or sent before are skipped. The first failure ends the batch: the emails after it are
    left untouched, for later. Must run outside a transaction (each mark must be committed when the email leaves):
    the outbox runs it so. Returns (ids sent now, error or None)."""
    from django.core.mail import get_connection

    pending = list(Notification.objects.filter(pk__in=set(notification_ids), sent_at__isnull=True,
                                               sending_at__isnull=True).order_by("pk"))
    if not pending:
        return [], None
    sent, error = [], None
    handed = None  # the email handed over last, whose "sent" mark goes with the next email's "sending" mark
    try:
        with get_connection() as connection:  # one SMTP session for the batch (opened before any mark)
            for notification in pending:
                try:
                    email = notification_email(notification, connection)
                except Exception:
                    _marks_step(sent=handed)
                    raise
                marked = _marks_step(sent=handed, sending=notification)
                handed = None
                if not marked:
                    continue  # another sender has it
                try:
                    email.send()
                except REFUSED:
                    _sending_unmark(notification)
                    raise
                handed = notification
                sent.append(notification.pk)
            _marks_step(sent=handed)
            handed = None
    except Exception as exc:
        logger.warning("email: %s of %s sent, then: %s", len(sent), len(pending), exc)
        error = exc
    return sent, error


# One statement and one commit per email on PostgreSQL: the email handed over last is marked sent with its timeline
# event, and the next one is marked "sending" (only if nobody else marked it). Each email still has its "sending"
# mark committed before it leaves and its "sent" mark committed before the next one leaves (bench.pipeline: two
# commits and five statements per email had made the emails most of a worker's time).
_MARKS_SQL = """
WITH done AS (
    UPDATE licensing_notification SET sent_at = %(now)s WHERE id = %(sent)s RETURNING case_id, key, recipient, subject
), event AS (
    INSERT INTO cases_caseevent (case_id, actor_id, at, kind, action, from_state, to_state, before, after, note)
    SELECT case_id, NULL, %(now)s, %(kind)s, split_part(key, ':', 1), '', '', '{}'::jsonb,
           jsonb_build_object('to', recipient, 'subject', subject), ''
    FROM done WHERE case_id IS NOT NULL
), marked AS (
    UPDATE licensing_notification SET sending_at = %(now)s
    WHERE id = %(sending)s AND sent_at IS NULL AND sending_at IS NULL RETURNING id
)
SELECT count(*) FROM marked
"""


def _marks_step(*, sent: Notification | None = None, sending: Notification | None = None) -> bool:
    """In one transaction: `sent` marked sent (with its timeline event), `sending` marked "sending". Returns whether
    `sending` got its mark (False: another sender has it, or none was given)."""
    if sent is None and sending is None:
        return False
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        with transaction.atomic(durable=True):
            if sent is not None:
                _sent_mark(sent, durable=False)
            return sending is not None and _sending_mark(sending, durable=False)
    # One statement in autocommit: PostgreSQL runs it as a transaction of its own (all of it or nothing), committed
    # when it returns; one round trip instead of BEGIN, the statement and COMMIT.
    params = {"now": timezone.now(), "sent": sent.pk if sent else None, "sending": sending.pk if sending else None,
              "kind": CaseEvent.Kind.NOTIFICATION}
    # Only a test's own transaction may hold one (durable refuses any other): then the marks' block as elsewhere.
    block = transaction.atomic(durable=True) if connection.in_atomic_block else contextlib.nullcontext()
    with block, connection.cursor() as cursor:
        cursor.execute(_MARKS_SQL, params)
        return cursor.fetchone()[0] == 1


def _sending_mark(notification: Notification, *, durable: bool = True) -> bool:
    with transaction.atomic(durable=durable):
        return Notification.objects.filter(pk=notification.pk, sent_at__isnull=True, sending_at__isnull=True) \
            .update(sending_at=timezone.now()) == 1


def _sending_unmark(notification: Notification) -> None:
    with transaction.atomic(durable=True):
        Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(sending_at=None)


def _sent_mark(notification: Notification, *, actor=None, confirmed: bool = False, durable: bool = True) -> None:
    with transaction.atomic(durable=durable and not confirmed):
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk).update(sent_at=now)
        after = {"to": notification.recipient, "subject": notification.subject}
        if confirmed:
            after["confirmed"] = True
        if notification.case_id is None:  # about a dossier not yet received: no timeline to write on
            return
        CaseEvent.objects.create(case_id=notification.case_id, kind=CaseEvent.Kind.NOTIFICATION, actor=actor,
                                 action=notification.key.split(":")[0], at=now, after=after)


def notifications_uncertain():
    """Emails that may or may not have gone out: marked "sending", never marked sent."""
    return Notification.objects.filter(sending_at__isnull=False, sent_at__isnull=True)


def notifications_resend(*, notification_ids, actor) -> int:
    """A person has decided that these uncertain emails did not reach the applicant: each is sent again, once.
    Returns how many will be sent."""
    with transaction.atomic():
        chosen = list(notifications_uncertain().select_for_update().filter(pk__in=set(notification_ids)))
        Notification.objects.filter(pk__in=[n.pk for n in chosen]).update(sending_at=None)
        for notification in chosen:
            outbox_enqueue("licensing.notification_send", notification_id=notification.pk)
    logger.info("email: %s uncertain emails sent again by %s: %s", len(chosen), actor,
                [n.pk for n in chosen])
    return len(chosen)


def notifications_confirm_sent(*, notification_ids, actor) -> int:
    """A person has found that these uncertain emails did go out: they are marked sent (with the timeline event,
    by that person). Returns how many."""
    with transaction.atomic():
        chosen = list(notifications_uncertain().select_for_update().filter(pk__in=set(notification_ids)))
        for notification in chosen:
            _sent_mark(notification, actor=actor, confirmed=True)
    return len(chosen)
