from django.urls import include, path
from django.views.generic import RedirectView

from webui.views import auth, catalog, health, pages

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("accounts/login/", auth.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth.AuditedLogoutView.as_view(), name="logout"),
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("audit/", pages.audit, name="audit"),
    path("api/", include("webui.api.urls")),
]

for _pages in (catalog.SOURCE_PAGES, catalog.RULE_PAGES):
    _base = _pages.url_name
    urlpatterns += [
        path(f"{_base}/", catalog.list_entries, {"pages": _pages}, name=_base),
        path(f"{_base}/new/", catalog.new_entry, {"pages": _pages}, name=f"{_base}-new"),
        path(f"{_base}/<str:name>/", catalog.edit_entry, {"pages": _pages}, name=f"{_base}-edit"),
        path(
            f"{_base}/<str:name>/delete/",
            catalog.delete_entry,
            {"pages": _pages},
            name=f"{_base}-delete",
        ),
    ]
