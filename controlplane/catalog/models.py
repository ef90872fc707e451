"""The catalog: what the platform should run. Compiled into a PipelineSpec on every change."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from pipelines.spec import NAME_MAX_LENGTH, NAME_PATTERN, NAME_RULE

__all__ = ["DataSource", "DeliveryTarget", "ProcessingRule", "PublishedSpec"]

# The names become PipelineSpec keys and topic tokens: pipelines.spec's one definition.
name_validator = RegexValidator(NAME_PATTERN, NAME_RULE)


class _Entry(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True, validators=[name_validator])
    kind = models.CharField(max_length=100)
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class DataSource(_Entry):
    """A feed: a SOURCES plugin (``kind``) with its protocol, endpoint, mapping and symbols."""

    protocol = models.CharField(max_length=100, blank=True)
    endpoint = models.CharField(max_length=500, blank=True)
    mapping = models.CharField(max_length=200, blank=True)
    symbols = models.JSONField(default=list, blank=True)
    fields = models.JSONField(default=list, blank=True)

    class Meta(_Entry.Meta):
        pass


class ProcessingRule(_Entry):
    """A CALCULATORS plugin (e.g. ``ema``) or a RULES plugin, on some or all symbols."""

    ACTIONS = [("tag", "tag"), ("drop", "drop"), ("alert", "alert"), ("halt", "halt")]

    symbols = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=10, choices=ACTIONS, default="alert")

    class Meta(_Entry.Meta):
        pass


class DeliveryTarget(_Entry):
    """A SINKS plugin and the topic patterns it receives."""

    topics = models.JSONField(default=list, blank=True)

    class Meta(_Entry.Meta):
        pass


class PublishedSpec(models.Model):
    """A spec version as it was put to the config store."""

    version = models.PositiveIntegerField()
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-version", "-id"]

    def __str__(self) -> str:
        return f"spec v{self.version}"
