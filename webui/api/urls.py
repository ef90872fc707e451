from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from webui.api import views

router = DefaultRouter()
router.register("sources", views.SourceViewSet, basename="source")
router.register("rules", views.RuleViewSet, basename="rule")

urlpatterns = [
    path("", include(router.urls)),
    path("plugins/", views.PluginListView.as_view(), name="plugins"),
    path("books/<str:stream>/<path:symbol>/", views.BookView.as_view(), name="book"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
