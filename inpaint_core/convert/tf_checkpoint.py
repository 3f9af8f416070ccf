"""Read a TensorFlow checkpoint (tensor bundle V2) with numpy only: no TensorFlow needed.

A checkpoint `PREFIX` is two files:

- `PREFIX.index`: a LevelDB SSTable mapping tensor names to `BundleEntryProto` messages (dtype, shape, shard,
  byte offset, byte size, masked CRC32C). The key "" holds the `BundleHeaderProto` (shard count, endianness).
- `PREFIX.data-00000-of-00001`: the raw little-endian tensor bytes, back to back, at the offsets in the index.

The SSTable layout: data blocks, a metaindex block and an index block, each followed by a 5-byte trailer
(1 byte compression type, 4 bytes masked CRC32C of block + type byte), then a 48-byte footer holding two
BlockHandles (varint64 offset, varint64 size) padded to 40 bytes and the 8-byte magic number. Block entries are
prefix-compressed (varint shared, varint non_shared, varint value_len, key suffix, value); a restart array of
uint32 offsets and its uint32 count end each block. TF writes bundles without compression, so compressed blocks
are refused rather than decoded.

Protobuf values are decoded by hand (varint wire format); only the fields a bundle uses are read.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inpaint_core.errors import WeightsError, WeightsMissingError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
# TF's crc32c::Mask: rotate right by 15 and add a constant, so a CRC stored next to the data it covers is
# not itself a valid CRC of that data.
_MASK_DELTA = 0xA282EAD8

# types.proto DataType enum -> numpy dtype (little-endian: bundles are written in host order, and we refuse
# big-endian headers).
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a bundle, as described by the index. `crc32c` is the masked CRC32C stored in the index."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int

    @property
    def dtype_name(self) -> str:
        return self.dtype.name


# --------------------------------------------------------------------------------------------------------------
# CRC32C (Castagnoli), reflected polynomial 0x82F63B78


def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]
# Below this size the byte loop in Python is quicker than setting up the vectorised version.
_SMALL = 4096


def _crc32c_python(data: bytes, crc: int = 0) -> int:
    """Reference CRC32C, byte by byte (slow; used for small inputs and as the test oracle)."""
    reg = crc ^ 0xFFFFFFFF
    table = _TABLE_LIST
    for b in data:
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg ^ 0xFFFFFFFF


def _feed_columns(regs: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Run the byte-wise CRC register update on many independent streams at once.

    Shape:
        regs: (K,) uint32 registers; columns: (L, K) uint8, row i = the i-th byte of every stream.
    """
    for row in columns:
        regs = _TABLE[(regs ^ row) & 0xFF] ^ (regs >> 8)
    return regs


