"""Loading mappings: typed, strict, and errors that name the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.mapped import MappedJsonDecoder, MappingError, load_mapping, loads_mapping
from ingest.protocols.mapped.schema import MAPPINGS_DIR, BookMessage, TradeMessage

MINIMAL = """
[venue]
name = "t"

[routing]
default = "trade"

[messages.trade]
kind = "trade"
price = "p"
size = "q"
"""


@pytest.mark.parametrize("name", sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml")))
def test_every_shipped_mapping_loads_and_compiles(name: str) -> None:
    mapping = load_mapping(name)
    assert mapping.venue.name == name
    MappedJsonDecoder("s", mapping)


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(MINIMAL)
    assert isinstance(load_mapping(path).messages["trade"], TradeMessage)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (MINIMAL + "colour = 'red'\n", "messages.trade.colour"),
        (MINIMAL.replace('name = "t"', 'name = "t"\nprotocl = "json"'), "venue.protocl"),
        (MINIMAL + "[numbers]\nprice_decimals = 'many'\n", "numbers.price_decimals"),
        (MINIMAL.replace('kind = "trade"', 'kind = "trades"'), "messages.trade.kind"),
        (MINIMAL.replace('kind = "trade"\n', ""), "messages.trade.kind"),
        (MINIMAL.replace('size = "q"', ""), "messages.trade.size"),
        (MINIMAL.replace('price = "p"', 'price = "p..x"'), "messages.trade.price"),
        (
            MINIMAL.replace('price = "p"', 'price = { path = "p", colour = 1 }'),
            "messages.trade.price.colour",
        ),
        (MINIMAL.replace('default = "trade"', 'default = "trad"'), "routing.default"),
        (
            MINIMAL + '[[routing.rules]]\npath = "e"\nvalues = { x = "nope" }\n',
            "routing.rules[0].values.x",
        ),
        (
            MINIMAL + '[messages.b]\nkind = "book"\nlevels = [{ path = "b" }]\n',
            "messages.b.levels[0]",
        ),
        (
            MINIMAL
            + '[messages.b]\nkind = "book"\nlevels = [{ path = "b", side = "bid", sid = 1 }]\n',
            "messages.b.levels[0].sid",
        ),
        (
            MINIMAL
            + '[messages.b]\nkind = "book"\nlevels = []\nsync = { rule = "update_id_range" }\n',
            "messages.b.sync",
        ),
    ],
)
def test_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(MappingError) as info:
        loads_mapping(text, "venue.toml")
    assert info.value.key == key
    assert str(info.value).startswith(f"venue.toml: {key}: ")


def test_toml_syntax_and_missing_file() -> None:
    with pytest.raises(MappingError, match="TOML syntax"):
        loads_mapping("[venue\n")
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping("no_such_venue")


def test_unknown_subscribe_placeholder_is_refused() -> None:
    mapping = loads_mapping(MINIMAL + '[subscribe]\nurl = "wss://x/{symbolz}"\n')
    with pytest.raises(MappingError, match="symbolz"):
        MappedJsonDecoder("s", mapping)


def test_mapping_is_typed() -> None:
    depth = load_mapping("binance_spot").messages["depth"]
    assert isinstance(depth, BookMessage)
    assert depth.sync.rule == "update_id_range" and depth.snapshot.source == "rest"
