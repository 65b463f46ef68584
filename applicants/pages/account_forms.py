"""The forms of the portal's account pages: registration (organisation and person), sign-in, password reset."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from licensing.models import Organisation

from ..accounts import account_status, address_normalise, mail_queue, tax_code_valid
from ..models import Registration, Representative

PHONE = r"^\+?[0-9 .()-]{8,20}$"


class OrganisationFields(forms.Form):
    organisation_name = forms.CharField(label=_("Organisation name"), max_length=300)
    organisation_kind = forms.ChoiceField(label=_("Kind of organisation"), choices=Organisation.Kind.choices)
    tax_code = forms.CharField(label=_("Tax code"), max_length=14,
                               help_text=_("10 digits, or 10 digits, a hyphen and 3 digits for a branch"),
                               widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    organisation_address = forms.CharField(label=_("Address of the organisation"), max_length=500)
    organisation_phone = forms.RegexField(label=_("Phone of the organisation"), regex=PHONE, max_length=30,
                                          required=False, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    organisation_email = forms.EmailField(label=_("E-mail of the organisation"), required=False)

    def clean_tax_code(self):
        value = self.cleaned_data["tax_code"].strip().replace(" ", "")
        if not tax_code_valid(value):
            raise ValidationError(_("A tax code has 10 digits, or 10 digits, a hyphen and 3 digits (a branch)."),
                                  code="tax_code")
        return value

    def organisation(self) -> dict:
        data = self.cleaned_data
        return {"name": data["organisation_name"].strip(), "kind": data["organisation_kind"],
                "tax_code": data["tax_code"], "address": data["organisation_address"].strip(),
                "phone": data.get("organisation_phone", ""), "email": data.get("organisation_email", "")}


class PersonFields(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    position = forms.CharField(label=_("Position in the organisation"), max_length=200, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "organization-title"}))
    phone = forms.RegexField(label=_("Phone"), regex=PHONE, max_length=30, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    email = forms.EmailField(label=_("E-mail"), max_length=150,
                             help_text=_("You sign in with this address; we send a link to verify it."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def clean_email(self):
        return address_normalise(self.cleaned_data["email"])

    def person(self) -> dict:
        data = self.cleaned_data
        return {"full_name": data["full_name"].strip(), "position": data.get("position", "").strip(),
                "phone": data.get("phone", ""), "email": data["email"]}


class RegistrationForm(OrganisationFields, PersonFields):
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", ValidationError(_("The two passwords differ."), code="password_mismatch"))
        elif first:
            # The validators see the person as the account will hold them (similarity to name and address).
            probe = User(username=data.get("email", ""), email=data.get("email", ""),
                         last_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(first, probe)
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class OidcCompletionForm(OrganisationFields, PersonFields):
    """After a first sign-in through the identity provider: the organisation and the person, no password."""


class PortalAuthenticationForm(AuthenticationForm):
    """Sign-in with the e-mail address. Only an account acting for an organisation gets in: officers are sent to
    their own sign-in; an account not verified or waiting for approval is told so (only once its password is
    right, so that this says nothing to anyone else)."""

    username = forms.CharField(label=_("E-mail or user name"), max_length=150,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username",
                                                             "inputmode": "email", "autocapitalize": "none"}))

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong e-mail address or password. Please try again."),
    }

    def clean_username(self):
        return address_normalise(self.cleaned_data.get("username", ""))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        status = account_status(user)
        if status == "representative":
            return
        if status == "staff":
            raise ValidationError(format_html(
                '{} <a href="{}" id="officers-login">{}</a>',
                _("This is an officer's account: officers sign in on the department's page."),
                reverse("login"), _("Officers' sign-in")), code="staff")
        if status == Registration.State.UNVERIFIED:
            raise ValidationError(format_html(
                '{} <a href="{}" id="resend-link">{}</a>',
                _("Your e-mail address is not verified yet: open the link we e-mailed you."),
                reverse("portal:verify-resend"), _("Send the link again")), code="unverified")
        if status == Registration.State.AWAITING_APPROVAL:
            raise ValidationError(_("A representative of your organisation has not approved your account yet."),
                                  code="awaiting_approval")
        raise ValidationError(_("This account does not act for an organisation."), code="no_organisation")


class PortalPasswordResetForm(PasswordResetForm):
    """Reset links go only to the portal's own accounts (officers reset theirs on the department's pages); the
    page says the same whether the address has an account or not (Django's view does)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        """Queued through the outbox (applicants/accounts.py, mail_queue), never sent inside the request."""
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        mail_queue(subject=subject, body=render_to_string(email_template_name, context), to=to_email)

    def get_users(self, email):
        for user in super().get_users(email):
            if account_status(user) != "staff" and (Registration.objects.filter(user=user).exists()
                                                    or Representative.objects.filter(user=user).exists()):
                yield user


class AddressForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=150,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def clean_email(self):
        return address_normalise(self.cleaned_data["email"])
