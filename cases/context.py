from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _


def agency(request):
    """AGENCY_NAME: the agency the signed-in user works for today ("Sở Văn hóa, Thể thao và Du lịch"), for
    the page title and header; read only when a template prints it."""

    def name() -> str:
        from agencies.models import Agency
        from agencies.selectors import agency_ids_member

        user = getattr(request, "user", None)
        ids = agency_ids_member(user) if user is not None else frozenset()
        today = timezone.localdate()
        agencies = list(Agency.objects.filter(pk__in=ids).in_force_on(today)) or list(Agency.objects.filter(pk__in=ids))
        if len(agencies) == 1:
            return str(agencies[0])
        return _("Case management")

    return {"AGENCY_NAME": SimpleLazyObject(name)}
