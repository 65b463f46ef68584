"""DRF's body parsers, with every string of the body cleaned (cases/text.py) before a serializer or view sees it.

They clean in multi-line mode, which keeps line breaks as LF; a single-line field then turns them into spaces when
its own CharField validates the value. Uploaded files are left as they are (their names are cleaned by
cases.attachments.upload_name_clean); passwords too.
"""

from django.http import QueryDict
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser

from cases.text import data_clean, secret_key, text_clean


def querydict_clean(data: QueryDict) -> QueryDict:
    cleaned = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        cleaned.setlist(text_clean(key), values if secret_key(key) else [
            text_clean(value) if isinstance(value, str) else value for value in values])
    cleaned._mutable = False
    return cleaned


class CleanJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return data_clean(super().parse(stream, media_type, parser_context))


class CleanFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return querydict_clean(super().parse(stream, media_type, parser_context))


class CleanMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        return DataAndFiles(querydict_clean(parsed.data), parsed.files)
