"""Dashboard and audit pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlplane.audit.models import AuditEntry
from webui.roles import can_view

__all__ = ["audit", "dashboard"]


def _require_viewer(request: HttpRequest) -> None:
    if not can_view(request.user):
        raise PermissionDenied("You need the viewer, operator or admin role.")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    return render(request, "webui/dashboard.html")


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    entries = AuditEntry.objects.order_by("-position")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "webui/audit.html", {"page": page})
