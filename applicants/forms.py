"""Shapes of the portal's dossier pages and of the officers' answers. The dossier's inputs are the counter's
(licensing.forms.ProcedureFieldsForm, built from the procedure's own definitions); the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy

from licensing.forms import ProcedureFieldsForm
from licensing.procedures import Procedure

FILE_PREFIX = "file_"


class SubmissionForm(ProcedureFieldsForm):
    """An online dossier: the procedure's fields, a file input per kind, the declaration."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    declaration = forms.BooleanField(
        required=False, label=gettext_lazy(
            "I declare that the information in this dossier is true and complete, and that the files attached are "
            "faithful copies of the originals; I take responsibility for them before the law."))

    def __init__(self, *args, procedure: Procedure, kinds: list[tuple[str, str]], **kwargs):
        super().__init__(*args, procedure=procedure, **kwargs)
        self.file_names = []
        for kind, label in kinds:
            self.fields[FILE_PREFIX + kind] = forms.FileField(required=False, label=label)
            self.file_names.append(FILE_PREFIX + kind)

    def uploads(self, files) -> list[tuple[str, object]]:
        """(kind, upload) of each file sent with the form."""
        return [(name[len(FILE_PREFIX):], files[name]) for name in self.file_names if files.get(name)]


class ReasonsForm(forms.Form):
    """An officer's answer to an online dossier: its version, and the reasons where the answer needs them."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reasons = forms.CharField(required=False, max_length=5000, label=gettext_lazy("Reasons"),
                              widget=forms.Textarea(attrs={"rows": 4}))