def crc32c(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """CRC32C of `data` (init and final xor 0xFFFFFFFF, as TF and iSCSI use).

    Large inputs are split into K equal chunks whose raw CRCs are computed side by side with numpy, then
    combined: the CRC register update is linear over GF(2), so feeding a chunk of L bytes to a register r gives
    `Z_L(r) xor crc0(chunk)`, where Z_L (feeding L zero bytes) is a 32x32 bit matrix found by running the 32
    basis registers through the same loop. The initial 0xFFFFFFFF equals complementing the first 4 bytes with
    a zero register, and leading zero bytes do not change a zero register, so the data is zero-padded in front.
    """
    buf = (
        np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
        if not isinstance(data, np.ndarray)
        else data
    )
    buf = buf.reshape(-1).view(np.uint8)
    n = int(buf.size)
    if n < _SMALL:
        return _crc32c_python(buf.tobytes())
    length = max(64, math.isqrt(n))  # chunk length: balances the numpy loop against the Python combine loop
    count = -(-n // length)
    padded = np.zeros(count * length, dtype=np.uint8)
    padded[count * length - n :] = buf
    start = count * length - n
    padded[start : start + 4] ^= 0xFF
    columns = np.ascontiguousarray(padded.reshape(count, length).T)  # (L, K)
    # 32 extra streams fed with zeros from the basis registers give the columns of Z_L.
    columns = np.concatenate([columns, np.zeros((length, 32), dtype=np.uint8)], axis=1)
    regs = np.zeros(count + 32, dtype=np.uint32)
    regs[count:] = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    regs = _feed_columns(regs, columns)
    raw, basis = regs[:count], regs[count:]
    # Z_L as four byte-indexed tables: Z_L(r) = T0[r & 255] ^ T1[(r >> 8) & 255] ^ ...
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1  # (256, 8)
    tables = [
        [int(v) for v in np.bitwise_xor.reduce(np.where(bits == 1, basis[8 * j : 8 * j + 8], 0), axis=1)]
        for j in range(4)
    ]
    t0, t1, t2, t3 = tables
    reg = 0
    for r in raw.tolist():
        reg = t0[reg & 0xFF] ^ t1[(reg >> 8) & 0xFF] ^ t2[(reg >> 16) & 0xFF] ^ t3[reg >> 24] ^ r
    return reg ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """TF's crc32c::Mask."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """Inverse of `mask_crc`."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------------------
# Varints and protobuf


def _varint(buf: bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    """Decode a base-128 varint at `pos`; returns (value, next position)."""
    stop = len(buf) if end is None else end
    result = 0
    shift = 0
    while True:
        if pos >= stop or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _proto_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for each field of a protobuf message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise ValueError("truncated fixed64")
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated length-delimited field")
            value = bytes(buf[pos : pos + size])
            pos += size
        elif wire == 5:
            if pos + 4 > len(buf):
                raise ValueError("truncated fixed32")
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _as_int(value: int | bytes) -> int:
    if not isinstance(value, int):
        raise ValueError("expected a numeric protobuf field")
    return value


def _as_bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError("expected a length-delimited protobuf field")
    return value


def _decode_shape(buf: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for field, wire, value in _proto_fields(buf):
        if field == 2 and wire == 2:  # repeated Dim dim = 2
            size = 0
            for f, w, v in _proto_fields(_as_bytes(value)):
                if f == 1 and w == 0:
                    size = _as_int(v)
            if size >= 1 << 63:
                raise ValueError("unknown (negative) dimension")
            dims.append(size)
        elif field == 3 and wire == 0 and value:
            raise ValueError("shape of unknown rank")
    return tuple(dims)


def _decode_entry(name: str, buf: bytes) -> TensorEntry:
    dtype_enum = 0
    shape: tuple[int, ...] = ()
    shard_id = offset = size = crc = 0
    for field, wire, value in _proto_fields(buf):
        if field == 1 and wire == 0:
            dtype_enum = _as_int(value)
        elif field == 2 and wire == 2:
            shape = _decode_shape(_as_bytes(value))
        elif field == 3 and wire == 0:
            shard_id = _as_int(value)
        elif field == 4 and wire == 0:
            offset = _as_int(value)
        elif field == 5 and wire == 0:
            size = _as_int(value)
        elif field == 6 and wire == 5:
            crc = _as_int(value)
        elif field == 7:
            raise ValueError("partitioned (sliced) variables are not supported")
    if dtype_enum not in _DTYPES:
        raise ValueError(f"unsupported dtype enum {dtype_enum}")
    return TensorEntry(name, _DTYPES[dtype_enum], shape, shard_id, offset, size, crc)


@dataclass(frozen=True)
class BundleHeader:
    num_shards: int = 1
    endianness: int = 0  # 0 = little, 1 = big


def _decode_header(buf: bytes) -> BundleHeader:
    num_shards, endianness = 1, 0
    for field, wire, value in _proto_fields(buf):
        if field == 1 and wire == 0:
            num_shards = _as_int(value)
        elif field == 2 and wire == 0:
            endianness = _as_int(value)
    return BundleHeader(num_shards, endianness)


# --------------------------------------------------------------------------------------------------------------
# SSTable


def _read_block(table: bytes, handle: tuple[int, int]) -> bytes:
    offset, size = handle
    if offset + size + BLOCK_TRAILER_SIZE > len(table) - FOOTER_SIZE:
        raise ValueError(f"block at {offset} (+{size}) runs past the end of the file")
    block = table[offset : offset + size]
    kind = table[offset + size]
    if kind != 0:
        raise ValueError(f"compressed block (type {kind}) is not supported")
    (stored,) = struct.unpack_from("<I", table, offset + size + 1)
    if unmask_crc(stored) != crc32c(table[offset : offset + size + 1]):
        raise ValueError(f"block at {offset} fails its checksum")
    return block


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield (key, value) for each entry of a block, undoing the prefix compression."""
    if len(block) < 4:
        raise ValueError("block too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * num_restarts
    if num_restarts < 1 or limit < 0:
        raise ValueError("bad restart array")
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = _varint(block, pos, limit)
        non_shared, pos = _varint(block, pos, limit)
        value_len, pos = _varint(block, pos, limit)
        if shared > len(key) or pos + non_shared + value_len > limit:
            raise ValueError("corrupt block entry")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_len]
        pos += value_len


def _handle(buf: bytes, pos: int = 0) -> tuple[tuple[int, int], int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return (offset, size), pos


def _table_items(table: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(table) < FOOTER_SIZE:
        raise ValueError("file too short for an SSTable footer")
    footer = table[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise ValueError("bad magic number (not a TensorFlow checkpoint index)")
    _metaindex, pos = _handle(footer)
    index_handle, _ = _handle(footer, pos)
    for _last_key, handle_bytes in _block_entries(_read_block(table, index_handle)):
        data_handle, _ = _handle(handle_bytes)
        yield from _block_entries(_read_block(table, data_handle))


# --------------------------------------------------------------------------------------------------------------
# Public API


def resolve_prefix(path: str | os.PathLike[str]) -> Path:
    """Checkpoint prefix from a prefix, an `.index` file or a directory holding `snap-0.index` (or one index).

    Raises:
        WeightsMissingError: nothing matching exists.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "snap-0.index").is_file():
            return p / "snap-0"
        indexes = sorted(p.glob("*.index"))
        if len(indexes) == 1:
            return indexes[0].with_suffix("")
        raise WeightsMissingError(f"no checkpoint index (snap-0.index) in {p}")
    if p.suffix == ".index":
        if not p.is_file():
            raise WeightsMissingError(f"checkpoint index not found: {p}")
        return p.with_suffix("")
    if Path(f"{p}.index").is_file():
        return p
    raise WeightsMissingError(f"checkpoint index not found: {p}.index")


def _parse_index(path: str | os.PathLike[str]) -> tuple[BundleHeader, dict[str, TensorEntry]]:
    index_path = Path(f"{resolve_prefix(path)}.index")
    try:
        table = index_path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {index_path}: {exc.strerror}") from exc
    entries: dict[str, TensorEntry] = {}
    header = BundleHeader()
    try:
        previous: bytes | None = None
        for key, value in _table_items(table):
            if previous is not None and key <= previous:
                raise ValueError("keys out of order")
            previous = key
            if key == b"":
                header = _decode_header(value)
                continue
            name = key.decode("utf-8")
            entries[name] = _decode_entry(name, value)
    except (ValueError, UnicodeDecodeError, struct.error) as exc:
        raise WeightsError(f"{index_path} is not a valid TensorFlow checkpoint index: {exc}") from exc
    if header.endianness != 0:
        raise WeightsError(f"{index_path}: big-endian checkpoints are not supported")
    for entry in entries.values():
        expected = math.prod(entry.shape) * entry.dtype.itemsize
        if entry.size != expected:
            raise WeightsError(
                f"{index_path}: tensor {entry.name} has {entry.size} bytes, its shape {list(entry.shape)} "
                f"needs {expected}"
            )
        if entry.shard_id >= header.num_shards:
            raise WeightsError(
                f"{index_path}: tensor {entry.name} is in shard {entry.shard_id} of {header.num_shards}"
            )
    return header, entries


def read_index(path: str | os.PathLike[str]) -> dict[str, TensorEntry]:
    """Parse a bundle's `.index` file (or prefix / directory, see `resolve_prefix`) into its tensor entries.

    Entries come in the index's (sorted) order. Each entry's byte size is checked against its shape and dtype.

    Raises:
        WeightsMissingError: the file does not exist.
        WeightsError: the file is not a readable tensor-bundle index.
    """
    return _parse_index(path)[1]


def read_tensors(
    prefix: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    verify_crc: bool = True,
) -> dict[str, np.ndarray]:
    """Read tensors from a bundle's data file(s) as numpy arrays (native little-endian, C order, owned).

    Args:
        prefix: the checkpoint prefix (`.../snap-0`), its `.index` file or its directory.
        names: tensors to read; None reads all of them.
        verify_crc: check every tensor against the masked CRC32C stored in the index.

    Raises:
        WeightsMissingError: the index or a data file does not exist.
        WeightsError: a name is not in the index, a data file is too short, or a checksum does not match.
    """
    base = resolve_prefix(prefix)
    header, entries = _parse_index(base)
    wanted = list(entries) if names is None else list(names)
    for name in wanted:
        if name not in entries:
            raise WeightsError(f"tensor {name} is not in the checkpoint {base}")
    num_shards = header.num_shards
    out: dict[str, np.ndarray] = {}
    handles: dict[int, tuple[Path, int]] = {}
    for name in wanted:
        entry = entries[name]
        if entry.shard_id not in handles:
            data_path = Path(f"{base}.data-{entry.shard_id:05d}-of-{num_shards:05d}")
            if not data_path.is_file():
                raise WeightsMissingError(f"checkpoint data file not found: {data_path}")
            handles[entry.shard_id] = (data_path, data_path.stat().st_size)
        data_path, data_size = handles[entry.shard_id]
        if entry.offset + entry.size > data_size:
            raise WeightsError(
                f"{data_path} is truncated: tensor {name} needs bytes {entry.offset}..{entry.offset + entry.size}, "
                f"the file has {data_size}"
            )
        with data_path.open("rb") as fh:
            fh.seek(entry.offset)
            raw = fh.read(entry.size)
        if len(raw) != entry.size:
            raise WeightsError(f"{data_path} is truncated at tensor {name}")
        if verify_crc and mask_crc(crc32c(raw)) != entry.crc32c:
            raise WeightsError(f"{data_path}: tensor {name} fails its checksum (the file is corrupted)")
        array = np.frombuffer(raw, dtype=entry.dtype).reshape(entry.shape)
        out[name] = array.astype(entry.dtype.newbyteorder("="), copy=True)
    return out
