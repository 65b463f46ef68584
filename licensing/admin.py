from django.contrib import admin

from .models import Dossier, IssuedDocument, Notification, Organisation, Permit, PrintFacility


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "tax_code", "address", "email")
    list_filter = ("kind",)
    search_fields = ("name", "tax_code", "address")


@admin.register(PrintFacility)
class PrintFacilityAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "owner", "organisation")
    search_fields = ("name", "address", "owner")
    autocomplete_fields = ("organisation",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the services (numbers, documents, emails); read here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    list_display = ("case", "organisation", "complete", "checked_at")
    list_filter = ("complete", "case__case_type")
    search_fields = ("case__reference", "organisation__name")


@admin.register(IssuedDocument)
class IssuedDocumentAdmin(ReadOnlyAdmin):
    list_display = ("number_text", "kind", "case", "issued_at", "signer_name")
    list_filter = ("kind", "series", "year")
    search_fields = ("number_text", "case__reference")


@admin.register(Permit)
class PermitAdmin(ReadOnlyAdmin):
    list_display = ("number_text", "procedure", "holder", "issued_at", "revoked_at")
    list_filter = ("procedure", "result_unit")
    search_fields = ("number_text", "holder__name", "title")
    date_hierarchy = "issued_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("case", "key", "recipient", "created_at", "sent_at")
    search_fields = ("case__reference", "recipient")
