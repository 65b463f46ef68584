from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Agency, Membership, Signer


class SignerInline(admin.TabularInline):
    model = Signer
    extra = 0
    autocomplete_fields = ("user",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Agency)
class AgencyAdmin(SimpleHistoryAdmin):
    """An agency for the dates it existed, its successors, signers and staff. Every change is kept ("History")."""

    list_display = ("name", "parent_name", "symbol", "place_name", "valid_from", "valid_to")
    list_filter = ("parent_name",)
    search_fields = ("code", "name", "parent_name", "symbol", "place_name")
    filter_horizontal = ("successors",)
    inlines = [SignerInline, MembershipInline]


@admin.register(Signer)
class SignerAdmin(SimpleHistoryAdmin):
    list_display = ("name", "title", "agency", "position", "valid_from", "valid_to")
    list_filter = ("agency",)
    search_fields = ("name", "title")
    autocomplete_fields = ("user",)


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "agency")
    list_filter = ("agency",)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)
