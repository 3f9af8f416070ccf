"""The numpy-only TF checkpoint reader: CRC32C, the real official index files, synthetic bundles, corruption."""

from __future__ import annotations

import ast
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from inpaint_core.convert.tf_checkpoint import (
    _crc32c_python,
    crc32c,
    mask_crc,
    read_index,
    read_tensors,
    resolve_prefix,
    unmask_crc,
)
from inpaint_core.errors import WeightsError, WeightsMissingError
from tests.conftest import SHARED
from tests.helpers_tf import entry_proto, table_bytes, write_bundle

REFERENCE = SHARED / "reference" / "deepfill_v2"
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "official_places2_snap-0.index").is_file(), reason="../shared/reference is absent"
)

_LINE = re.compile(
    r"^(?P<name>\S+) (?P<dtype>\w+) \[(?P<shape>[\d, ]*)\] offset (?P<offset>\d+) bytes (?P<size>\d+) "
    r"masked_crc32c 0x(?P<crc>[0-9a-f]+)$"
)


# --------------------------------------------------------------------------------------------------------------
# CRC32C


def test_crc32c_known_vectors() -> None:
    # RFC 3720 (iSCSI) B.4 test vectors.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(bytes(range(32))) == 0x46DD794E


@pytest.mark.parametrize("size", [4096, 4097, 10_007, 65_536, 250_001])
def test_vectorised_crc32c_matches_bytewise(size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc32c_python(data)


def test_mask_roundtrip_and_tf_values() -> None:
    for value in (0, 1, 0xFFFFFFFF, 0xE3069283):
        assert unmask_crc(mask_crc(value)) == value
    # The official release stores beta1_power = beta2_power = 0.0 (underflowed) and lr = 1e-4: their masked
    # CRCs in the real index (see official_places2_variables.txt) are these.
    assert mask_crc(crc32c(np.float32(0.0).tobytes())) == 0x3A117BA6
    assert mask_crc(crc32c(np.float32(1e-4).tobytes())) == 0xCA65744F


# --------------------------------------------------------------------------------------------------------------
# The real official index files


def _listing() -> dict[str, tuple[str, tuple[int, ...], int, int, int]]:
    out = {}
    for line in (REFERENCE / "official_places2_variables.txt").read_text().splitlines():
        if line.startswith(("HEADER", "TOTAL")):
            continue
        m = _LINE.match(line)
        assert m, line
        shape = tuple(int(s) for s in m["shape"].split(",")) if m["shape"].strip() else ()
        out[m["name"]] = (m["dtype"], shape, int(m["offset"]), int(m["size"]), int(m["crc"], 16))
    return out


@needs_reference
def test_real_places2_index_matches_listing() -> None:
    listing = _listing()
    entries = read_index(REFERENCE / "official_places2_snap-0.index")
    assert len(entries) == len(listing) == 298  # + the header entry = 299 keys
    assert list(entries) == sorted(entries)
    for name, (dtype, shape, offset, size, crc) in listing.items():
        entry = entries[name]
        assert (entry.dtype_name, entry.shape, entry.offset, entry.size, entry.crc32c) == (
            dtype,
            shape,
            offset,
            size,
            crc,
        ), name
    total = max(e.offset + e.size for e in entries.values())
    assert total == 119_996_408  # the release's data-file size
    generator = [n for n in entries if n.startswith("inpaint_net/") and "/Adam" not in n]
    assert len(generator) == 84
    assert sum(int(np.prod(entries[n].shape)) for n in generator) == 4_052_478


@needs_reference
def test_real_celebahq_index_same_layout_other_weights() -> None:
    places = read_index(REFERENCE / "official_places2_snap-0.index")
    celeba = read_index(REFERENCE / "official_celebahq_snap-0.index")
    assert list(places) == list(celeba)
    assert all(places[n].offset == celeba[n].offset and places[n].shape == celeba[n].shape for n in places)
    assert places["inpaint_net/conv1/kernel"].crc32c != celeba["inpaint_net/conv1/kernel"].crc32c


@needs_reference
def test_real_index_without_data_file_reports_missing(tmp_path: Path) -> None:
    index = tmp_path / "snap-0.index"
    index.write_bytes((REFERENCE / "official_places2_snap-0.index").read_bytes())
    assert resolve_prefix(tmp_path) == tmp_path / "snap-0"
    with pytest.raises(WeightsMissingError, match="data file not found"):
        read_tensors(tmp_path, ["lr"])


@needs_reference
def test_real_index_header_listing() -> None:
    # The listing's HEADER line is the decoded BundleHeaderProto: num_shards 1, version {producer 1}.
    first = (REFERENCE / "official_places2_variables.txt").read_text().splitlines()[0]
    fields = ast.literal_eval(first.removeprefix("HEADER "))
    assert fields[1] == [1]


# --------------------------------------------------------------------------------------------------------------
# Synthetic bundles


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "a/kernel": rng.standard_normal((3, 3, 4, 8)).astype(np.float32),
        "a/bias": rng.standard_normal(8).astype(np.float32),
        "a/kernel/Adam": rng.standard_normal((3, 3, 4, 8)).astype(np.float32),
        "big": rng.standard_normal((70, 80)).astype(np.float32),  # > the CRC's small-input threshold
        "global_step": np.array(123456, dtype=np.int32),
        "lr": np.array(1e-4, dtype=np.float32),
        "zero_dim": np.zeros((0, 4), dtype=np.float32),
    }


