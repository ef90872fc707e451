from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from webui.roles import can_operate, role_of


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"role": role_of(user), "can_operate": can_operate(user)}
