"""Golden test: the reference implementation's Car encodings decode to the README's values."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.sbe import SbeCodec, load_schema


@pytest.fixture(scope="module")
def car_dir(shared_data: Path) -> Path:
    return shared_data / "sbe" / "reallogic-car"


@pytest.fixture(scope="module")
def baseline(car_dir: Path) -> SbeCodec:
    return SbeCodec(load_schema(car_dir / "example-schema.xml"))


@pytest.fixture(scope="module")
def extension(car_dir: Path) -> SbeCodec:
    return SbeCodec(load_schema(car_dir / "example-extension-schema.xml"))


def assert_car(values: dict, some_numbers: list[int]) -> None:
    assert values["serialNumber"] == 1234
    assert values["modelYear"] == 2013
    assert values["available"] == "T"
    assert values["code"] == "A"
    assert values["someNumbers"] == some_numbers
    assert values["vehicleCode"] == "abcdef"
    assert values["extras"] == {"cruiseControl", "sportsPack"}
    assert values["discountedModel"] == "C"
    engine = values["engine"]
    assert (engine["capacity"], engine["numCylinders"], engine["maxRpm"]) == (2000, 4, 9000)
    assert engine["manufacturerCode"] == "123"
    assert engine["fuel"] == "Petrol"
    assert engine["efficiency"] == 35
    assert engine["boosterEnabled"] == "T"
    assert engine["booster"] == {"BoostType": "NITROUS", "horsePower": 200}
    fuel = [(f["speed"], round(f["mpg"], 1), f["usageDescription"]) for f in values["fuelFigures"]]
    assert fuel == [
        (30, 35.9, "Urban Cycle"),
        (55, 49.0, "Combined Cycle"),
        (75, 40.0, "Highway Cycle"),
    ]
    performance = values["performanceFigures"]
    assert [p["octaneRating"] for p in performance] == [95, 99]
    for figure in performance:
        assert [a["mph"] for a in figure["acceleration"]] == [30, 60, 100]
    assert [round(a["seconds"], 1) for a in performance[0]["acceleration"]] == [4.0, 7.5, 12.2]
    assert values["manufacturer"] == "Honda"
    assert values["model"] == "Civic VTi"
    assert values["activationCode"] == "abcdef"


def test_baseline_decodes_to_the_readme_values(car_dir: Path, baseline: SbeCodec) -> None:
    data = (car_dir / "car_example_baseline_data.sbe").read_bytes()
    message = baseline.decode(data)
    assert (message.template_id, message.name, message.block_length, message.version) == (
        1,
        "Car",
        45,
        0,
    )
    assert message.end == len(data) == 207
    assert_car(message.values, [1, 2, 3, 4])


def test_baseline_reencodes_byte_for_byte(car_dir: Path, baseline: SbeCodec) -> None:
    data = (car_dir / "car_example_baseline_data.sbe").read_bytes()
    assert baseline.encode("Car", baseline.decode(data).values) == data


def test_old_data_reads_with_the_extension_schema(car_dir: Path, extension: SbeCodec) -> None:
    data = (car_dir / "car_example_extension_data.sbe").read_bytes()
    message = extension.decode(data)
    assert message.version == 0  # written by the version-0 schema
    assert_car(message.values, [0, 1, 2, 3])
    # sinceVersion=1 fields are absent from version-0 data.
    assert message.values["uuid"] is None
    assert message.values["cupHolderCount"] is None


def test_extension_data_reads_with_the_baseline_schema(
    extension: SbeCodec, baseline: SbeCodec
) -> None:
    # Newer data (longer block) read by an older schema: blockLength says where groups start.
    car = baseline.decode(baseline.encode("Car", _car_values(baseline))).values
    newer = extension.encode("Car", {**car, "uuid": [7, 8], "cupHolderCount": 3})
    old_view = baseline.decode(newer)
    assert old_view.block_length == 45 + 17
    assert old_view.values == car
    assert extension.decode(newer).values["uuid"] == [7, 8]


def _car_values(codec: SbeCodec) -> dict:
    return {
        "serialNumber": 1,
        "modelYear": 2024,
        "available": "F",
        "code": "B",
        "someNumbers": [5, 6, 7, 8],
        "vehicleCode": "xyz",
        "extras": {"sunRoof"},
        "engine": {
            "capacity": 1600,
            "numCylinders": 3,
            "manufacturerCode": "ABC",
            "efficiency": 50,
            "boosterEnabled": "F",
            "booster": {"BoostType": "TURBO", "horsePower": 90},
        },
        "fuelFigures": [{"speed": 10, "mpg": 1.5, "usageDescription": "x"}],
        "performanceFigures": [
            {"octaneRating": 91, "acceleration": [{"mph": 1, "seconds": 2.5}]},
        ],
        "manufacturer": "M",
        "model": "N",
        "activationCode": "",
    }
