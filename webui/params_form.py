"""Django form fields built from a plugin's msgspec ``Params`` struct.

int/float/str/bool/list/literal fields with their defaults and constraints become IntegerField,
FloatField, CharField, BooleanField, a comma-separated list field and ChoiceField; anything else
is edited as JSON. The plugin's ``Params`` stays the one validator: the action validates again
and a ParamsError's ``path`` lands on the field it names.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import msgspec.inspect as mi
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

__all__ = ["ParamsForm", "params_form_class"]


def _unwrap(t: mi.Type) -> tuple[mi.Type, bool, str]:
    """(type without Metadata/Optional, whether None is allowed, description)."""
    description = ""
    nullable = False
    while True:
        if isinstance(t, mi.Metadata):
            description = (t.extra_json_schema or {}).get("description", description)
            t = t.type
        elif isinstance(t, mi.UnionType):
            others = [x for x in t.types if not isinstance(x, mi.NoneType)]
            nullable = nullable or len(others) < len(t.types)
            if len(others) != 1:
                return t, nullable, description
            t = others[0]
        else:
            return t, nullable, description


def _strict_float_bounds(t: mi.FloatType) -> list[Any]:
    validators = []
    if t.gt is not None:
        gt = t.gt

        def greater(value: float, gt: float = gt) -> None:
            if value is not None and not value > gt:
                raise ValidationError(f"Must be greater than {gt}.")

        validators.append(greater)
    if t.lt is not None:
        lt = t.lt

        def less(value: float, lt: float = lt) -> None:
            if value is not None and not value < lt:
                raise ValidationError(f"Must be less than {lt}.")

        validators.append(less)
    return validators


class ListField(forms.CharField):
    """A comma-separated list whose items are converted by ``item_field``."""

    def __init__(self, item_field: forms.Field, **kwargs: Any) -> None:
        self.item_field = item_field
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list):
            return value
        text = super().to_python(value)
        if not text:
            return []
        return [self.item_field.clean(item.strip()) for item in text.split(",") if item.strip()]


def _field_for(t: mi.Type, required: bool, default: Any, label: str) -> forms.Field:
    t, nullable, description = _unwrap(t)
    required = required and not nullable
    common: dict[str, Any] = {"required": required, "label": label, "help_text": description}
    if default is not msgspec.NODEFAULT and default is not None:
        common["initial"] = default
    if isinstance(t, mi.BoolType):
        return forms.BooleanField(**{**common, "required": False})
    if isinstance(t, mi.IntType):
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
        high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
        return forms.IntegerField(min_value=low, max_value=high, **common)
    if isinstance(t, mi.FloatType):
        return forms.FloatField(
            min_value=t.ge, max_value=t.le, validators=_strict_float_bounds(t), **common
        )
    if isinstance(t, mi.StrType):
        validators = [RegexValidator(t.pattern)] if t.pattern else []
        return forms.CharField(
            min_length=t.min_length,
            max_length=t.max_length,
            validators=validators,
            strip=False,
            **{**common, "required": required and bool(t.min_length)},
        )
    if isinstance(t, mi.LiteralType):
        choices = [(json.dumps(v), str(v)) for v in t.values]
        if "initial" in common:
            common["initial"] = json.dumps(common["initial"])
        return forms.TypedChoiceField(choices=choices, coerce=json.loads, **common)
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        item = _field_for(t.item_type, True, msgspec.NODEFAULT, label)
        if not isinstance(item, forms.IntegerField | forms.FloatField | forms.CharField):
            return forms.JSONField(**common)
        common["help_text"] = (description + " " if description else "") + "Comma-separated."
        return ListField(item, **{**common, "required": required and bool(t.min_length)})
    return forms.JSONField(**common)


class ParamsForm(forms.Form):
    """The params of one plugin; ``params()`` is the raw dict for ``REGISTRY.params``."""

    params_type: type[msgspec.Struct]

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            field = self.fields[name]
            if value in (None, "", []) and not isinstance(field, forms.BooleanField):
                continue  # blank: the plugin's default applies
            out[name] = value
        return out


def params_form_class(params_type: type[msgspec.Struct]) -> type[ParamsForm]:
    info = mi.type_info(params_type)
    assert isinstance(info, mi.StructType)
    fields: dict[str, forms.Field] = {}
    for field in info.fields:
        default = field.default
        if default is msgspec.NODEFAULT and field.default_factory is not msgspec.NODEFAULT:
            default = field.default_factory()
        label = field.encode_name.replace("_", " ")
        fields[field.encode_name] = _field_for(field.type, field.required, default, label)
    attrs: dict[str, Any] = {"params_type": params_type, **fields}
    return type(f"{params_type.__name__}Form", (ParamsForm,), attrs)
