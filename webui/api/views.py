"""API views: thin; writes go through the catalog actions (via the serializers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.catalog import actions
from controlplane.catalog.models import DataSource, ProcessingRule
from pipelines.events import to_json_dict
from pipelines.registry import CALCULATORS, PROTOCOLS, RULES, SINKS, SOURCES
from pipelines.spec import NAME_CHARACTERS
from webui.api.serializers import BookSerializer, PluginSerializer, RuleSerializer, SourceSerializer
from webui.gateway import get_gateway

__all__ = ["BookView", "PluginListView", "RuleViewSet", "SourceViewSet"]


class SourceViewSet(viewsets.ModelViewSet):
    """Data sources; ``params`` are validated by the source plugin's ``Params``."""

    queryset = DataSource.objects.all()
    serializer_class = SourceSerializer
    lookup_field = "name"
    lookup_value_regex = f"{NAME_CHARACTERS}+"

    def perform_destroy(self, instance: DataSource) -> None:
        actions.do_delete_source(instance, self.request.user)


class RuleViewSet(viewsets.ModelViewSet):
    """Processing rules: calculators (e.g. ``ema``) and rules, by plugin kind."""

    queryset = ProcessingRule.objects.all()
    serializer_class = RuleSerializer
    lookup_field = "name"
    lookup_value_regex = f"{NAME_CHARACTERS}+"

    def perform_destroy(self, instance: ProcessingRule) -> None:
        actions.do_delete_rule(instance, self.request.user)


class PluginListView(APIView):
    """Every registry's plugins with their params JSON Schema."""

    @extend_schema(responses=PluginSerializer(many=True))
    def get(self, request: Request) -> Response:
        plugins: list[dict[str, Any]] = []
        for registry in (SOURCES, PROTOCOLS, CALCULATORS, RULES, SINKS):
            for kind in registry:
                plugins.append(
                    {
                        "registry": registry.name,
                        "kind": kind,
                        "params_schema": registry.params_schema(kind),
                    }
                )
        return Response(plugins)


class BookView(APIView):
    """The latest book of ``stream``/``symbol`` as the gateway last saw it."""

    @extend_schema(
        responses={200: BookSerializer, 404: OpenApiResponse(description="No book seen yet")}
    )
    def get(self, request: Request, stream: str, symbol: str) -> Response:
        book = get_gateway().book(stream, symbol)
        if book is None:
            return Response(
                {
                    "detail": f"No book for stream {stream!r} symbol {symbol!r}: the gateway has "
                    "not seen one (unknown stream or symbol, or no data yet)."
                },
                status=404,
            )
        data = to_json_dict(book)
        return Response(
            {key: data[key] for key in ("stream", "symbol", "seq", "state", "bids", "asks")}
        )
