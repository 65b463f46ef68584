"""The agencies' admin with one more action: moving an agency's open cases to its successors (cases.transfer).

It lives here, not in agencies/admin.py, because the agencies app sits below the case engine and never imports it;
cases/admin.py imports this module, which registers the agencies' admin again with the action added.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from agencies.admin import AgencyAdmin as AgencyAdminBase
from agencies.models import Agency

from .errors import DomainError
from .models import CaseType
from .transfer import TransferRefused, agency_transfer, cases_to_transfer, may_transfer

STEP = "transfer_step"


class TransferForm(forms.Form):
    """The reorganisation date, a note for the timeline, and optionally the agency for each type of case."""

    on = forms.DateField(label=gettext_lazy("Reorganisation date"), widget=forms.DateInput(attrs={"type": "date"}),
                         help_text=gettext_lazy("The first day of the successor agencies."))
    note = forms.CharField(label=gettext_lazy("Note on each case's timeline"), required=False, max_length=500,
                           help_text=gettext_lazy("e.g. the decision that reorganised the agencies"))

    def __init__(self, *args, source: Agency, case_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.case_types = list(case_types)
        agencies = Agency.objects.exclude(pk=source.pk).order_by("-valid_from", "name")
        for case_type in self.case_types:
            self.fields[f"map_{case_type.code}"] = forms.ModelChoiceField(
                queryset=agencies, required=False, label=case_type.name_vi,
                empty_label=_("The successor competent on that date"))

    def mapping(self) -> dict[str, Agency]:
        return {case_type.code: self.cleaned_data[f"map_{case_type.code}"] for case_type in self.case_types
                if self.cleaned_data.get(f"map_{case_type.code}")}

    def main_fields(self):
        return [self["on"], self["note"]]

    def mapping_fields(self):
        return [self[f"map_{case_type.code}"] for case_type in self.case_types]


admin.site.unregister(Agency)


@admin.register(Agency)
class AgencyAdmin(AgencyAdminBase):
    actions = [*(AgencyAdminBase.actions or ()), "transfer_open_cases"]

    def has_transfer_permission(self, request) -> bool:
        return may_transfer(request.user)

    @admin.action(description=gettext_lazy("Transfer the open cases to the successor agencies…"),
                  permissions=["transfer"])
    def transfer_open_cases(self, request, queryset):
        """A confirmation page with the dry run for the date chosen; the transfer runs only from it."""
        agencies = list(queryset[:2])
        if len(agencies) != 1:
            self.message_user(request, _("Choose one agency (the one that ended)."), messages.WARNING)
            return None
        source = agencies[0]
        case_types = CaseType.objects.filter(pk__in=cases_to_transfer(source).values("case_type_id"))
        default_on = source.valid_to + timedelta(days=1) if source.valid_to else timezone.localdate()
        step = request.POST.get(STEP, "")
        form = TransferForm(request.POST if step else None, initial={"on": default_on}, source=source,
                            case_types=case_types)
        plan, refused = None, False
        if not step:
            plan = agency_transfer(agency=source, on=default_on, actor=request.user, dry_run=True)
        elif form.is_valid():
            options = {"agency": source, "on": form.cleaned_data["on"], "actor": request.user,
                       "mapping": form.mapping()}
            previewed = _fingerprint(options["on"], options["mapping"])
            if step == "run" and request.POST.get("previewed") != previewed:
                self.message_user(request, _("The date or the agencies chosen changed: check the list again before "
                                             "transferring."), messages.WARNING)
                step = "preview"
            if step == "run":
                try:
                    plan = agency_transfer(**options, dry_run=False, note=form.cleaned_data["note"])
                except TransferRefused as error:
                    plan, refused = error.plan, True
                    self.message_user(request, _("Nothing was transferred: resolve the errors below first."),
                                      messages.ERROR)
                except DomainError as error:
                    self.message_user(request, str(error.detail), messages.ERROR)
                    return None
                else:
                    self.message_user(request, ngettext("%(count)d case transferred from %(agency)s.",
                                                        "%(count)d cases transferred from %(agency)s.", plan.moved)
                                      % {"count": plan.moved, "agency": source}, messages.SUCCESS)
                    return None
            else:
                plan = agency_transfer(**options, dry_run=True)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Transfer the open cases of %(agency)s") % {"agency": source},
            "opts": self.model._meta,
            "source": source,
            "form": form,
            "plan": plan,
            "refused": refused,
            "may_run": plan is not None and not plan.errors and bool(plan.cases),
            "action_name": "transfer_open_cases",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "step_name": STEP,
            "previewed": _fingerprint(plan.on, form.mapping() if form.is_bound and form.is_valid() else {})
            if plan is not None else "",
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/agencies/agency/transfer.html", context)


def _fingerprint(on, mapping: dict[str, Agency]) -> str:
    """What a preview showed: the run goes ahead only for the same date and choices."""
    return ";".join([on.isoformat(), *(f"{code}={agency.pk}" for code, agency in sorted(mapping.items()))])
