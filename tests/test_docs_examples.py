"""The docs' examples work: every config.toml block loads, every command line parses.

Blocks are read from README.md and docs/**/*.md (decision records aside): a ```toml block whose
first table is a config table (``[data_sources...]``, ``[processing...]``, ``[delivery...]``,
``[shards]``) goes through the config loader; every ``python -m pipelines ...`` and
``python manage.py ...`` line of a code block through the command's own argument parser.
Mapping fragments (docs/mappings.md) are the mapping linter's business.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.config_file import loads_config

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [REPO / "README.md", *(REPO / "docs").rglob("*.md")],
)
DOCS = [p for p in DOCS if "decisions" not in p.parts and "spikes" not in p.parts]
_CONFIG_TABLE = re.compile(r"^\[\s*(data_sources|processing|delivery|shards)\b")
_COMMAND = re.compile(r"^(?:\.venv/bin/)?python3? (-m pipelines|manage\.py) (.*)$")
_SYNOPSIS = re.compile(r"[\[\]<>|]|\.\.\.|\bFILE\b|\bDIR\b")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def _blocks() -> list[Block]:
    blocks = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        start, language, body = None, "", []
        for number, line in enumerate(lines, 1):
            fence = re.match(r"^\s*```(\S*)", line)
            if fence and start is None:
                start, language, body = number, fence.group(1), []
            elif fence:
                blocks.append(Block(path, start, language, "\n".join(body) + "\n"))
                start = None
            elif start is not None:
                body.append(line)
    return blocks


BLOCKS = _blocks()
CONFIGS = [
    b
    for b in BLOCKS
    if b.language == "toml"
    and any(_CONFIG_TABLE.match(line.strip()) for line in b.text.splitlines()[:3])
]


def _commands() -> list[tuple[Block, str, list[str]]]:
    found = []
    for block in BLOCKS:
        if block.language not in ("", "bash", "sh", "console"):
            continue
        for line in block.text.replace("\\\n", " ").splitlines():
            match = _COMMAND.match(line.strip())
            if match is None or _SYNOPSIS.search(match.group(2).split("#", 1)[0]):
                continue
            args = shlex.split(match.group(2), comments=True)
            found.append((block, match.group(1), args))
    return found


COMMANDS = _commands()


def test_the_extraction_finds_the_examples() -> None:
    assert len(CONFIGS) >= 10 and len(COMMANDS) >= 8


@pytest.mark.parametrize("block", CONFIGS, ids=str)
def test_config_examples_load(block: Block) -> None:
    loads_config(block.text, str(block))


@pytest.mark.parametrize(
    ("block", "tool", "args"), COMMANDS, ids=[f"{b} {' '.join(a)[:40]}" for b, _, a in COMMANDS]
)
def test_command_examples_parse(block: Block, tool: str, args: list[str]) -> None:
    args = [re.sub(r"\$\{?\w+\}?", "x", arg) for arg in args]  # shell variables: any value
    if tool == "-m pipelines":
        from pipelines.__main__ import build_parser

        parser = build_parser()
    else:
        from django.core.management import get_commands, load_command_class

        name, args = args[0], args[1:]
        commands = get_commands()
        assert name in commands, f"{block}: no manage.py command {name!r}"
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(args)
    except SystemExit as exit:
        assert exit.code == 0, f"{block}: {tool} {' '.join(args)} does not parse"
