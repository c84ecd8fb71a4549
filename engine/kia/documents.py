"""Uploaded documents: type checked by content, size-limited, stripped of photo metadata, stored
content-addressed on disk."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.kia import metadata
from engine.workflow.errors import EngineError

SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # a phone photo or a scan; more is a decompression bomb, not a document
_limits = {"max_pixels": DEFAULT_MAX_IMAGE_PIXELS}
IMAGE_FORMATS = {"image/png": {"PNG"}, "image/jpeg": {"JPEG", "MPO"}}  # MPO: phones' multi-picture JPEG
PDF_EOF_WINDOW = 1024  # readers look for the end-of-file marker this far from the end


class UploadRefused(EngineError):
    """An upload that is not stored; ``fields`` names the file's form field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.fields = {field: [message]}


class UnsupportedMediaType(UploadRefused):
    code = "unsupported_media_type"


class TooLarge(UploadRefused):
    code = "too_large"


class CorruptFile(UnsupportedMediaType):
    """The first bytes say PDF, JPEG or PNG but the file does not hold together (cut short, garbage)."""

    code = "corrupt_file"


def configure(max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """The largest image (width x height) an upload may declare (``KIA_MAX_IMAGE_PIXELS``)."""
    _limits["max_pixels"] = max_pixels
    _pillow.cache_clear()  # the warning filter again (a test run may have reset the filters)


def max_image_pixels() -> int:
    return _limits["max_pixels"]


@functools.cache
def _pillow() -> Any:
    """Pillow, loaded on the first image, with its decompression-bomb warning turned into an error."""
    from PIL import Image

    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    return Image


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    media_type: str
    size: int


def sniff(content: bytes) -> str | None:
    """The media type from the file's first bytes, whatever its name says."""
    for magic, media_type in SIGNATURES:
        if content.startswith(magic):
            return media_type
    return None


def check(content: bytes, field: str, max_bytes: int = DEFAULT_MAX_BYTES, label: str | None = None) -> str:
    """The media type of an upload by its content; 413/415 errors name the field (``fields``), their
    message the file by ``label`` (default: the field's name)."""
    name = label or field
    if len(content) > max_bytes:
        raise TooLarge(f"Berkas '{name}' lebih dari {max_bytes // (1024 * 1024)} MB.", field)
    if not content:
        raise UnsupportedMediaType(f"Berkas '{name}' kosong.", field)
    media_type = sniff(content)
    if media_type is None:
        raise UnsupportedMediaType(f"Berkas '{name}' harus berupa PDF, JPEG atau PNG.", field)
    if not well_formed(content, media_type):
        raise CorruptFile(f"Berkas '{name}' rusak atau tidak utuh; kirim PDF, JPEG atau PNG yang dapat dibuka.", field)
    return media_type


def well_formed(content: bytes, media_type: str) -> bool:
    """Whether the file holds together: a PDF ends with its end-of-file marker; an image opens, has a
    sane size, its PNG chunks pass their checksums and its JPEG data decodes to the end."""
    if media_type == "application/pdf":
        return b"%%EOF" in content[-PDF_EOF_WINDOW:]
    image_module = _pillow()
    limit = max_image_pixels()
    image_module.MAX_IMAGE_PIXELS = limit  # Pillow's own check in open(), a second fence (warning = error)
    try:
        with image_module.open(io.BytesIO(content)) as image:  # reads the header only
            width, height = image.size
            if image.format not in IMAGE_FORMATS[media_type] or not 0 < width * height <= limit:
                return False
            if media_type == "image/png":
                image.verify()  # every chunk's CRC, up to IEND
            else:
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # decode at 1/8 scale
                image.load()
    except Exception:  # an untrusted file through Pillow's decoders: any failure means "does not open"
        return False
    return True


def store(directory: str | os.PathLike, content: bytes, media_type: str) -> StoredFile:
    """Write ``content`` under ``directory/ab/abcdef...`` (idempotent), photos without their metadata
    (EXIF, location): the stored bytes, their sha256 and size are those of the stripped file."""
    content = metadata.strip(content, media_type)
    digest = hashlib.sha256(content).hexdigest()
    path = path_of(directory, digest)
    try:
        os.utime(path)  # already there: touched, so that the clean-up's grace period counts from now
    except FileNotFoundError:
        _write_durably(path, content)
    return StoredFile(digest, media_type, len(content))


def _write_durably(path: Path, content: bytes) -> None:
    """Write under a temporary name of this writer's own (two requests may store the same file at once),
    flush it to disk, then rename: the file is complete and durable before the row naming it commits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:12]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself, where the platform allows a directory fsync
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def path_of(directory: str | os.PathLike, sha256: str) -> Path:
    return Path(directory) / sha256[:2] / sha256
