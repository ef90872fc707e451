"""docs/sources.md: its Params tables are generated from the structs, its examples load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.sources.describe import BEGIN, END, field_docs, render
from ingest.sources.websocket import WebSocketParams
from pipelines.config_file import loads_config
from pipelines.spec import validate

DOC = Path(__file__).parents[3] / "docs" / "sources.md"
EXAMPLES = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)


def test_the_params_section_is_up_to_date() -> None:
    generated = DOC.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    assert generated.strip() == render().strip(), (
        "run: .venv/bin/python -m ingest.sources.describe --write docs/sources.md"
    )


def test_field_docs_come_from_the_struct_source() -> None:
    docs = field_docs(WebSocketParams)
    assert docs["backoff_max"] == "Cap of the reconnect delay."
    assert "`endpoint`" in docs["url"]


@pytest.mark.parametrize("example", EXAMPLES, ids=range(len(EXAMPLES)))
def test_every_example_loads_and_validates(example: str) -> None:
    spec = loads_config(example)
    validate(spec)
    assert len(spec.sources) == 1
