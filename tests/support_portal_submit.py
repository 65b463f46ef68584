"""Applicants for the online-dossier tests: two organisations, each with a verified representative, and a helper
that walks a printing-licence dossier through the services to "submitted"."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from applicants import submissions as services
from applicants.models import ApplicantOrganisation, Representative, Submission

from . import support_licensing as sl
from .factories import UserFactory

PROCEDURE = "printing_licence"


def representative_make(*, name: str, tax_code: str, email: str, person: str = "Bà Phạm Thị Lan",
                        organisation: ApplicantOrganisation | None = None) -> Representative:
    if organisation is None:
        organisation = ApplicantOrganisation.objects.create(
            name=name, kind="company", tax_code=tax_code, address="Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình",
            phone="0912 345 678", email=f"info-{tax_code}@example.vn")
    user = UserFactory(email=email, roles=[], agencies=[])
    return Representative.objects.create(user=user, organisation=organisation, full_name=person,
                                         position="Giám đốc", email_verified_at=timezone.now())


@pytest.fixture
def applicant(db):
    """The print company's representative."""
    return representative_make(name="Công ty TNHH In Hoàng Long", tax_code="1001123456", email="lan@inhoanglong.vn")


@pytest.fixture
def applicant_other(db):
    """Another organisation's representative (the university)."""
    return representative_make(name="Trường Đại học Thái Bình", tax_code="1001045872", email="vp@dhtb.example.vn",
                               person="PGS.TS Nguyễn Văn Minh")


def equipment_png(name: str = "giay-to-thiet-bi.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, sl.png_bytes(), "image/png")


def submitted(representative: Representative, procedure: str = PROCEDURE, agency=None):
    """A dossier of `procedure` with its realistic fields and required file, declared and submitted (to `agency`
    where several agencies handle the procedure)."""
    submission, _ = services.submission_create(representative=representative, procedure=procedure, agency=agency)
    submission = services.submission_update(representative=representative, submission_uuid=submission.uuid,
                                            fields=sl.dossier(procedure), version=submission.version)
    if sl.REQUIRED_FILE[procedure] is not None:
        kind, upload = sl.required_upload(procedure)
        services.file_add(representative=representative, submission_uuid=submission.uuid, upload=upload, kind=kind)
    submission.refresh_from_db()
    return services.submission_submit(representative=representative, submission_uuid=submission.uuid,
                                      version=submission.version, declared=True)


def world_submission(world, *, another: bool = False):
    """The API world's online dossier (tests/support_api_world.py): a printing licence submitted by the print
    company's representative, waiting to be received. Made once per world; `another` submits one more."""
    found = getattr(world, "portal_submission", None)
    if found is not None and not Submission.objects.filter(pk=found.pk).exists():
        # A world shared by several tests: an earlier test's dossier was rolled back with it.
        found = world.portal_representative = None
    if found is None or another:
        representative = getattr(world, "portal_representative", None)
        if representative is not None and not Representative.objects.filter(pk=representative.pk).exists():
            representative = None
        representative = representative or representative_make(
            name="Công ty TNHH In Hoàng Long", tax_code=f"10011{world.app_open.agency_id % 100000:05d}",
            email=f"lan{world.app_open.agency_id}@inhoanglong.vn")
        world.portal_representative = representative
        found = submitted(representative, agency=world.app_open.agency)
        world.portal_submission = found
    found.refresh_from_db()
    return found


def portal_submission_parameters(world) -> dict[str, list[dict]]:
    """Real path parameters of the online dossiers' endpoints (tests/test_api_fuzz_schemathesis.py)."""
    submission = world_submission(world)
    ids = {"uuid": str(submission.uuid)}
    return {
        "/api/v1/portal/submissions/{uuid}/": [ids],
        "/api/v1/portal/submissions/{uuid}/files/{file_uuid}/": [
            {**ids, "file_uuid": str(submission.files.first().uuid)}],
        "/api/v1/portal/office/submissions/{uuid}/": [ids],
    }
