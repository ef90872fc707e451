"""The catalog entry forms (everything but the plugin params, which params_form builds)."""

from __future__ import annotations

from django import forms

from controlplane.catalog.models import ProcessingRule
from pipelines.registry import PROTOCOLS
from pipelines.spec import NAME_MAX_LENGTH, NAME_PATTERN, NAME_RULE
from webui.params_form import ListField

__all__ = ["RuleForm", "SourceForm"]


def _names() -> ListField:
    return ListField(forms.CharField(max_length=64), required=False, help_text="Comma-separated.")


class _EntryForm(forms.Form):
    name = forms.RegexField(
        NAME_PATTERN,
        max_length=NAME_MAX_LENGTH,
        error_messages={"invalid": NAME_RULE},
        help_text="Letters, digits, '_', '-' and '.'.",
    )
    symbols = _names()
    enabled = forms.BooleanField(required=False, initial=True)


class SourceForm(_EntryForm):
    protocol = forms.ChoiceField(required=False)
    endpoint = forms.CharField(max_length=500, required=False)
    mapping = forms.CharField(max_length=200, required=False)
    kept_fields = ListField(
        forms.CharField(max_length=64),
        required=False,
        label="fields",
        help_text="Normalized fields kept (comma-separated); empty keeps all.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["protocol"].choices = [("", "(none)")] + [(k, k) for k in PROTOCOLS]


class RuleForm(_EntryForm):
    action = forms.ChoiceField(
        choices=ProcessingRule.ACTIONS, initial="alert", help_text="For rules (not calculators)."
    )
