"""Catalog pages (/sources/, /rules/): list, choose a plugin, create, edit, delete.

Each page parses the forms, checks the role and calls the catalog's ``do_*`` action; a
CatalogError from the action (the plugin's Params disagreeing) lands on the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from controlplane.catalog import actions
from controlplane.catalog.checks import CatalogError, registry_for
from controlplane.catalog.models import DataSource, ProcessingRule
from pipelines.registry import CALCULATORS, RULES, SOURCES, Registry
from webui.forms import RuleForm, SourceForm
from webui.params_form import ParamsForm, params_form_class
from webui.roles import can_operate, can_view

__all__ = ["RULE_PAGES", "SOURCE_PAGES", "delete_entry", "edit_entry", "list_entries", "new_entry"]


@dataclass(frozen=True)
class EntryPages:
    entry: str
    title: str
    url_name: str
    model: type
    registries: tuple[Registry[Any], ...]
    form: type[forms.Form]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    # form field -> model field, where they differ
    renames: tuple[tuple[str, str], ...] = ()


SOURCE_PAGES = EntryPages(
    "source",
    "Sources",
    "sources",
    DataSource,
    (SOURCES,),
    SourceForm,
    actions.do_create_source,
    actions.do_update_source,
    actions.do_delete_source,
    renames=(("kept_fields", "fields"),),
)
RULE_PAGES = EntryPages(
    "rule",
    "Processing rules",
    "rules",
    ProcessingRule,
    (CALCULATORS, RULES),
    RuleForm,
    actions.do_create_rule,
    actions.do_update_rule,
    actions.do_delete_rule,
)


def _check_role(request: HttpRequest, write: bool) -> None:
    allowed = can_operate(request.user) if write else can_view(request.user)
    if not allowed:
        raise PermissionDenied(
            "Changing the catalog needs the operator role."
            if write
            else "You need the viewer, operator or admin role."
        )


def _params_form(pages: EntryPages, kind: str, data: Any, initial: Any) -> ParamsForm:
    try:
        registry = registry_for(pages.entry, kind)
    except CatalogError:
        raise Http404(f"no {pages.entry} plugin {kind!r}") from None
    form_class = params_form_class(registry.get(kind).Params)
    return form_class(data, initial=initial, prefix="params")


def _values(pages: EntryPages, entry_form: forms.Form, params_form: ParamsForm) -> dict[str, Any]:
    values = dict(entry_form.cleaned_data)
    for form_name, model_name in pages.renames:
        values[model_name] = values.pop(form_name)
    values["params"] = params_form.params()
    return values


def _place_error(
    exc: CatalogError, pages: EntryPages, entry_form: forms.Form, params_form: ParamsForm
) -> None:
    field = exc.field
    if field.startswith("params."):
        name = field.split(".", 2)[1].split("[", 1)[0]
        params_form.add_error(name if name in params_form.fields else None, exc.message)
        return
    renamed = {model: form for form, model in pages.renames}.get(field, field)
    entry_form.add_error(renamed if renamed in entry_form.fields else None, exc.message)


def _render_form(
    request: HttpRequest,
    pages: EntryPages,
    kind: str,
    entry_form: forms.Form,
    params_form: ParamsForm,
    instance: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "pages": pages,
        "kind": kind,
        "entry_form": entry_form,
        "params_form": params_form,
        "instance": instance,
    }
    return render(request, "webui/catalog_form.html", context, status=status)


@login_required
def list_entries(request: HttpRequest, pages: EntryPages) -> HttpResponse:
    _check_role(request, write=False)
    entries = pages.model.objects.all()  # type: ignore[attr-defined]
    return render(request, "webui/catalog_list.html", {"pages": pages, "entries": entries})


@login_required
def new_entry(request: HttpRequest, pages: EntryPages) -> HttpResponse:
    _check_role(request, write=True)
    kind = request.GET.get("kind") or request.POST.get("kind") or ""
    if not kind:
        plugins = [(k, r.name) for r in pages.registries for k in r]
        return render(request, "webui/catalog_choose.html", {"pages": pages, "plugins": plugins})
    data = request.POST if request.method == "POST" else None
    entry_form = pages.form(data)
    params_form = _params_form(pages, kind, data, None)
    if data is not None and entry_form.is_valid() & params_form.is_valid():
        try:
            instance = pages.create(
                request.user, kind=kind, **_values(pages, entry_form, params_form)
            )
        except CatalogError as exc:
            _place_error(exc, pages, entry_form, params_form)
        else:
            messages.success(request, f"Created {pages.entry} {instance.name}.")
            return redirect(pages.url_name)
    status = 400 if data is not None else 200
    return _render_form(request, pages, kind, entry_form, params_form, status=status)


@login_required
def edit_entry(request: HttpRequest, pages: EntryPages, name: str) -> HttpResponse:
    _check_role(request, write=request.method == "POST")
    instance = get_object_or_404(pages.model, name=name)
    editable = can_operate(request.user)
    data = request.POST if request.method == "POST" else None
    initial = {f: getattr(instance, f) for f in pages.form.base_fields if hasattr(instance, f)}
    for form_name, model_name in pages.renames:
        initial[form_name] = getattr(instance, model_name)
    entry_form = pages.form(data, initial=initial)
    params_form = _params_form(pages, instance.kind, data, instance.params)
    if data is not None and entry_form.is_valid() & params_form.is_valid():
        try:
            pages.update(instance, request.user, **_values(pages, entry_form, params_form))
        except CatalogError as exc:
            instance.refresh_from_db()
            _place_error(exc, pages, entry_form, params_form)
        else:
            messages.success(request, f"Saved {pages.entry} {instance.name}.")
            return redirect(pages.url_name)
    if not editable:
        for form in (entry_form, params_form):
            for field in form.fields.values():
                field.disabled = True
    status = 400 if data is not None else 200
    return _render_form(request, pages, instance.kind, entry_form, params_form, instance, status)


@login_required
@require_POST
def delete_entry(request: HttpRequest, pages: EntryPages, name: str) -> HttpResponse:
    _check_role(request, write=True)
    instance = get_object_or_404(pages.model, name=name)
    pages.delete(instance, request.user)
    messages.success(request, f"Deleted {pages.entry} {name}.")
    return redirect(pages.url_name)
