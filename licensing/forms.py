"""Shapes of the officers' forms. The rules live in the services (cases.services, licensing.services)."""

import json
from datetime import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from rest_framework import serializers

from agencies.models import Agency
from cases.api.fields import working_years_error
from cases.models import CaseType
from cases.services import ASSIGNABLE_ROLES

from .models import Organisation
from .procedures import Procedure

# DRF's messages for the procedures' fields, listed so that makemessages keeps their Vietnamese in our
# catalogue (DRF ships an almost empty one); DRF looks them up through Django's gettext, which finds ours.
DRF_FIELD_MESSAGES = (
    gettext_noop("This field may not be null."),
    gettext_noop("This field may not be blank."),
    gettext_noop("Not a valid string."),
    gettext_noop("Ensure this field has no more than {max_length} characters."),
    gettext_noop("A valid integer is required."),
    gettext_noop("Ensure this value is less than or equal to {max_value}."),
    gettext_noop("Ensure this value is greater than or equal to {min_value}."),
    gettext_noop("String value too large."),
    gettext_noop("Datetime has wrong format. Use one of these formats instead: {format}."),
    gettext_noop("Expected a datetime but got a date."),
    gettext_noop('Expected a list of items but got type "{input_type}".'),
    gettext_noop("This list may not be empty."),
    gettext_noop("Invalid data. Expected a dictionary, but got {datatype}."),
)
LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _in_working_years(value) -> None:
    """A date far outside the department's years is a typing slip (and year 9999 + 1 day overflows)."""
    if error := working_years_error(value):
        raise forms.ValidationError(error)


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=40)
    version = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False, max_length=5000, label=gettext_lazy("Reasons / content"))
    # A local date and time (Asia/Ho_Chi_Minh): Django makes it aware in the current time zone.
    new_due_at = forms.DateTimeField(validators=[_in_working_years], required=False, input_formats=LOCAL_INPUT_FORMATS,
                                     label=gettext_lazy("New appointment date"))
    next = forms.CharField(required=False, max_length=500)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                      label=gettext_lazy("Officer in charge"),
                                      empty_label=gettext_lazy("— nobody —"))
    version = forms.IntegerField(min_value=1)
    next = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, agency_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(agency_ids)
        self.fields["assignee"].label_from_instance = lambda user: user.get_full_name() or user.username


def assignable_users(agency_ids=()):
    """The licensing staff of these agencies (a case is assigned within the agency holding it)."""
    return get_user_model().objects.filter(
        is_active=True, groups__name__in=ASSIGNABLE_ROLES["licensing"],
        agency_memberships__agency_id__in=list(agency_ids)).distinct().order_by("last_name", "first_name", "username")


