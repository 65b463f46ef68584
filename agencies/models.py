"""Agencies as data with a history: which department issues, numbers and signs, and from when to when.

An agency is one legal entity (a provincial department) for the dates it existed: a reorganisation ends it and
starts its successors (Sở TTTT Thái Bình, to 28/02/2025, was followed by the Sở KH&CN and the Sở VHTTDL
Thái Bình). Everything the service stores belongs to one agency; documents print the agency they were issued
by, as of their own date. Administrators keep these rows in the admin; every change is kept (simple-history).
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class AgencyQuerySet(models.QuerySet):
    def in_force_on(self, day: date):
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day)


class Agency(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True,
                            help_text=_("A stable identifier, e.g. thai-binh-stttt."))
    name = models.CharField(_("name"), max_length=300, help_text="Sở Thông tin và Truyền thông")
    parent_name = models.CharField(_("parent authority"), max_length=300, blank=True,
                                   help_text="UBND TỈNH THÁI BÌNH")
    symbol = models.CharField(_("abbreviation in numbers and symbols"), max_length=20, help_text="STTTT")
    place_name = models.CharField(_("place name in dates"), max_length=100, help_text="Thái Bình")
    address = models.CharField(_("address"), max_length=500, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    # The division that drafts the licensing letters: "03/STTTT-TTBCXB" and "Lưu: VT, TTBCXB."
    licensing_division_symbol = models.CharField(_("licensing division's abbreviation"), max_length=20, blank=True,
                                                 help_text="TTBCXB")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    successors = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="predecessors",
                                        verbose_name=_("successors"))

    history = HistoricalRecords(m2m_fields=[successors])
    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["valid_from", "name", "id"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="agency_dates_in_order"),
        ]

    def __str__(self) -> str:
        where = self.parent_name.removeprefix("UBND ").strip().title() if self.parent_name else self.place_name
        return f"{self.name} ({where})" if where else self.name

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def heading(self) -> str:
        """The agency as a document's header prints it: "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"."""
        return self.name.upper()


class Signer(models.Model):
    """Who signs for an agency, with the title printed above the name, for a period. Position 0 is the head;
    a deputy signing for the head has a title such as "KT. GIÁM ĐỐC\\nPHÓ GIÁM ĐỐC"."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="signers", verbose_name=_("agency"))
    name = models.CharField(_("name"), max_length=200)
    title = models.TextField(_("title"), help_text=_("One line per line printed, e.g. GIÁM ĐỐC"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="signer_roles", verbose_name=_("account"))
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["agency", "position", "-valid_from", "id"]
        verbose_name = _("signer")
        verbose_name_plural = _("signers")
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="signer_dates_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.title.splitlines()[-1] if self.title else ''} {self.name}".strip()


class Membership(models.Model):
    """A user works for an agency (one or more). What they see and do is scoped to their agencies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agency_memberships",
                             verbose_name=_("user"))
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships",
                               verbose_name=_("agency"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "agency"], name="membership_once")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency}"
