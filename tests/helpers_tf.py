"""A tiny writer of TensorFlow tensor bundles (V2 checkpoints), for tests of the numpy-only reader.

It writes what TF's BundleWriter writes, as far as the reader cares: a sorted SSTable `.index` whose key "" is
the BundleHeaderProto and whose other keys are BundleEntryProtos, and one `.data-00000-of-00001` file with
the raw little-endian tensor bytes back to back.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from inpaint_core.convert.tf_checkpoint import TABLE_MAGIC, crc32c, mask_crc

_DTYPE_ENUMS = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int64": 9, "float16": 19}


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field_varint(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def _field_bytes(field: int, value: bytes) -> bytes:
    return varint((field << 3) | 2) + varint(len(value)) + value


def entry_proto(dtype_enum: int, shape: tuple[int, ...], offset: int, size: int, masked_crc: int) -> bytes:
    """BundleEntryProto bytes (shard 0)."""
    dims = b"".join(_field_bytes(2, _field_varint(1, d) if d else b"") for d in shape)
    out = _field_varint(1, dtype_enum) + _field_bytes(2, dims)
    if offset:
        out += _field_varint(4, offset)
    out += _field_varint(5, size)
    out += varint((6 << 3) | 5) + struct.pack("<I", masked_crc)
    return out


def _block(entries: list[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    body = bytearray()
    restarts: list[int] = []
    previous = b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(body))
            shared = 0
        else:
            shared = 0
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        body += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        previous = key
    if not restarts:
        restarts.append(0)
    body += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    return bytes(body)


def _append_block(out: bytearray, block: bytes, compression: int = 0) -> tuple[int, int]:
    offset = len(out)
    out += block
    typed = block + bytes([compression])
    out += bytes([compression]) + struct.pack("<I", mask_crc(crc32c(typed)))
    return offset, len(block)


def table_bytes(
    items: list[tuple[bytes, bytes]],
    entries_per_block: int = 1000,
    restart_interval: int = 16,
    compression: int = 0,
) -> bytes:
    """An SSTable holding `items` (sorted here), split into data blocks of `entries_per_block` entries.

    `compression` is only written into the data blocks' trailers (the bytes stay uncompressed), to test refusal.
    """
    items = sorted(items)
    out = bytearray()
    index_entries: list[tuple[bytes, bytes]] = []
    for start in range(0, len(items), entries_per_block):
        chunk = items[start : start + entries_per_block]
        offset, size = _append_block(out, _block(chunk, restart_interval), compression)
        # LevelDB uses a shortened separator as the index key; the last key of the block is a valid one.
        index_entries.append((chunk[-1][0], varint(offset) + varint(size)))
    meta_offset, meta_size = _append_block(out, _block([], restart_interval))
    index_offset, index_size = _append_block(out, _block(index_entries, restart_interval))
    handles = varint(meta_offset) + varint(meta_size) + varint(index_offset) + varint(index_size)
    out += handles + b"\0" * (40 - len(handles)) + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out)


def write_bundle(
    prefix: Path, tensors: dict[str, np.ndarray], entries_per_block: int = 1000, restart_interval: int = 16
) -> Path:
    """Write `tensors` as the checkpoint `prefix` (`prefix.index` + `prefix.data-00000-of-00001`)."""
    data = bytearray()
    items: list[tuple[bytes, bytes]] = [(b"", _field_varint(1, 1) + _field_bytes(3, _field_varint(1, 1)))]
    for name in sorted(tensors):
        array = np.array(tensors[name], order="C")  # not ascontiguousarray: it turns scalars into 1-d
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        proto = entry_proto(
            _DTYPE_ENUMS[array.dtype.name], tuple(array.shape), len(data), len(raw), mask_crc(crc32c(raw))
        )
        items.append((name.encode(), proto))
        data += raw
    prefix.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.index").write_bytes(table_bytes(items, entries_per_block, restart_interval))
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))
    return prefix
