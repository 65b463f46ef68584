from django.contrib import admin

from .models import ApplicantOrganisation, Rating, Representative, Submission


class RepresentativeInline(admin.TabularInline):
    model = Representative
    extra = 0
    fields = ("user", "full_name", "position", "phone", "email_verified_at")
    readonly_fields = ("email_verified_at",)
    raw_id_fields = ("user",)


@admin.register(ApplicantOrganisation)
class ApplicantOrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "tax_code", "kind", "created_at")
    search_fields = ("name", "tax_code")
    inlines = [RepresentativeInline]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("uuid", "organisation", "procedure", "state", "submitted_at", "case")
    list_filter = ("state", "procedure")
    search_fields = ("organisation__name", "organisation__tax_code", "case__reference")
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("case", "organisation", "score", "created_at")
    list_filter = ("score",)
    readonly_fields = ("case", "organisation", "user", "score", "comment", "created_at")

    def has_add_permission(self, request):
        return False
