"""The test mail server (tests/support_smtp.py) receives what Django's SMTP backend sends, parsed."""

from django.core.mail import EmailMultiAlternatives

from .support_smtp import smtp_server  # noqa: F401


def test_a_message_sent_by_django_arrives_parsed_with_its_links(smtp_server):  # noqa: F811
    message = EmailMultiAlternatives("Xác minh địa chỉ", "Mở https://portal.example/portal/accounts/verify/abc/ nhé.",
                                     "from@example.com", ["Someone@Example.com"])
    message.attach_alternative("<p>html</p>", "text/html")
    message.attach("a.txt", b"hello", "text/plain")
    message.send()
    received = smtp_server.wait_for(to="someone@example.com", subject_contains="Xác minh")
    assert received.subject == "Xác minh địa chỉ"
    assert received.link("/verify/") == "https://portal.example/portal/accounts/verify/abc/"
    assert received.attachments() == [("a.txt", "text/plain", b"hello")]
    assert smtp_server.sent_to("nobody@example.com") == []
