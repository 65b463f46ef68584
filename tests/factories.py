import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cases import services
from cases.models import CaseType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Nguyễn"
    last_name = factory.Sequence(lambda n: f"Văn {n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@sotttt.example")
    password = factory.django.Password("pw-test-1234")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))

    @factory.post_generation
    def agencies(self, create, extracted, **kwargs):
        """The agencies the user works for: those named (codes or rows), by default every agency there is (the
        agency history of one province; the scoping tests give their users one agency each)."""
        if not create:
            return
        from agencies.models import Agency, Membership

        if extracted is None:
            chosen = list(Agency.objects.all())
        else:
            chosen = [Agency.objects.get(code=item) if isinstance(item, str) else item for item in extracted]
        Membership.objects.bulk_create([Membership(user=self, agency=agency) for agency in chosen],
                                       ignore_conflicts=True)


def case_make(*, actor, type_code: str = "printing_licence", received_at=None, path: tuple[str, ...] = (),
              head=None, subject_name: str = "Công ty TNHH In Hoàng Long", **extra):
    """A case received through the service and walked through `path` (actions), as a user would."""
    case_type = CaseType.objects.get(code=type_code)
    case, _ = services.case_create(actor=actor, case_type=case_type,
                                   subject_name=subject_name, received_at=received_at, **extra)
    if case_type.domain == "licensing":
        dossier_attach(case, actor=actor)
    for action in path:
        by = head if action in {"approve", "refuse", "return_for_review", "revoke"} and head else actor
        note = "Lý do: hồ sơ chưa đạt yêu cầu." if action in {
            "request_supplement", "propose_refusal", "refuse", "withdraw", "return_for_review", "revoke", "cancel",
            "conclude", "apologise_late"} else ""
        case = services.case_transition(case_id=case.pk, actor=by, action=action, note=note)
    case.refresh_from_db()
    return case


def dossier_attach(case, *, actor) -> None:
    """What application_receive gives a licensing case: its procedure's dossier (the realistic one of
    tests/support_licensing.py) and its required file. Every licensing case has a dossier (nothing is granted
    without one); tests that need particular fields use the licensing API or application_receive."""
    from licensing.models import Dossier, Organisation

    from .support_licensing import REQUIRED_FILE, dossier, required_upload

    code = case.case_type.code
    holder, _ = Organisation.objects.get_or_create(agency=case.agency, name=case.subject_name, tax_code="",
                                                   address=case.subject_address or "")
    Dossier.objects.create(case=case, organisation=holder, fields=dossier(code), complete=None)
    if REQUIRED_FILE[code] is not None:
        kind, upload = required_upload(code)
        services.attachment_add(case_id=case.pk, actor=actor, upload=upload, kind=kind)
