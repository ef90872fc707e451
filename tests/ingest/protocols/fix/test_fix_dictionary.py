"""QuickFIX dictionaries compile to group tables (delimiter, members) and come back from cache."""

from __future__ import annotations

import time
from pathlib import Path

from ingest.protocols.fix import FixDictionary, builtin_dictionary, load_dictionary
from ingest.protocols.fix import dictionary as dictionary_module


def test_fix44_market_data_groups(fix44: FixDictionary) -> None:
    assert fix44.begin_string == "FIX.4.4"
    snapshot, incremental = fix44.messages["W"], fix44.messages["X"]
    assert snapshot.name == "MarketDataSnapshotFullRefresh"
    assert snapshot.groups["268"].delimiter == "269"
    assert incremental.groups["268"].delimiter == "279"
    assert {"269", "270", "271", "55"} <= incremental.groups["268"].members
    assert fix44.fields["269"].enums["2"] == "TRADE"
    assert fix44.names["MDEntryPx"] == "270"
    assert {"8", "9", "35", "49", "56", "34", "52"} <= fix44.header.required


def test_fix42_has_the_older_layout(fix42: FixDictionary) -> None:
    assert fix42.begin_string == "FIX.4.2"
    assert fix42.messages["W"].groups["268"].delimiter == "269"
    assert "55" in fix42.messages["W"].members


def test_fixt_and_fix50sp2_pair(fix50sp2: FixDictionary) -> None:
    assert fix50sp2.begin_string == "FIXT.1.1"
    assert fix50sp2.appl_ver_id == "9"
    assert "A" in fix50sp2.messages  # Logon from the session dictionary
    assert "X" in fix50sp2.messages  # market data from the application dictionary
    assert {"8", "9", "35", "1128"} <= fix50sp2.header.members
    # Components expand: MDIncGrp entries include the Instrument component's Symbol.
    assert "55" in fix50sp2.messages["X"].groups["268"].members
    assert "1023" in fix50sp2.messages["X"].groups["268"].members


def test_cme_dictionary_nested_groups(cme_dictionary: FixDictionary) -> None:
    secdef = cme_dictionary.messages["d"]
    assert secdef.groups["555"].delimiter == "600"  # NoLegs → LegSymbol
    assert secdef.groups["864"].delimiter == "865"  # NoEvents → EventType
    assert secdef.groups["870"].delimiter == "871"  # NoInstrAttrib → InstrAttribType
    assert secdef.groups["1141"].delimiter == "1022"  # NoMDFeedTypes → MDFeedType
    assert "9787" in secdef.members  # CME's DisplayFactor


def test_cache_is_used_on_the_next_start(fix_data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TICKERPLANT_CACHE_DIR", str(tmp_path))
    path = fix_data / "quickfix-dict" / "FIX50SP2.xml"
    dictionary_module._load_cached.cache_clear()
    started = time.perf_counter()
    first = load_dictionary(path)
    compile_seconds = time.perf_counter() - started
    assert list((tmp_path / "fix").glob("*.msgpack"))
    dictionary_module._load_cached.cache_clear()  # as in a new process
    started = time.perf_counter()
    second = load_dictionary(path)
    cached_seconds = time.perf_counter() - started
    assert second == first
    assert cached_seconds < compile_seconds


def test_builtin_dictionary_knows_market_data_groups() -> None:
    builtin = builtin_dictionary()
    assert builtin.messages["W"].groups["268"].delimiter == "269"
    assert builtin.messages["d"].groups["555"].delimiter == "600"


def test_bad_xml_is_a_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<fix><messages>")
    try:
        load_dictionary(bad)
    except ValueError as exc:
        assert "QuickFIX" in str(exc)
    else:
        raise AssertionError("bad XML must raise")
