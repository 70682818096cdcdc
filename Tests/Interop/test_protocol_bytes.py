"""The golden bytes of Tests/CQLProtocolTests, checked against the DataStax Python driver at test time.

The Swift tests prove that CQLProtocol's encoder writes exactly the bytes in Fixtures/golden.json and decodes them
back. These tests prove the other half: that those bytes are still what the installed Python driver writes
(values, requests) and reads as intended (responses) -- regenerating the fixture reruns every decode check in
scripts/gen-golden.py -- and that the committed fixture has not drifted from its generator.
"""

import importlib.util
import json
import pathlib
import struct

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / "Tests" / "CQLProtocolTests" / "Fixtures" / "golden.json"


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_golden", REPO_ROOT / "scripts" / "gen-golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
COMMITTED = json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def fresh():
    # Generating runs the driver: serialize() for values, encode_message() for requests, and decode_message() with
    # field checks for every hand-built response. Any disagreement raises here.
    return json.loads(GENERATOR.render(GENERATOR.generate()))


@pytest.mark.parametrize("section", GENERATOR.SECTIONS)
def test_committed_fixture_matches_the_driver(fresh, section):
    committed = {case["name"]: case for case in COMMITTED[section]}
    regenerated = {case["name"]: case for case in fresh[section]}
    assert sorted(committed) == sorted(regenerated), "run python3 scripts/gen-golden.py"
    stale = [name for name in regenerated if committed[name] != regenerated[name]]
    assert stale == [], f"stale golden cases (run python3 scripts/gen-golden.py): {stale}"


@pytest.mark.parametrize("case", COMMITTED["responses"], ids=lambda case: case["name"])
def test_driver_decodes_every_response_frame(case):
    frame = bytes.fromhex(case["hex"])
    version, flags, stream, opcode, length = struct.unpack(">BBhBi", frame[:9])
    assert version == 0x84 and length == len(frame) - 9
    # A result without metadata needs the prepared statement's columns, as the driver would have them.
    metadata = None
    if "no_metadata" in case["name"]:
        from cassandra import cqltypes
        metadata = [("ks", "t", "id", cqltypes.Int32Type), ("ks", "t", "name", cqltypes.UTF8Type)]
    message = GENERATOR.decode(frame, metadata)
    assert message.stream_id == stream
    assert type(message).opcode == opcode


@pytest.mark.parametrize("case", COMMITTED["requests"], ids=lambda case: case["name"])
def test_request_frames_are_v4_requests(case):
    frame = bytes.fromhex(case["hex"])
    version, flags, stream, opcode, length = struct.unpack(">BBhBi", frame[:9])
    assert version == 0x04
    assert stream == case["stream"]
    assert opcode in (0x01, 0x05, 0x07, 0x09, 0x0A, 0x0B, 0x0D, 0x0F)
    assert length == len(frame) - 9


def test_every_cql_type_has_a_golden_value():
    types = {case["type"].split("<")[0] for case in COMMITTED["values"]}
    for name in ["ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double", "duration", "float",
                 "inet", "int", "smallint", "text", "varchar", "time", "timestamp", "timeuuid", "tinyint", "uuid",
                 "varint", "list", "set", "map", "tuple", "address"]:
        assert name in types, f"no golden value of type {name}"


def test_reference_lz4_inflates_stampedes_blocks():
    """CQLProtocol's LZ4 block compressor is Stampede's own; GoldenCompressionTests proves it still writes the blocks in
    Fixtures/lz4-stampede-blocks.json, and here the reference lz4 library (the Python driver's) inflates each of them."""
    import lz4.block

    entries = json.loads((FIXTURE.parent / "lz4-stampede-blocks.json").read_text())
    assert len(entries) == 6
    for entry in entries:
        plain, block = bytes.fromhex(entry["plain"]), bytes.fromhex(entry["block"])
        assert lz4.block.decompress(block, uncompressed_size=len(plain)) == plain, entry["name"]
        assert len(block) <= len(plain) + len(plain) // 255 + 16
