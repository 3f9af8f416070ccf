"""Embedding a short note in saved image files: PNG text chunks, and an XMP packet for PNG, JPEG, TIFF and WEBP.

`image_io.save_image(..., text=..., xmp=...)` calls these; the note's content comes from `restore/provenance.py`.
It lives beside image_io (which it serves), not in restore/: the image I/O imports no feature package. `png_chunk`
is the one PNG chunk writer (image_io's iCCP and eXIf chunks use it too).
PNG gets its text as iTXt chunks (UTF-8) plus the XMP packet under the standard `XML:com.adobe.xmp` keyword;
JPEG gets the XMP APP1 segment and the description as a comment; TIFF gets ImageDescription (270) and XMP (700);
WEBP gets an XMP chunk. Every PNG is encoded by OpenCV, so its chunks (`png_text_chunks`) are spliced into the
encoded bytes; 16-bit colour TIFFs are written by tifffile (`image_io`) with the same two tags.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from PIL import PngImagePlugin

XMP_KEYWORD = "XML:com.adobe.xmp"  # the PNG iTXt keyword for XMP (XMP spec part 3)
_TIFF_DESCRIPTION = 270
_TIFF_XMP = 700


def xmp_packet(description: str, properties: Mapping[str, str], namespaces: Mapping[str, str]) -> bytes:
    """A minimal XMP packet: dc:description plus simple `prefix:Name` properties in the given namespaces."""
    ns = {
        "dc": "http://purl.org/dc/elements/1.1/",
        "xmp": "http://ns.adobe.com/xap/1.0/",
        **namespaces,
    }
    declarations = "".join(f"\n    xmlns:{prefix}={quoteattr(uri)}" for prefix, uri in ns.items())
    attributes = "".join(f"\n    {name}={quoteattr(value)}" for name, value in properties.items())
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""{declarations}{attributes}>\n'
        "   <dc:description><rdf:Alt>"
        f'<rdf:li xml:lang="x-default">{escape(description)}</rdf:li>'
        "</rdf:Alt></dc:description>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return body.encode("utf-8")


def pil_save_params(fmt: str, text: Mapping[str, str] | None, xmp: bytes | None) -> dict[str, object]:
    """Extra keyword arguments for `PIL.Image.save` in format `fmt` that embed `text` and `xmp`."""
    text = dict(text or {})
    description = text.get("Description", "")
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        if xmp:
            info.add_itxt(XMP_KEYWORD, xmp.decode("utf-8"))
        return {"pnginfo": info}
    params: dict[str, object] = {}
    if fmt == "JPEG":
        if xmp:
            params["xmp"] = xmp
        if description:
            params["comment"] = description.encode("utf-8")
    elif fmt == "TIFF":
        tags: dict[int, object] = {}
        if description:
            tags[_TIFF_DESCRIPTION] = description
        if xmp:
            tags[_TIFF_XMP] = xmp
        params["tiffinfo"] = tags
    elif fmt == "WEBP" and xmp:
        params["xmp"] = xmp
    return params


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type and data (PNG spec, section 5.3)."""
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _itxt(keyword: str, value: str) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, text
    return png_chunk(b"iTXt", keyword.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))


def png_text_chunks(text: Mapping[str, str] | None, xmp: bytes | None) -> bytes:
    """iTXt chunks for `text` and the XMP packet, to insert anywhere between a PNG's IHDR and IEND chunks."""
    chunks = [_itxt(key, value) for key, value in (text or {}).items()]
    if xmp:
        chunks.append(_itxt(XMP_KEYWORD, xmp.decode("utf-8")))
    return b"".join(chunks)
