"""Strip metadata (EXIF with GPS location and camera serials, XMP, IPTC, comments, text chunks) from
uploaded JPEG and PNG images before they are stored.

Lossless: the image data is copied byte for byte and only metadata segments are left out. JPEG keeps
APP0 (JFIF), the ICC colour profile (APP2 ``ICC_PROFILE``) and APP14 ``Adobe`` (needed to decode CMYK);
it drops APP1 (EXIF, XMP), the other APPn segments and COM. PNG drops ``eXIf``, ``tEXt``, ``zTXt``,
``iTXt`` and ``tIME``. A phone photo whose EXIF says "rotated" is turned upright first (Pillow, quality
95), since the rotation would otherwise be lost with the EXIF. Anything that does not parse is kept as
it is from that point: the content check (``documents.sniff``) decides what is accepted, not this.
"""

from __future__ import annotations

import io
import struct

JPEG_KEEP_APP = {0xE0: b"", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}  # marker: required identifier prefix
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD9)}  # TEM, RSTn, SOI, EOI: no length
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
EXIF_ORIENTATION = 0x0112


def strip(content: bytes, media_type: str) -> bytes:
    """``content`` without its metadata (images only; other types are returned unchanged)."""
    if media_type == "image/jpeg":
        return strip_jpeg(_upright(content))
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


def strip_jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        return data
    out, i = bytearray(data[:2]), 2
    while i + 1 < len(data):
        if data[i] != 0xFF:
            break  # not a marker: keep the rest as it is
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in JPEG_STANDALONE:
            out += data[i : i + 2]
            i += 2
            continue
        if i + 4 > len(data):
            break
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        end = i + 2 + length
        if marker == 0xDA or length < 2 or end > len(data):  # start of scan: image data follows
            break
        if not _is_metadata(marker, data[i + 4 : end]):
            out += data[i:end]
        i = end
    return bytes(out + data[i:])


def strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        return data
    out, i = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            break
        if kind not in PNG_DROP:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            break
    return bytes(out + data[i:])


def _upright(data: bytes) -> bytes:
    """Re-encode a JPEG whose EXIF orientation is not 1 so that it is upright without the EXIF."""
    try:
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(data)) as image:
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
            if orientation in (None, 1):
                return data
            icc = image.info.get("icc_profile")
            turned = ImageOps.exif_transpose(image)
            buffer = io.BytesIO()
            turned.save(buffer, "JPEG", quality=95, icc_profile=icc)
            return buffer.getvalue()
    except Exception:  # not decodable: the byte-level strip still runs
        return data
