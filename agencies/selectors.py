"""Reads: the agencies a user works for and may see, and who signs for an agency on a day."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from .models import Agency, Membership, Signer


def agency_ids_member(user) -> frozenset[int]:
    """The agencies the user works for (acts in). Cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_sttt_agencies_member", None)
    if cached is None:
        cached = frozenset(Membership.objects.filter(user_id=user.pk).values_list("agency_id", flat=True))
        user._sttt_agencies_member = cached
    return cached


def agency_ids_visible(user) -> frozenset[int]:
    """The agencies whose records the user may read: their own and, transitively, their predecessors (a
    department holds the archive of those it succeeded). A superuser sees every agency."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_sttt_agencies_visible", None)
    if cached is None:
        if user.is_superuser:
            cached = frozenset(Agency.objects.values_list("pk", flat=True))
        else:
            cached = predecessors_closure(agency_ids_member(user))
        user._sttt_agencies_visible = cached
    return cached


def _links() -> list[tuple[int, int]]:
    """Every (predecessor, successor) pair: a few rows per reorganisation, read in one query."""
    return list(Agency.successors.through.objects.values_list("from_agency_id", "to_agency_id"))


def _closure(agency_ids, edges: dict[int, set[int]]) -> frozenset[int]:
    seen = set(agency_ids)
    frontier = list(seen)
    while frontier:
        for linked in edges.get(frontier.pop(), ()):
            if linked not in seen:
                seen.add(linked)
                frontier.append(linked)
    return frozenset(seen)


def predecessors_closure(agency_ids) -> frozenset[int]:
    """The agencies and all their predecessors, however many reorganisations back (one query)."""
    older: dict[int, set[int]] = {}
    for before, after in _links():
        older.setdefault(after, set()).add(before)
    return _closure(agency_ids, older)


def successors_closure(agency_ids) -> frozenset[int]:
    """The agencies and all their successors, however many reorganisations on (one query)."""
    newer: dict[int, set[int]] = {}
    for before, after in _links():
        newer.setdefault(before, set()).add(after)
    return _closure(agency_ids, newer)


@dataclass(frozen=True)
class Signature:
    title: str
    name: str

    def fields(self) -> dict[str, str]:
        """As OfficialDocument takes them."""
        return {"signer_title": self.title, "signer_name": self.name}


def signature_on(agency: Agency, day: date, *, user=None) -> Signature:
    """Title and name printed in a document's signature block. The deciding user signs with the title they hold
    in the agency that day; someone without a signer row signs under the head's title with their own name; a
    document nobody decided (a system letter) is signed by the agency's head of that day."""
    in_force = Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    signers = Signer.objects.filter(in_force, agency=agency, valid_from__lte=day).order_by("position", "-valid_from")
    own = signers.filter(user=user).first() if user is not None else None
    if own is not None:
        return Signature(title=own.title, name=own.name)
    head = signers.first()
    if user is not None:
        return Signature(title=head.title if head else "GIÁM ĐỐC", name=user.get_full_name() or user.username)
    return Signature(title=head.title if head else "GIÁM ĐỐC", name=head.name if head else "")


def letterhead(agency: Agency) -> dict[str, str]:
    """What an official document prints of its issuing agency (OfficialDocument's agency fields)."""
    return {"agency_parent": agency.parent_name, "agency_name": agency.name, "place": agency.place_name}
