from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .codes import code_normalise
from .models import VerifiableDocument


@admin.register(VerifiableDocument)
class VerifiableDocumentAdmin(admin.ModelAdmin):
    """What the public verification page shows, to look up (e.g. when someone calls about a code). Read only:
    the facts must stay what the signed PDF prints, and a status changes with the decision that revokes or
    re-issues (documents.services), never by hand."""

    list_display = ("code_printed", "number_text", "kind", "issuer_name", "issued_on", "status", "signed_at")
    list_filter = ("status", "issuer")
    search_fields = ("code", "number_text", "holder", "subject", "sha256")
    date_hierarchy = "issued_on"
    list_select_related = ("issuer",)
    fields = ("code", "issuer", "issuer_name", "issuer_parent_name", "kind", "number_text", "issued_on", "subject",
              "holder", "status", "status_note", "status_changed_on", "replaced_by", "sha256", "pdf", "signed_at",
              "created_at", "reference")
    readonly_fields = fields

    @admin.display(description=_("verification code"), ordering="code")
    def code_printed(self, obj):
        return obj.code_printed

    def get_search_results(self, request, queryset, search_term):
        # A code typed as printed ("7k3q-9xme-2b") finds its row.
        found, duplicates = super().get_search_results(request, queryset, search_term)
        normalised = code_normalise(search_term)
        if normalised is not None:
            found = found | queryset.filter(code=normalised)
        return found, duplicates

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
