"""A real mail server for tests: aiosmtpd on a loopback port, recording every message it receives.

    from .support_smtp import smtp_server  # noqa: F401  (the fixture)

    def test_x(smtp_server):
        ...  # the code under test sends through Django's SMTP backend, to this server
        message = smtp_server.wait_for(to="a@example.com", subject_contains="...")
        link = message.link(r"/portal/accounts/verify/")

The `smtp_server` fixture points Django's settings (EMAIL_BACKEND smtp, EMAIL_HOST/PORT, no TLS, no login) at the
server for the test through pytest-django's `settings`. Code that sends in this process (Django's mail, an eager
task, outbox functions called directly) reaches it; a separate worker process needs `smtp_server.environ()` in its
environment (conftest's `celery_worker` sets EMAIL_BACKEND to locmem today)."""

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://[^\s<>\"']+")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ReceivedMessage:
    """One message as the server received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def to(self) -> list[str]:
        return [address.lower() for address in self.rcpt_tos]

    def header(self, name: str) -> str:
        return str(self.message[name] or "")

    @property
    def text(self) -> str:
        """The plain-text body (the text/plain part of a multipart message), decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def links(self) -> list[str]:
        """Every http(s) address in the text body (then the HTML body), in order, without trailing punctuation."""
        found = [link.rstrip(".,;:)") for link in LINK.findall(self.text or self.html)]
        return found

    def link(self, contains: str = "") -> str:
        """The first link whose address contains `contains` (a path such as "/portal/accounts/verify/");
        fails the test if there is none."""
        for candidate in self.links():
            if contains in candidate:
                return candidate
        raise AssertionError(f"no link containing {contains!r} in the message {self.subject!r}:\n{self.text}")

    def attachments(self) -> list[tuple[str, str, bytes]]:
        """(file name, content type, bytes) of each attachment."""
        return [(part.get_filename() or "", part.get_content_type(), part.get_payload(decode=True) or b"")
                for part in self.message.iter_attachments()]


class RecordingHandler:
    """aiosmtpd handler: keeps every message, wakes those waiting for one."""

    def __init__(self):
        self.messages: list[ReceivedMessage] = []
        self.condition = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with self.condition:
            self.messages.append(ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), parsed, raw))
            self.condition.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    """The running server: its port, what it received, and ways to wait for a message."""

    def __init__(self, handler: RecordingHandler, host: str, port: int):
        self.handler, self.host, self.port = handler, host, port
        # What the worker does, run by wait_for while it waits (fixture outbox_mail_worker); None: nothing.
        self.deliver_pending = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self.handler.condition:
            return list(self.handler.messages)

    def environ(self) -> dict[str, str]:
        """The environment variables that point a separate process (config/settings/base.py) at this server."""
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": self.host,
                "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "false", "EMAIL_USE_SSL": "false",
                "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}

    def clear(self) -> None:
        with self.handler.condition:
            self.handler.messages.clear()

    def sent_to(self, address: str) -> list[ReceivedMessage]:
        return [message for message in self.messages if address.lower() in message.to]

    def wait_for(self, *, to: str | None = None, subject_contains: str | None = None, count: int = 1,
                 timeout: float = 15.0) -> ReceivedMessage:
        """The `count`-th message (1 = first) matching the recipient and subject, waiting up to `timeout`
        seconds for it; fails the test with what did arrive otherwise."""

        def matching() -> list[ReceivedMessage]:
            return [message for message in self.handler.messages
                    if (to is None or to.lower() in message.to)
                    and (subject_contains is None or subject_contains in message.subject)]

        deadline = time.monotonic() + timeout
        while True:
            if self.deliver_pending is not None:
                self.deliver_pending()  # outside the lock: the server's handler takes it to record a message
            with self.handler.condition:
                found = matching()
                if len(found) >= count:
                    return found[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(message.to, message.subject) for message in self.handler.messages]
                    raise AssertionError(f"no message #{count} to={to!r} subject~{subject_contains!r} within "
                                         f"{timeout}s; received: {seen}")
                self.handler.condition.wait(min(remaining, 0.1) if self.deliver_pending else remaining)

    def assert_nothing_sent_to(self, address: str, *, within: float = 0.5) -> None:
        """Waits `within` seconds, then fails if any message went to `address`."""
        time.sleep(within)
        sent = self.sent_to(address)
        assert not sent, f"unexpected messages to {address}: {[message.subject for message in sent]}"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 for the test, with Django's SMTP backend pointed at it."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield SmtpServer(handler, "127.0.0.1", controller.port)
    finally:
        controller.stop()


@pytest.fixture
def outbox_mail_worker(smtp_server):
    """E-mails go through the outbox (licensing/notifications.py): a worker sends them after commit. Tests without
    a Celery worker get its part done by smtp_server.wait_for: each e-mail written and not yet sent is sent once,
    as notification_send does in the worker, then the server is read."""
    from licensing.models import Notification
    from licensing.notifications import notification_send

    def deliver_pending() -> None:
        for pk in Notification.objects.filter(sent_at__isnull=True, sending_at__isnull=True).values_list(
                "pk", flat=True).order_by("pk"):
            notification_send(notification_id=pk)

    smtp_server.deliver_pending = deliver_pending
    return smtp_server
