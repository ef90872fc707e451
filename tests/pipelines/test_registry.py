"""Plugin registries: one per kind, typed parameters, loud on duplicates and unknown names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, ClassVar

import msgspec
import pytest

from pipelines.core.calculators import Calculator, Ema, EmaParams, EmaTimeParams, SmaParams
from pipelines.registry import (
    CALCULATORS,
    CONFIG_STORES,
    RULES,
    SINKS,
    SOURCES,
    ParamsError,
    Registry,
    RegistryError,
    declared_params,
)

REPO = Path(__file__).resolve().parents[2]


class EchoParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    window: Annotated[int, msgspec.Meta(gt=0)] = 10
    label: str = ""


class Echo:
    kind: ClassVar[str] = "echo"
    Params: ClassVar[type[msgspec.Struct]] = EchoParams


def make_registry() -> Registry[type]:
    registry: Registry[type] = Registry("widgets")
    registry.register(Echo)
    return registry


def test_registered_plugin_is_found_by_kind() -> None:
    registry = make_registry()
    assert registry.get("echo") is Echo
    assert "echo" in registry
    assert list(registry) == ["echo"]
    assert registry.entry_point_group == "tickerplant.widgets"


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(RegistryError, match=r"unknown widgets plugin 'nope' \(known: echo\)"):
        make_registry().get("nope")


def test_a_second_plugin_under_the_same_kind_is_refused() -> None:
    registry = make_registry()
    registry.register(Echo)  # the same class again is harmless (re-import)
    clone = type("Clone", (), {"kind": "echo", "Params": EchoParams})
    with pytest.raises(RegistryError, match="registered twice"):
        registry.register(clone)


def test_a_module_run_again_from_source_keeps_the_registered_plugin() -> None:
    """``accel.reference`` runs a plugin module's source beside its build: the class it defines
    again (same module, same name) is not a second plugin, and the first stays registered."""
    registry = make_registry()
    registry.register(Echo)
    again = type("Echo", (), {"kind": "echo", "Params": EchoParams, "__module__": Echo.__module__})
    again.__qualname__ = Echo.__qualname__
    assert registry.register(again) is again
    assert registry.get("echo") is Echo


def test_a_plugin_without_params_struct_is_refused() -> None:
    with pytest.raises(RegistryError, match="no msgspec 'Params'"):
        make_registry().register(type("Bare", (), {"kind": "bare"}))


class Mislabelled(Calculator[EmaParams]):
    """Its code is typed for EmaParams, but the registry would validate and hand it SmaParams."""

    kind: ClassVar[str] = "mislabelled"
    Params: ClassVar[type[msgspec.Struct]] = SmaParams


class Tuned(Ema):
    kind: ClassVar[str] = "tuned"


class Retyped(Ema):
    kind: ClassVar[str] = "retyped"
    Params: ClassVar[type[msgspec.Struct]] = EmaTimeParams


def test_a_plugin_whose_params_are_not_its_generic_argument_is_refused() -> None:
    registry: Registry[type] = Registry("widgets")
    with pytest.raises(
        RegistryError,
        match="'mislabelled': Params is SmaParams but the class is generic in EmaParams",
    ):
        registry.register(Mislabelled)
    registry.register(Tuned)  # a subclass keeps its parent's params type...
    assert declared_params(Tuned) is EmaParams
    with pytest.raises(RegistryError, match="Params is EmaTimeParams"):
        registry.register(Retyped)  # ...and cannot swap in another struct


@pytest.mark.parametrize(
    "registry", [SOURCES, CALCULATORS, RULES, SINKS, CONFIG_STORES], ids=lambda r: r.name
)
def test_every_builtin_plugin_is_generic_in_its_own_params(registry: Registry[type]) -> None:
    """What makes the registration check above bite: no built-in leaves its type argument out."""
    builtins = [
        p for _, p in registry.items() if p.__module__.startswith(("pipelines.", "ingest."))
    ]
    assert builtins
    for plugin in builtins:
        assert declared_params(plugin) is plugin.Params, plugin.kind


def test_params_of_another_plugin_are_named_as_such() -> None:
    CALCULATORS.check_params("sma", SmaParams(window=5))
    with pytest.raises(ParamsError, match=r"^ema: params are EmaTimeParams, not EmaParams$"):
        CALCULATORS.check_params("ema", EmaTimeParams())


def test_params_are_validated_with_defaults() -> None:
    params = make_registry().params("echo", {"window": 3})
    assert params == EchoParams(window=3)
    assert make_registry().params("echo", None) == EchoParams()


@pytest.mark.parametrize(
    ("raw", "path"),
    [({"window": 0}, "window"), ({"window": "x"}, "window"), ({"colour": "red"}, "colour")],
)
def test_bad_params_name_the_field(raw: dict[str, object], path: str) -> None:
    with pytest.raises(ParamsError) as caught:
        make_registry().params("echo", raw)
    assert caught.value.path == path
    assert str(caught.value).startswith("echo: ")


def test_params_schema_is_json_schema_of_the_struct() -> None:
    schema = make_registry().params_schema("echo")
    properties = schema["$defs"]["EchoParams"]["properties"]
    assert properties["window"] == {"type": "integer", "exclusiveMinimum": 0, "default": 10}


def test_getting_a_builtin_protocol_imports_only_its_module() -> None:
    """A replay's start-up: ``PROTOCOLS.get("fix")`` imports the FIX decoder and nothing else of
    the protocols, and skips the entry-point scan; listing the plugins still loads everything."""
    script = (
        "import sys; from pipelines.registry import PROTOCOLS;"
        "PROTOCOLS.get('fix');"
        "print('ingest.protocols.fix' in sys.modules, 'ingest.protocols.cme_mdp3' in sys.modules,"
        " 'importlib.metadata' in sys.modules);"
        "kinds = list(PROTOCOLS);"
        "print('cme_mdp3' in kinds, 'json' in kinds, 'importlib.metadata' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split("\n")
    assert out[0] == "True False False"
    assert out[1] == "True True True"
