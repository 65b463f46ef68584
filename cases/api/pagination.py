from collections.abc import Sequence

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class CappedCountPaginator(Paginator):
    """Counts matching rows exactly up to `API_LIST_COUNT_CAP`, and stops there.

    Counting every one of a million cases costs more than the page itself; past the cap the list says
    "more than N" (`count_exact: false`) and the user narrows the filter, as with any large register.
    """

    @cached_property
    def count(self) -> int:
        cap = settings.API_LIST_COUNT_CAP
        if hasattr(self.object_list, "query"):  # no ORDER BY in the count: any index may answer it
            counted = self.object_list.order_by()[: cap + 1].count()
        else:
            counted = len(self.object_list)
        self.count_exact = counted <= cap
        return min(counted, cap)


class MatchedIds(Sequence):
    """A text search's matches: their ids in list order (up to the cap) from one scan of the text index, then
    a page's rows by id. Counting and paging a search separately would scan the text index twice."""

    def __init__(self, queryset, limit: int):
        self.queryset = queryset
        self.ids = list(queryset.values_list("pk", flat=True)[:limit])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        wanted = self.ids[index]
        rows = {row.pk: row for row in self.queryset.order_by().filter(pk__in=wanted)}
        return [rows[pk] for pk in wanted if pk in rows]


class CasePagination(PageNumberPagination):
    django_paginator_class = CappedCountPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        if hasattr(queryset, "query") and request.query_params.get("q", "").strip():
            queryset = MatchedIds(queryset, settings.API_LIST_COUNT_CAP + 1)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return Response({
            "count": self.page.paginator.count,
            "count_exact": self.page.paginator.count_exact,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = "Rows matching, counted exactly up to the cap."
        response["properties"]["count_exact"] = {
            "type": "boolean", "description": "False when more rows match than the cap: `count` is then the cap."}
        response["required"] = [*response.get("required", []), "count_exact"]
        return response
