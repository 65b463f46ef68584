from rest_framework.permissions import BasePermission

from cases import roles as r


class HasDepartmentRole(BasePermission):
    """Signed in and holding at least one of the department's roles."""

    message = "Your account has no role in the department."

    def has_permission(self, request, view) -> bool:
        return bool(r.user_roles(request.user))


class HasRoleIn(BasePermission):
    """Signed in with one of `roles` (build with HasRoleIn.of(...))."""

    roles: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *roles: str) -> type["HasRoleIn"]:
        return type(f"HasRoleIn_{'_'.join(roles)}", (cls,), {"roles": frozenset(roles)})

    def has_permission(self, request, view) -> bool:
        return bool(r.user_roles(request.user) & self.roles)
