"""The periodic reports' data kept by administrators: the divisions and their members, the indicators catalogue;
reports and values are read here (they are written through the services)."""

from django.contrib import admin

from .models import Indicator, IndicatorValue, Report, ReportDivision


@admin.register(ReportDivision)
class ReportDivisionAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "agency", "order")
    list_filter = ("agency",)
    filter_horizontal = ("members",)


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("order", "code", "name", "unit", "parent", "division_code", "compute", "note_rule", "shown",
                    "active")
    list_display_links = ("code", "name")
    list_filter = ("active", "shown", "division_code")
    search_fields = ("code", "name")


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(_ReadOnly):
    list_display = ("period", "agency", "number_text", "issued_at")
    list_filter = ("agency", "kind")
    exclude = ("frozen",)


@admin.register(IndicatorValue)
class IndicatorValueAdmin(_ReadOnly):
    list_display = ("period", "indicator", "agency", "value", "source", "entered_by", "entered_at")
    list_filter = ("period", "agency", "source")
