"""Roles: group ``viewer`` reads, ``operator`` also changes the catalog, ``admin``/superuser all."""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "ADMIN",
    "OPERATOR",
    "ROLES",
    "VIEWER",
    "can_operate",
    "can_view",
    "role_known",
    "role_of",
]

VIEWER: Final = "viewer"
OPERATOR: Final = "operator"
ADMIN: Final = "admin"
ROLES: Final = (VIEWER, OPERATOR, ADMIN)
_RANK: Final = {None: 0, VIEWER: 1, OPERATOR: 2, ADMIN: 3}


def role_of(user: Any) -> str | None:
    """The highest role of ``user`` (cached on the user object for the request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_tickerplant_role", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    if user.is_superuser:
        role: str | None = ADMIN
    else:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        role = max(names, key=lambda n: _RANK[n]) if names else None
    user._tickerplant_role = role
    return role


def role_known(user: Any) -> bool:
    """Whether :func:`role_of` answers for ``user`` without a database query."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return True
    return bool(user.is_superuser) or getattr(user, "_tickerplant_role", False) is not False


def can_view(user: Any) -> bool:
    return _RANK[role_of(user)] >= _RANK[VIEWER]


def can_operate(user: Any) -> bool:
    return _RANK[role_of(user)] >= _RANK[OPERATOR]
