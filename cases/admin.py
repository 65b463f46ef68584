from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import admin_transfer  # noqa: F401  the agencies' admin with the transfer of open cases to successors
from .models import (
    Attachment,
    CalendarDay,
    Case,
    CaseEvent,
    CaseType,
    CaseTypeAgency,
    CaseTypeTerms,
    LegalInstrument,
    Sequence,
    TermsLegalBasis,
)


class CaseTypeTermsInline(admin.TabularInline):
    model = CaseTypeTerms
    extra = 0

    def has_delete_permission(self, request, obj=None):
        return False  # cases point at their terms; a change of law adds a row instead


class CaseTypeAgencyInline(admin.TabularInline):
    """Which agency handles the type, from when to when (a dossier goes to the agency competent on its date)."""

    model = CaseTypeAgency
    extra = 0
    autocomplete_fields = ("agency",)


@admin.register(CaseTypeAgency)
class CaseTypeAgencyAdmin(SimpleHistoryAdmin):
    list_display = ("case_type", "agency", "valid_from", "valid_to")
    list_filter = ("agency", "case_type__domain")
    autocomplete_fields = ("agency",)


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ("report_order", "code", "name_vi", "domain", "reference_prefix", "active")
    list_display_links = ("code",)
    list_filter = ("domain", "active")
    search_fields = ("code", "name_vi", "name_en")
    inlines = [CaseTypeTermsInline, CaseTypeAgencyInline]


class TermsLegalBasisInline(admin.TabularInline):
    model = TermsLegalBasis
    extra = 0
    autocomplete_fields = ("instrument",)
    ordering = ("position",)


@admin.register(CaseTypeTerms)
class CaseTypeTermsAdmin(admin.ModelAdmin):
    """A procedure's terms and the legal bases its documents cite, in order."""

    list_display = ("case_type", "effective_from", "result_unit", "limit_amount", "limit_unit")
    list_filter = ("case_type__domain", "case_type")
    inlines = [TermsLegalBasisInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LegalInstrument)
class LegalInstrumentAdmin(admin.ModelAdmin):
    """Laws, decrees and circulars cited in full by the documents; the agency's mandate is cited first."""

    list_display = ("kind", "number", "issued_on", "issuer", "title", "mandate", "repealed_on")
    list_filter = ("kind", "mandate")
    search_fields = ("number", "title", "issuer")
    date_hierarchy = "issued_on"

    def has_delete_permission(self, request, obj=None):
        return False  # documents issued under it cite it; mark it no longer in force instead


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "kind", "action", "actor", "from_state", "to_state", "before", "after", "note")
    readonly_fields = fields
    ordering = ("at", "id")


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("original_name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases are read here; they change only through the workflow (API and pages)."""

    list_display = ("reference", "case_type", "state", "subject_name", "assignee", "received_at", "due_at",
                    "decided_at")
    list_filter = ("case_type__domain", "case_type", "state")
    search_fields = ("reference", "subject_name", "summary")
    date_hierarchy = "received_at"
    list_select_related = ("case_type", "assignee")
    inlines = [AttachmentInline, CaseEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields] + ["members"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ("key", "year", "last_value")
    readonly_fields = ("key", "year", "last_value")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.site_header = _("Department of Information and Communications: administration")
