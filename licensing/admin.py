from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Dossier, IssuedDocument, Notification, Organisation, Permit, PrintFacility


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "tax_code", "address", "email", "agency")
    list_filter = ("agency", "kind")
    search_fields = ("name", "tax_code", "address")


@admin.register(PrintFacility)
class PrintFacilityAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "owner", "organisation", "agency")
    list_filter = ("agency",)
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
    list_display = ("number_text", "kind", "case", "issued_at", "signer_name", "issuer")
    list_filter = ("issuer", "kind", "series", "year")
    search_fields = ("number_text", "case__reference")


@admin.register(Permit)
class PermitAdmin(ReadOnlyAdmin):
    list_display = ("number_text", "procedure", "holder", "issued_at", "revoked_at")
    list_filter = ("procedure", "result_unit")
    search_fields = ("number_text", "holder__name", "title")
    date_hierarchy = "issued_at"


class NotificationDeliveryFilter(admin.SimpleListFilter):
    """Sent, waiting, or uncertain: marked "sending" and never marked sent (the sender died while handing it over;
    it may have gone out). An uncertain email is never sent again automatically: a person decides."""

    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("uncertain", _("uncertain: may have gone out")), ("waiting", _("waiting")), ("sent", _("sent"))]

    def queryset(self, request, queryset):
        return {"uncertain": queryset.filter(sent_at__isnull=True, sending_at__isnull=False),
                "waiting": queryset.filter(sent_at__isnull=True, sending_at__isnull=True),
                "sent": queryset.filter(sent_at__isnull=False)}.get(self.value(), queryset)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("case", "key", "recipient", "created_at", "delivery", "sending_at", "sent_at")
    list_filter = (NotificationDeliveryFilter,)
    search_fields = ("case__reference", "recipient")
    actions = ["send_again", "confirm_sent"]

    @admin.display(description=_("delivery"))
    def delivery(self, notification):
        if notification.sent_at:
            return _("sent")
        return _("uncertain: may have gone out") if notification.sending_at else _("waiting")

    def has_decide_permission(self, request):
        return request.user.has_perm("licensing.change_notification")

    @admin.action(description=_("Send the selected uncertain emails again"), permissions=["decide"])
    def send_again(self, request, queryset):
        from .notifications import notifications_resend

        count = notifications_resend(notification_ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
        self.message_user(request, ngettext("%(count)d uncertain email will be sent again.",
                                            "%(count)d uncertain emails will be sent again.", count) % {"count": count})

    @admin.action(description=_("Mark the selected uncertain emails as sent"), permissions=["decide"])
    def confirm_sent(self, request, queryset):
        from .notifications import notifications_confirm_sent

        count = notifications_confirm_sent(notification_ids=list(queryset.values_list("pk", flat=True)),
                                           actor=request.user)
        self.message_user(request, ngettext("%(count)d uncertain email marked as sent.",
                                            "%(count)d uncertain emails marked as sent.", count) % {"count": count})
