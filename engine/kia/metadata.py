"""Strip metadata (EXIF with GPS location and camera serials, XMP, IPTC, comments, text chunks) from
uploaded JPEG and PNG images before they are stored.

Lossless and without decoding: the image data is copied byte for byte and only metadata is left out.
JPEG keeps APP0 (JFIF), the ICC colour profile (APP2 ``ICC_PROFILE``) and APP14 ``Adobe`` (needed to
decode CMYK); it drops APP1 (EXIF, XMP), the other APPn segments (among them APP2 ``MPF``, the index of a
multi-picture file) and COM, in every segment of the file, between the scans too. PNG drops ``eXIf``,
``tEXt``, ``zTXt``, ``iTXt`` and ``tIME``.

Nothing after the image's end is kept: a JPEG ends at its first EOI marker, which also drops the
further frames of a phone's multi-picture JPEG (MPO: previews and depth maps, each with its own EXIF),
and a PNG ends at its IEND chunk; bytes appended there (a ZIP, a second file) are gone.

A phone photo whose EXIF says "rotated" keeps its rotation without a re-encode: the EXIF is replaced
by a minimal one holding only the orientation tag (no camera, time or place), which viewers apply.

Anything that does not parse is kept as it is from that point: the content check
(``documents.well_formed``) decides what is accepted, not this.
"""

from __future__ import annotations

import struct
import zlib

JPEG_KEEP_APP = {0xE0: b"", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}  # marker: required identifier prefix
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD9)}  # TEM, RSTn, SOI, EOI: no length
JPEG_SOS, JPEG_EOI, JPEG_APP0, JPEG_APP1 = 0xDA, 0xD9, 0xE0, 0xE1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
EXIF_ORIENTATION = 0x0112
EXIF_PREFIX = b"Exif\x00\x00"


def strip(content: bytes, media_type: str) -> bytes:
    """``content`` without its metadata (images only; other types are returned unchanged)."""
    if media_type == "image/jpeg":
        return strip_jpeg(content)
    if media_type == "image/png":
        return strip_png(content)
    return content


def _is_metadata(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # COM
        return True
    if 0xE0 <= marker <= 0xEF:
        prefix = JPEG_KEEP_APP.get(marker)
        return prefix is None or not payload.startswith(prefix)
    return False


def _entropy_end(data: bytes, i: int) -> int:
    """The index of the first marker after the entropy-coded data starting at ``i`` (``FF 00`` is a
    stuffed byte and ``FF D0``-``FF D7`` are restart markers, both part of the data)."""
    while True:
        i = data.find(b"\xff", i)
        if i < 0 or i + 1 >= len(data):
            return len(data)
        following = data[i + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            i += 1
            continue
        return i


def strip_jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        return data
    out, i = bytearray(data[:2]), 2
    orientation: int | None = None
    exif_at = 2  # where the orientation-only EXIF goes: after SOI, or after APP0 (JFIF wants to be first)
    while i + 1 < len(data):
        if data[i] != 0xFF:
            return _with_orientation(bytes(out + data[i:]), orientation, exif_at)  # not a marker: keep the rest
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == JPEG_EOI:
            out += data[i : i + 2]
            return _with_orientation(bytes(out), orientation, exif_at)  # whatever follows is not this image
        if marker in JPEG_STANDALONE:
            out += data[i : i + 2]
            i += 2
            continue
        if i + 4 > len(data):
            break
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        end = i + 2 + length
        if length < 2 or end > len(data):
            break
        payload = data[i + 4 : end]
        if marker == JPEG_APP1 and payload.startswith(EXIF_PREFIX) and orientation is None:
            orientation = exif_orientation(payload[len(EXIF_PREFIX) :])
        if not _is_metadata(marker, payload):
            out += data[i:end]
            if marker == JPEG_APP0 and exif_at == 2 and len(out) == end - i + 2:
                exif_at = len(out)
        i = end
        if marker == JPEG_SOS:  # the scan's data, up to the next marker (another segment, a scan or EOI)
            scan_end = _entropy_end(data, i)
            out += data[i:scan_end]
            i = scan_end
    return _with_orientation(bytes(out + data[i:]), orientation, exif_at)


def _with_orientation(data: bytes, orientation: int | None, at: int) -> bytes:
    if orientation is None or orientation == 1:
        return data
    payload = EXIF_PREFIX + orientation_tiff(orientation)
    return data[:at] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[at:]


def orientation_tiff(orientation: int) -> bytes:
    """A TIFF structure (the body of an EXIF block) with one tag: the orientation."""
    return (
        b"MM\x00\x2a"
        + struct.pack(">IH", 8, 1)
        + struct.pack(">HHIHH", EXIF_ORIENTATION, 3, 1, orientation, 0)
        + (b"\x00\x00\x00\x00")
    )


def exif_orientation(tiff: bytes) -> int | None:
    """The orientation tag (1-8) of the first image directory of a TIFF/EXIF structure, or None."""
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        (offset,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        for n in range(min(count, 512)):
            at = offset + 2 + 12 * n
            tag, kind, _, value = struct.unpack(order + "HHIH", tiff[at : at + 10])
            if tag == EXIF_ORIENTATION and kind == 3:
                return value if 1 <= value <= 8 else None
    except (KeyError, struct.error):
        return None
    return None


def strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        return data
    out, i = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    orientation: int | None = None
    seen_data = False
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            break
        if kind == b"eXIf" and orientation is None:
            orientation = exif_orientation(data[i + 8 : end - 4])
        if kind == b"IDAT" and not seen_data:
            seen_data = True
            if orientation is not None and orientation != 1:  # eXIf must come before the image data
                out += _png_chunk(b"eXIf", orientation_tiff(orientation))
        if kind not in PNG_DROP:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            return bytes(out)  # whatever follows is not this image
    return bytes(out + data[i:])


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
