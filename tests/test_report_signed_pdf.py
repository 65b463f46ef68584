"""An issued periodic report gets its signed PDF/A the way licensing's results do (issue 15): its verification code
is reserved at the issue and printed with its QR code on the first page, a task queued through the outbox makes
the PDF from the very DOCX of the frozen content, signs it and completes the public record; the PDF then downloads
and /verify/ knows it. Signing twice changes nothing. Real parts: LibreOffice, pyHanko with the demo CA."""

import io

import pytest
from docx import Document

from documents.models import VerifiableDocument
from documents.validation import pdf_signature_check
from reports import electronic
from reports.report_content import report_printed
from reports.report_document import report_docx
from worker.models import OutboxMessage

from .support_reports import report_world, walk_to_issued

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_signing(demo_signing):
    """Every test here signs with the demo CA (conftest.demo_signing)."""


def test_the_issued_report_is_signed_once_and_its_pdf_downloads(api, client):
    world = report_world()
    report = walk_to_issued(world)
    assert OutboxMessage.objects.filter(task_name=electronic.SIGN_TASK, kwargs={"report_id": report.pk}).count() == 1
    verifiable = VerifiableDocument.objects.get(code=report.verification_code)
    assert (verifiable.kind, verifiable.number_text, verifiable.is_signed) == ("Báo cáo", "01/BC-SVHTTDL", False)
    footer = Document(io.BytesIO(report_docx(report_printed(report)))).sections[0].first_page_footer
    assert report.frozen["verification"]["code"] in "\n".join(cell.text for table in footer.tables
                                                              for row in table.rows for cell in row.cells)

    assert electronic.report_sign(report_id=report.pk) is True
    verifiable.refresh_from_db()
    assert verifiable.is_signed
    signed = verifiable.pdf.open("rb").read()
    assert pdf_signature_check(signed).intact
    assert electronic.report_sign(report_id=report.pk) is True  # again: nothing new
    assert report.case.events.filter(kind="document", action="signed").count() == 1

    response = api.as_user(world.office).get(f"/api/v1/reports/documents/{report.pk}/file.pdf")
    assert response.status_code == 200 and response.content == signed