class NoteForm(forms.Form):
    text = forms.CharField(max_length=5000, label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 3}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    kind = forms.ChoiceField(label=gettext_lazy("Document kind"))
    description = forms.CharField(required=False, max_length=300, label=gettext_lazy("Description"))

    def __init__(self, *args, kinds: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds


class PermitSearchForm(forms.Form):
    REVOKED_CHOICES = [("", gettext_lazy("All")), ("false", gettext_lazy("In force")),
                       ("true", gettext_lazy("Revoked"))]

    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("Search"),
                        widget=forms.TextInput(attrs={"type": "search"}),
                        help_text=gettext_lazy("Number, holder, content or case reference"))
    procedure = forms.ChoiceField(required=False, label=gettext_lazy("Procedure"))
    revoked = forms.ChoiceField(required=False, choices=REVOKED_CHOICES, label=gettext_lazy("Status"))
    issued_from = forms.DateField(validators=[_in_working_years], required=False, label=gettext_lazy("Issued from"), widget=DateInput(),
                                  input_formats=["%Y-%m-%d", "%d/%m/%Y"])
    issued_to = forms.DateField(validators=[_in_working_years], required=False, label=gettext_lazy("Issued until"), widget=DateInput(),
                                input_formats=["%Y-%m-%d", "%d/%m/%Y"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", _("All procedures"))] + list(
            CaseType.objects.filter(domain="licensing").order_by("report_order").values_list("code", "name_vi"))

    def clean(self):
        data = super().clean()
        start, end = data.get("issued_from"), data.get("issued_to")
        if start and end and end < start:
            self.add_error("issued_to", _("The end date is before the start date."))
        return data


# --- Receiving a dossier ---------------------------------------------------------------------------------

ORGANISATION_INPUTS = ("name", "kind", "tax_code", "address", "representative", "phone", "email")
DOSSIER_PREFIX = "dossier_"


class ProcedureFieldsForm(forms.Form):
    """A procedure's own dossier fields as page inputs (texts, numbers, dates, one list item per line), read back
    into the values its serializer takes. The rules stay the serializer's (licensing.procedures): the counter's
    receipt form and the portal's online dossier are both built here, from the same definitions."""

    def __init__(self, *args, procedure: Procedure, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedure = procedure
        self.dossier_names: list[str] = []
        self.list_specs: dict[str, serializers.Field] = {}
        for name, spec in procedure.fields().fields.items():
            self.fields[DOSSIER_PREFIX + name] = self._input_for(name, spec)
            self.dossier_names.append(DOSSIER_PREFIX + name)

    def _input_for(self, name: str, spec) -> forms.Field:
        label = str(spec.label)
        label = label[:1].upper() + label[1:]
        common = {"label": label, "required": False}
        attrs = {"required": True} if spec.required else {}
        if isinstance(spec, serializers.ListSerializer):
            self.list_specs[name] = spec
            columns = " | ".join(str(child.label) for child in spec.child.fields.values())
            return forms.CharField(widget=forms.Textarea(attrs={**attrs, "rows": 4}), **common,
                                   help_text=_("One item per line: %(columns)s") % {"columns": columns})
        if isinstance(spec, serializers.ListField):
            self.list_specs[name] = spec
            return forms.CharField(widget=forms.Textarea(attrs={**attrs, "rows": 3}), **common,
                                   help_text=_("One item per line."))
        if isinstance(spec, serializers.IntegerField):
            if spec.min_value is not None:
                attrs["min"] = spec.min_value
            if spec.max_value is not None:
                attrs["max"] = spec.max_value
            return forms.CharField(widget=forms.NumberInput(attrs=attrs), **common)
        if isinstance(spec, serializers.DateTimeField):
            return forms.CharField(widget=DateTimeLocalInput(attrs=attrs), **common)
        max_length = getattr(spec, "max_length", None)
        if max_length and max_length > 500:
            return forms.CharField(widget=forms.Textarea(attrs={**attrs, "rows": 3, "maxlength": max_length}),
                                   **common)
        if max_length:
            attrs["maxlength"] = max_length
        return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)

    def dossier_fields(self) -> dict:
        """The procedure's fields as the service takes them; list inputs that cannot be read get an error."""
        values = {}
        for input_name in self.dossier_names:
            name = input_name[len(DOSSIER_PREFIX):]
            raw = (self.cleaned_data.get(input_name) or "").strip()
            if not raw:
                continue  # the serializer says whether it was required
            if name in self.list_specs:
                try:
                    values[name] = self._list_parse(self.list_specs[name], raw)
                except ValueError as exc:
                    self.add_error(input_name, str(exc))
            else:
                values[name] = raw
        return values

    @staticmethod
    def _list_parse(spec, raw: str) -> list:
        if raw.startswith("["):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                raise ValueError(_("This is not a valid JSON list.")) from None
            if not isinstance(value, list):
                raise ValueError(_("This is not a valid JSON list."))
            return value
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        if not isinstance(spec, serializers.ListSerializer):
            return lines
        keys = list(spec.child.fields)
        records = []
        for number, line in enumerate(lines, start=1):
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != len(keys):
                raise ValueError(_("Line %(line)s: give %(count)s values separated by “|”.")
                                 % {"line": number, "count": len(keys)})
            records.append(dict(zip(keys, parts, strict=True)))
        return records

    def fields_errors_apply(self, detail) -> None:
        """The serializer's errors on the dossier fields, next to the inputs they concern."""
        if not isinstance(detail, dict):
            for message in error_messages(detail):
                self.add_error(None, message)
            return
        for name, messages in detail.items():
            target = DOSSIER_PREFIX + name if DOSSIER_PREFIX + name in self.fields else None
            spec = self.list_specs.get(name)
            labels = {key: str(child.label) for key, child in spec.child.fields.items()} \
                if isinstance(spec, serializers.ListSerializer) else {}
            for message in error_messages(messages, labels=labels):
                self.add_error(target, message if target else f"{name}: {message}")


def dossier_initial(procedure: Procedure, values: dict) -> dict:
    """Stored dossier fields as the inputs of a ProcedureFieldsForm show them (the reverse of dossier_fields)."""
    initial = {}
    for name, spec in procedure.fields().fields.items():
        value = values.get(name)
        if value in (None, ""):
            continue
        if isinstance(spec, serializers.ListSerializer) and isinstance(value, list):
            keys = list(spec.child.fields)
            text = "\n".join(" | ".join(str(item.get(key, "")) for key in keys) if isinstance(item, dict)
                             else str(item) for item in value)
        elif isinstance(spec, serializers.ListField) and isinstance(value, list):
            text = "\n".join(str(item) for item in value)
        elif isinstance(spec, serializers.DateTimeField) and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
                text = timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if timezone.is_aware(moment) \
                    else moment.strftime("%Y-%m-%dT%H:%M")
            except ValueError:
                text = value
        else:
            text = str(value)
        initial[DOSSIER_PREFIX + name] = text
    return initial


class ReceiveForm(ProcedureFieldsForm):
    """The applicant and the procedure's own fields. The fields' rules are the procedure's serializer:
    here they are only read from the page (texts, numbers, dates, one list item per line)."""

    uuid = forms.UUIDField(widget=forms.HiddenInput)
    procedure = forms.CharField(widget=forms.HiddenInput)
    org_name = forms.CharField(max_length=300, label=gettext_lazy("Applicant organisation"))
    org_kind = forms.ChoiceField(choices=Organisation.Kind.choices, initial=Organisation.Kind.OTHER,
                                 label=gettext_lazy("Kind of organisation"))
    org_tax_code = forms.CharField(max_length=20, required=False, label=gettext_lazy("Tax code"))
    org_address = forms.CharField(max_length=500, required=False, label=gettext_lazy("Address"))
    org_representative = forms.CharField(max_length=200, required=False,
                                         label=gettext_lazy("Legal representative"))
    org_phone = forms.CharField(max_length=30, required=False, label=gettext_lazy("Phone"))
    org_email = forms.EmailField(required=False, label=gettext_lazy("Email"),
                                 help_text=gettext_lazy("Receipt and results are notified to this address."))
    received_at = forms.DateTimeField(validators=[_in_working_years], required=False, input_formats=LOCAL_INPUT_FORMATS, widget=DateTimeLocalInput(),
                                      label=gettext_lazy("Received at"),
                                      help_text=gettext_lazy("Leave empty for now."))

    def __init__(self, *args, procedure: Procedure, agencies=(), **kwargs):
        super().__init__(*args, procedure=procedure, **kwargs)
        if len(agencies) > 1:  # the user works for several agencies handling the procedure: they say which receives
            self.fields["agency"] = forms.ModelChoiceField(
                queryset=Agency.objects.filter(pk__in=[agency.pk for agency in agencies]).order_by("pk"),
                label=gettext_lazy("Receiving agency"))

    def organisation(self) -> dict:
        return {key: self.cleaned_data.get(f"org_{key}") or "" for key in ORGANISATION_INPUTS}

    def errors_apply(self, errors: dict) -> None:
        """Put the service's validation errors next to the inputs they concern."""
        for key, detail in errors.items():
            if key == "fields" and isinstance(detail, dict):
                self.fields_errors_apply(detail)
            elif key == "organisation":
                for message in error_messages(detail):
                    self.add_error("org_name", message)
            elif key in self.fields:
                for message in error_messages(detail):
                    self.add_error(key, message)
            else:
                for message in error_messages(detail):
                    self.add_error(None, message)


def error_messages(detail, *, labels: dict | None = None, prefix: str = "") -> list[str]:
    """DRF error details (strings, lists, per-item dicts) as flat readable lines; `labels` names the keys."""
    labels = labels or {}
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            # ListField errors are keyed by the item's index
            name = _("line %(line)s") % {"line": key + 1} if isinstance(key, int) else labels.get(key, key)
            lines += error_messages(value, labels=labels, prefix=f"{prefix}{name}: ")
        return lines
    if isinstance(detail, list | tuple):
        lines = []
        for index, item in enumerate(detail, start=1):
            if isinstance(item, dict):
                if item:  # a list of records: an empty dict is a record without errors
                    line = _("line %(line)s") % {"line": index}
                    lines += error_messages(item, labels=labels, prefix=f"{prefix}{line}: ")
            else:
                lines += error_messages(item, labels=labels, prefix=prefix)
        return lines
    return [f"{prefix}{detail}"]

