"""PipelineSpec: structure, validation against the registries, JSON form, default shard map."""

from __future__ import annotations

import pytest

from pipelines.spec import (
    CalculatorSpec,
    PipelineSpec,
    ShardMap,
    SourceSpec,
    SpecError,
    decode_spec,
    encode_spec,
    shard_of,
    validate,
)


def sample() -> PipelineSpec:
    return PipelineSpec(
        version=3,
        sources={"sim": SourceSpec(kind="simulator", symbols=["A", "B"])},
        calculators={"ema": CalculatorSpec(kind="ema", params={"window": 10})},
    )


def test_json_round_trip_is_deterministic() -> None:
    spec = sample()
    assert decode_spec(encode_spec(spec)) == spec
    assert encode_spec(spec) == encode_spec(decode_spec(encode_spec(spec)))


def test_unknown_fields_are_errors_with_their_path() -> None:
    with pytest.raises(SpecError) as caught:
        decode_spec(b'{"version": 1, "sources": {"sim": {"kind": "simulator", "rate_hz": 5}}}')
    assert "rate_hz" in str(caught.value)


def test_validate_names_the_bad_plugin_and_parameter() -> None:
    with pytest.raises(SpecError) as caught:
        validate(
            PipelineSpec(calculators={"ema": CalculatorSpec(kind="ema", params={"window": 0})})
        )
    assert caught.value.path == "calculators.ema.params.window"
    with pytest.raises(SpecError) as caught:
        validate(PipelineSpec(sources={"x": SourceSpec(kind="no-such-source")}))
    assert caught.value.path == "sources.x.kind"


def test_default_shard_is_stable_crc32c_not_python_hash() -> None:
    # crc32c("sim\0BTC-USD") is fixed forever: workers on other machines agree on it.
    assert shard_of("sim", "BTC-USD", 1) == 0
    shards = {shard_of("sim", f"S{i}", 8) for i in range(200)}
    assert shards == set(range(8))
    assert shard_of("sim", "BTC-USD", 8) == shard_of("sim", "BTC-USD", 8)


def test_shard_map_assignment() -> None:
    assert ShardMap(count=4).shards_for(1, 2) == {1, 3}
    assert ShardMap(count=4, assignment={"0": [0, 1, 2], "1": [3]}).shards_for(1, 2) == {3}
