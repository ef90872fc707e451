from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from webui.roles import can_operate, can_view


class CatalogPermission(BasePermission):
    """Reads need the viewer role (or above); writes need the operator role."""

    message = "Reading needs the viewer role; changing the catalog needs the operator role."

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return can_view(request.user)
        return can_operate(request.user)
