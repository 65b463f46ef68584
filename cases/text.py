"""Text is stored clean, whichever door it came in by.

A name pasted from Word can hold a vertical tab (U+000B, Word's Shift+Enter) or decomposed Vietnamese; XML (DOCX,
XLSX) cannot hold the one, and the other does not compare equal to the same name typed on a keyboard. So every text
is brought to one form:

* Unicode NFC;
* CRLF and CR become LF; U+000B, U+000C, U+0085, U+2028 and U+2029 become LF;
* NUL, the other C0 and C1 control characters (TAB and LF excepted), DEL, lone surrogates and U+FFFE/U+FFFF are
  removed;
* in a single-line field every line break, with the blanks around it, becomes one space, and TAB a space.

A field is multi-line when it is a text area (a model ``TextField``, DRF's ``style={"base_template":
"textarea.html"}``, a form ``Textarea``) or takes more than ``SINGLE_LINE_MAX_LENGTH`` characters (notes, reasons,
legal bases, a dossier's purpose: the receive page shows those as text areas too); names, addresses and other
short fields are single-line. Passwords are never touched: they are compared, never shown.

The doors (installed once by ``CasesConfig.ready`` through :func:`doors_install`):

* API bodies: ``cases.api.parsers`` (the default DRF parsers) clean every string of a JSON, form or multipart
  body, multi-line, before any serializer sees it; every DRF ``CharField`` then cleans its own value in its
  field's mode (the one place that makes short fields single-line, also for serializers that services run on
  plain dicts, such as the procedures' dossier fields);
* pages and admin: every Django form ``CharField`` cleans its value in its field's mode;
* the model layer: a ``pre_save`` receiver on the models of the project's apps cleans ``CharField`` (single-line),
  ``TextField`` (multi-line) and every string inside a ``JSONField`` (multi-line), so that services run from
  commands and imports store clean text too. ``QuerySet.update()`` and ``bulk_create()`` send no signal: their
  callers write values that came through the doors above.

Cleaning is idempotent, and single-line text is already clean as multi-line text: a retried request cleans to the
same value as the one stored, whichever door stored it.
"""

from __future__ import annotations

import re
import unicodedata

SINGLE_LINE_MAX_LENGTH = 500
PROJECT_APPS = ("cases", "licensing", "inspections", "reports", "worker")

# Anything text_clean may change (CR is \x0d, inside \x0b-\x1f); TAB and LF are kept in multi-line text.
_DIRTY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_DIRTY_SINGLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_CR = re.compile("\r\n?")
_BREAK = re.compile("[\x0b\x0c\x85\u2028\u2029]")
_REMOVED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_BREAK_WITH_BLANKS = re.compile("[ \t]*\n[ \t\n]*")
_SECRET_KEY = re.compile("password|secret", re.IGNORECASE)


def text_clean(value: str, *, multiline: bool = True) -> str:
    """``value`` in the stored form (see the module docstring). Idempotent; a clean value is returned as is."""
    dirty = _DIRTY if multiline else _DIRTY_SINGLE
    if dirty.search(value) is None and unicodedata.is_normalized("NFC", value):
        return value
    text = _BREAK.sub("\n", _CR.sub("\n", value))
    text = _REMOVED.sub("", text)
    if not multiline:
        text = _BREAK_WITH_BLANKS.sub(" ", text).replace("\t", " ")
    return unicodedata.normalize("NFC", text)


def data_clean(value, *, multiline: bool = True):
    """Every string in a JSON-like value (dict keys too), multi-line unless told; values under a key that names a
    password are left as they are. Other values are returned unchanged."""
    if isinstance(value, str):
        return text_clean(value, multiline=multiline)
    if isinstance(value, dict):
        return {
            (text_clean(key) if isinstance(key, str) else key):
                item if isinstance(key, str) and secret_key(key) else data_clean(item, multiline=multiline)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [data_clean(item, multiline=multiline) for item in value]
    if isinstance(value, tuple):
        return tuple(data_clean(item, multiline=multiline) for item in value)
    return value


def secret_key(name: str) -> bool:
    """A body key whose value is a secret (a password): compared as typed, never cleaned."""
    return bool(_SECRET_KEY.search(name))


def multiline_by_length(max_length: int | None) -> bool:
    return max_length is None or max_length > SINGLE_LINE_MAX_LENGTH


# --- The doors -------------------------------------------------------------------------------------------------


def drf_field_multiline(field) -> bool:
    template = (getattr(field, "style", None) or {}).get("base_template", "")
    if template == "textarea.html":
        return True
    if template == "input.html":
        return False
    return multiline_by_length(getattr(field, "max_length", None))


def form_field_multiline(field) -> bool:
    from django import forms

    return isinstance(field.widget, forms.Textarea) or multiline_by_length(getattr(field, "max_length", None))


def _drf_charfield_install() -> None:
    """Every DRF CharField (and EmailField, SlugField, ...) cleans its value before validating it."""
    from rest_framework import fields

    original = fields.CharField.run_validation
    if getattr(original, "text_clean", False):
        return

    def run_validation(self, data=fields.empty):
        if isinstance(data, str) and (getattr(self, "style", None) or {}).get("input_type") != "password":
            data = text_clean(data, multiline=drf_field_multiline(self))
        return original(self, data)

    run_validation.text_clean = True
    fields.CharField.run_validation = run_validation


def _form_charfield_install() -> None:
    """Every Django form CharField (pages, admin) cleans its value before its own checks; password inputs excepted."""
    from django import forms

    original = forms.CharField.to_python
    if getattr(original, "text_clean", False):
        return

    def to_python(self, value):
        if isinstance(value, str) and not isinstance(self.widget, forms.PasswordInput):
            value = text_clean(value, multiline=form_field_multiline(self))
        return original(self, value)

    to_python.text_clean = True
    forms.CharField.to_python = to_python


def model_text_fields(model) -> list[tuple[str, str]]:
    """(attribute, "line" | "text" | "json") for the model's stored text."""
    from django.db import models

    found = []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.JSONField):
            found.append((field.attname, "json"))
        elif isinstance(field, models.TextField):
            found.append((field.attname, "text"))
        elif isinstance(field, models.CharField):
            found.append((field.attname, "line"))
    return found


def instance_text_clean(sender, instance, update_fields=None, **kwargs) -> None:
    """pre_save: the instance's text fields in their stored form (fields not loaded and not saved are skipped)."""
    for attname, kind in sender._text_fields_cleaned:
        if update_fields is not None and attname not in update_fields:
            continue
        if attname not in instance.__dict__:  # deferred: not read, not written
            continue
        value = instance.__dict__[attname]
        if kind == "json":
            cleaned = data_clean(value)
        elif isinstance(value, str):
            cleaned = text_clean(value, multiline=kind == "text")
        else:
            continue
        if cleaned != value:
            setattr(instance, attname, cleaned)


def _models_signal_install() -> None:
    from django.apps import apps
    from django.db.models.signals import pre_save

    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            fields = model_text_fields(model)
            if fields:
                model._text_fields_cleaned = fields
                pre_save.connect(instance_text_clean, sender=model, dispatch_uid=f"text_clean:{model._meta.label}")


def doors_install() -> None:
    """Clean text at every door: DRF fields, Django form fields, and the project's models (see the docstring).
    The API body parsers are set in settings (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""
    _drf_charfield_install()
    _form_charfield_install()
    _models_signal_install()
