"""URLs: the web UI and API (webui), and Django's admin for superusers."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("webui.urls")),
]
