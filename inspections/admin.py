from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Campaign, ChecklistItem, ChecklistTemplate, Establishment, Finding, Target


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "operator", "site_code", "address", "active", "agency")
    list_filter = ("agency", "kind", "operator", "active")
    search_fields = ("name", "address", "site_code", "operator")
    autocomplete_fields = ("print_facility", "organisation")


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ("order", "code", "question", "legal_reference", "photo_required", "photo_only")

    def _editable(self, obj) -> bool:
        return obj is None or not obj.campaigns.exists()

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    """A version used by a campaign is frozen: a change of the questions is a new version."""

    list_display = ("title", "case_type", "version", "effective_from", "sanction_basis", "in_use")
    list_filter = ("case_type",)
    inlines = [ChecklistItemInline]

    @admin.display(boolean=True, description=_("used by a campaign"))
    def in_use(self, obj) -> bool:
        return obj.campaigns.exists()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.campaigns.exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.campaigns.exists():
            return False
        return super().has_delete_permission(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the services (numbers, team, findings from the tablets); read here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TargetInline(admin.TabularInline):
    model = Target
    fields = ("establishment", "planned_on", "visited_at", "outcome", "outcome_note")
    readonly_fields = fields
    extra = 0
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("case", "decision_number_text", "period_start", "period_end", "state", "checklist")
    list_filter = ("case__case_type", "case__state")
    search_fields = ("case__reference", "case__subject_name", "decision_number_text")
    list_select_related = ("case", "checklist")
    inlines = [TargetInline]

    @admin.display(description=_("state"))
    def state(self, obj) -> str:
        return obj.case.get_state_display()


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("id", "target", "item", "result", "inspector", "device_time", "received_at", "review_state")
    list_filter = ("result", "review_state", "target__campaign__case__case_type")
    search_fields = ("id", "target__establishment__name", "note")
    list_select_related = ("target__establishment", "item", "inspector")
    date_hierarchy = "received_at"
