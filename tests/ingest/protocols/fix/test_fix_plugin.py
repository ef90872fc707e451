"""The ``fix`` plugin in the PROTOCOLS registry: typed params, unknown fields rejected."""

from __future__ import annotations

import pytest

import ingest.protocols.fix  # noqa: F401 - registers the plugin (the lead wires the package)
from ingest.protocols.fix import FixDecoder, FixFramer, FixParams
from pipelines.registry import PROTOCOLS, ParamsError


def test_registered_with_params() -> None:
    assert PROTOCOLS.get("fix") is FixDecoder
    params = PROTOCOLS.params("fix", {"validate_checksum": False, "symbol_tags": [107, 48]})
    assert isinstance(params, FixParams)
    assert params.symbol_tags == (107, 48)
    schema = PROTOCOLS.params_schema("fix")
    assert "dictionary" in str(schema)


@pytest.mark.parametrize(
    "raw",
    [{"dictionnary": "x.xml"}, {"symbol_tags": [0]}, {"price_decimals": -2}, {"separator": "||"}],
)
def test_bad_params(raw: dict[str, object]) -> None:
    with pytest.raises(ParamsError):
        PROTOCOLS.params("fix", raw)


def test_decoder_shape() -> None:
    decoder = FixDecoder("s")
    assert decoder.decode(b"35=0\x01", ts_recv=0) == []  # a heartbeat: no events
    assert isinstance(decoder.framer(), FixFramer)
    assert decoder.sequencer.stream == "s"
