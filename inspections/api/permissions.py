from rest_framework.permissions import SAFE_METHODS, BasePermission

from cases import roles as r

READ_ROLES = frozenset({r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR, r.REPORTER})
FIELD_ROLES = frozenset({r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
LEAD_ROLES = frozenset({r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})


class RolesByMethod(BasePermission):
    """Reads need one of `read_roles` (None: any department role); writes one of `write_roles`.
    The services then check the campaign itself (its team, its state)."""

    read_roles: frozenset[str] | None = None
    write_roles: frozenset[str] = frozenset()
    message = "Your role does not allow this action."

    @classmethod
    def of(cls, *, read: frozenset[str] | None, write: frozenset[str]) -> type["RolesByMethod"]:
        name = f"RolesByMethod_{'_'.join(sorted(read or ['any']))}__{'_'.join(sorted(write))}"
        return type(name, (cls,), {"read_roles": read, "write_roles": write})

    def has_permission(self, request, view) -> bool:
        roles = r.user_roles(request.user)
        if request.method in SAFE_METHODS:
            return bool(roles) if self.read_roles is None else bool(roles & self.read_roles)
        return bool(roles & self.write_roles)


# Campaign data: every department role may ask (the selectors scope what it sees); field work writes.
CampaignData = RolesByMethod.of(read=None, write=FIELD_ROLES)
# Campaigns themselves and sanctions: leads write.
CampaignLeads = RolesByMethod.of(read=None, write=LEAD_ROLES)
# The registry and the checklists: inspection roles read, leads write.
Registry = RolesByMethod.of(read=READ_ROLES, write=LEAD_ROLES)
