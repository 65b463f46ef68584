import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cases.errors import ValidationFailed
from cases.services import attachment_add

from .factories import case_make

pytestmark = pytest.mark.django_db


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(officer):
    """64 megapixels: over our 60 MP limit but under the 120 MP at which Pillow itself would raise."""
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, "PNG")  # a few kB on disk, 64 MP once decoded
    case = case_make(actor=officer)
    dossier_files = list(case.attachments.values_list("pk", flat=True))  # the dossier's required file
    with pytest.raises(ValidationFailed) as refused:
        attachment_add(case_id=case.pk, actor=officer, upload=SimpleUploadedFile("plan.png", buffer.getvalue()))
    assert "64" in str(refused.value.detail)
    assert list(case.attachments.values_list("pk", flat=True)) == dossier_files