@pytest.mark.parametrize(("per_block", "restart"), [(1000, 16), (2, 1), (3, 2)])
def test_synthetic_roundtrip(tmp_path: Path, per_block: int, restart: int) -> None:
    tensors = _tensors()
    prefix = write_bundle(tmp_path / "ckpt" / "snap-0", tensors, per_block, restart)
    entries = read_index(Path(f"{prefix}.index"))
    assert sorted(entries) == sorted(tensors)
    for via in (prefix, Path(f"{prefix}.index"), prefix.parent):
        got = read_tensors(via)
        assert sorted(got) == sorted(tensors)
        for name, array in tensors.items():
            assert got[name].dtype == array.dtype and got[name].shape == array.shape
            np.testing.assert_array_equal(got[name], array)
    only = read_tensors(prefix, ["lr"])
    assert list(only) == ["lr"] and only["lr"] == np.float32(1e-4)


def test_unknown_name(tmp_path: Path) -> None:
    prefix = write_bundle(tmp_path / "snap-0", _tensors())
    with pytest.raises(WeightsError, match="nope is not in the checkpoint"):
        read_tensors(prefix, ["nope"])


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError):
        read_index(tmp_path / "absent.index")
    with pytest.raises(WeightsMissingError):
        read_index(tmp_path)  # an empty directory


def test_truncated_data_file(tmp_path: Path) -> None:
    prefix = write_bundle(tmp_path / "snap-0", _tensors())
    data = Path(f"{prefix}.data-00000-of-00001")
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(WeightsError, match="truncated"):
        read_tensors(prefix)


def test_corrupted_data_fails_crc(tmp_path: Path) -> None:
    tensors = _tensors()
    prefix = write_bundle(tmp_path / "snap-0", tensors)
    entry = read_index(prefix)["big"]
    data = Path(f"{prefix}.data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 1234] ^= 0x10
    data.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="big fails its checksum"):
        read_tensors(prefix, ["big"])
    assert read_tensors(prefix, ["big"], verify_crc=False)["big"].shape == (70, 80)
    read_tensors(prefix, ["a/bias"])  # the other tensors are intact


@pytest.mark.parametrize("cut", [1, 8, 47, 100])
def test_truncated_or_garbage_index(tmp_path: Path, cut: int) -> None:
    prefix = write_bundle(tmp_path / "snap-0", _tensors())
    index = Path(f"{prefix}.index")
    index.write_bytes(index.read_bytes()[:-cut])
    with pytest.raises(WeightsError, match="not a valid TensorFlow checkpoint index"):
        read_index(index)
    index.write_bytes(b"garbage" * 20)
    with pytest.raises(WeightsError, match="not a valid TensorFlow checkpoint index"):
        read_index(index)


def test_flipped_index_byte_fails_block_checksum(tmp_path: Path) -> None:
    prefix = write_bundle(tmp_path / "snap-0", _tensors())
    index = Path(f"{prefix}.index")
    raw = bytearray(index.read_bytes())
    raw[20] ^= 0x01
    index.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="checksum"):
        read_index(index)


def test_size_shape_mismatch_in_index(tmp_path: Path) -> None:
    header = (b"", bytes([0x08, 0x01]))
    bad = (b"w", entry_proto(1, (2, 3), 0, 20, 0))  # 2x3 float32 needs 24 bytes
    index = tmp_path / "snap-0.index"
    index.write_bytes(table_bytes([header, bad]))
    with pytest.raises(WeightsError, match="tensor w has 20 bytes"):
        read_index(index)


def test_compressed_block_refused(tmp_path: Path) -> None:
    index = tmp_path / "snap-0.index"
    index.write_bytes(table_bytes([(b"", bytes([0x08, 0x01]))], compression=1))  # 1 = snappy
    with pytest.raises(WeightsError, match="compressed block"):
        read_index(index)


def test_big_endian_header_refused(tmp_path: Path) -> None:
    index = tmp_path / "snap-0.index"
    index.write_bytes(table_bytes([(b"", bytes([0x08, 0x01, 0x10, 0x01]))]))  # endianness = BIG
    with pytest.raises(WeightsError, match="big-endian"):
        read_index(index)


def test_entry_struct_sizes() -> None:
    # Guard the writer itself: a fixed32 crc field is 5 bytes (tag + 4).
    proto = entry_proto(1, (), 0, 4, 0xDEADBEEF)
    assert proto.endswith(bytes([0x35]) + struct.pack("<I", 0xDEADBEEF))
