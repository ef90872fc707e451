"""Serializers: shape and types only; the catalog actions (and the plugin's Params) validate."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from controlplane.catalog import actions
from controlplane.catalog.checks import CatalogError
from controlplane.catalog.models import DataSource, ProcessingRule

__all__ = ["BookSerializer", "PluginSerializer", "RuleSerializer", "SourceSerializer"]


def catalog_error_detail(exc: CatalogError) -> dict[str, Any]:
    """``params.window`` -> ``{"params": {"window": [message]}}``; others ``{field: [message]}``."""
    head, _, rest = exc.field.partition(".")
    if head == "params" and rest:
        return {"params": {rest.split(".", 1)[0].split("[", 1)[0]: [exc.message]}}
    return {head: [exc.message]}


class StrictCharField(serializers.CharField):
    """A string, and only a string: ``1`` is not silently ``"1"``."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``, not ``1``, ``"yes"`` or ``"true"``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _strings() -> serializers.ListField:
    return serializers.ListField(child=StrictCharField(), required=False)


class _EntrySerializer(serializers.ModelSerializer):
    """Strict types (no coercion of numbers to strings or strings to booleans); the plugin's
    ``Params`` check the params strictly too (``controlplane.catalog.checks.check_params``)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }
    action_create: Any = None
    action_update: Any = None

    def create(self, validated_data: dict[str, Any]) -> Any:
        user = self.context["request"].user
        try:
            return type(self).action_create(user, **validated_data)
        except CatalogError as exc:
            raise serializers.ValidationError(catalog_error_detail(exc)) from None

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        user = self.context["request"].user
        try:
            return type(self).action_update(instance, user, **validated_data)
        except CatalogError as exc:
            raise serializers.ValidationError(catalog_error_detail(exc)) from None


_COMMON = ["id", "name", "kind", "params", "symbols", "enabled", "created_at", "updated_at"]


class SourceSerializer(_EntrySerializer):
    action_create = staticmethod(actions.do_create_source)
    action_update = staticmethod(actions.do_update_source)
    symbols = _strings()
    fields = _strings()
    params = serializers.DictField(required=False)

    class Meta:
        model = DataSource
        fields = [*_COMMON, "protocol", "endpoint", "mapping", "fields"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness and name syntax are the action's checks (errors keyed by field).
        extra_kwargs = {"name": {"validators": []}}


class RuleSerializer(_EntrySerializer):
    action_create = staticmethod(actions.do_create_rule)
    action_update = staticmethod(actions.do_update_rule)
    symbols = _strings()
    params = serializers.DictField(required=False)

    class Meta:
        model = ProcessingRule
        fields = [*_COMMON, "action"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}


class PluginSerializer(serializers.Serializer):
    registry = serializers.CharField()
    kind = serializers.CharField()
    params_schema = serializers.DictField()


class BookSerializer(serializers.Serializer):
    stream = serializers.CharField()
    symbol = serializers.CharField()
    seq = serializers.IntegerField()
    state = serializers.CharField()
    bids = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    asks = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
