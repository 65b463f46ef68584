"""The files attached to demo dossiers: small real PDFs (uploads are parsed before they are stored)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile


def demo_pdf(name: str, title: str) -> SimpleUploadedFile:
    """A one-page A4 PDF named `name`, with `title` in its metadata (so that each upload's bytes differ)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), "application/pdf")
