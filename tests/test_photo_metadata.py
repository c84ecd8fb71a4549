"""Photo metadata (EXIF with location, XMP, comments, PNG text) is stripped before a document is stored:
losslessly, at submission and on re-upload (the WhatsApp intake stores through the same function)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageOps, PngImagePlugin

from api.extensions import db
from engine.kia import applications, documents, metadata

from .helpers import PDF_BYTES, application_data, token

GPS_IFD, ORIENTATION = 0x8825, 0x0112
SECRET = b"Lokasi rumah -0.5071,101.4478"


def jpeg_with_metadata(orientation: int = 1, size: tuple[int, int] = (40, 24)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(size[0] // 2):
        image.putpixel((x, 0), (0, 0, 255))
    exif = Image.Exif()
    exif[0x010F] = "KameraHP"  # Make
    exif[0x010E] = SECRET.decode()  # ImageDescription
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "S", 2: (0.0, 30.0, 25.56), 3: "E", 4: (101.0, 26.0, 52.08)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes(), comment=SECRET)
    data = buffer.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"
    app1 = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    return data[:2] + app1 + data[2:]


def png_with_metadata() -> bytes:
    image = Image.new("RGB", (16, 16), (10, 120, 10))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_itxt("XML:com.adobe.xmp", SECRET.decode())
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, exif=exif.tobytes())
    return buffer.getvalue()


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def test_jpeg_metadata_is_stripped_losslessly() -> None:
    original = jpeg_with_metadata()
    assert SECRET in original and b"Exif" in original
    stripped = metadata.strip(original, "image/jpeg")
    assert SECRET not in stripped and b"Exif" not in stripped and b"xmpmeta" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        assert not image.getexif() and "comment" not in image.info
    assert _pixels(stripped) == _pixels(original)  # the image data is untouched
    assert metadata.strip(stripped, "image/jpeg") == stripped


def upright(data: bytes) -> Image.Image:
    """The image as a viewer shows it (its EXIF orientation applied)."""
    with Image.open(io.BytesIO(data)) as image:
        return ImageOps.exif_transpose(image)


def test_a_rotated_phone_photo_keeps_only_its_orientation_without_a_re_encode() -> None:
    original = jpeg_with_metadata(orientation=6, size=(40, 24))
    stripped = metadata.strip(original, "image/jpeg")
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.size == (40, 24) and dict(image.getexif()) == {ORIENTATION: 6}  # nothing else of the EXIF
    assert upright(stripped).size == (24, 40)
    assert SECRET not in stripped and b"KameraHP" not in stripped
    assert _pixels(stripped) == _pixels(original)  # the image data is copied, not decoded and encoded again
    assert metadata.strip(stripped, "image/jpeg") == stripped


def test_png_text_and_exif_chunks_are_stripped() -> None:
    original = png_with_metadata()
    assert SECRET in original and b"eXIf" in original
    stripped = metadata.strip(original, "image/png")
    assert SECRET not in stripped and b"eXIf" not in stripped and b"iTXt" not in stripped
    assert _pixels(stripped) == _pixels(original)


def test_other_and_broken_content_is_kept() -> None:
    assert metadata.strip(PDF_BYTES, "application/pdf") == PDF_BYTES
    broken = b"\xff\xd8\xff\xe1\x00"  # a JPEG cut short inside its first segment
    assert metadata.strip(broken, "image/jpeg") == broken
    assert metadata.strip(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png").startswith(b"\x89PNG")


def test_submission_and_reupload_store_photos_without_metadata(client: FlaskClient, app: Flask) -> None:
    photo = jpeg_with_metadata()
    data = application_data(nik="1471080505150001", birth_date="2015-05-05", sex="L")
    payload = {
        "data": json.dumps(data),
        "kk": (io.BytesIO(PDF_BYTES), "kk.pdf"),
        "akta": (io.BytesIO(png_with_metadata()), "akta.png"),
        "photo": (io.BytesIO(photo), "foto.jpg"),
    }
    created = client.post("/api/v1/applications", data=payload, content_type="multipart/form-data")
    assert created.status_code == 201, created.get_json()
    admin = token(client, "admin1")
    detail = client.get(f"/api/v1/applications/{created.get_json()['code']}", headers=admin).get_json()
    for doc in detail["documents"]:
        content = client.get(doc["url"], headers=admin).data
        assert SECRET not in content, doc["kind"]
        assert doc["size"] == len(content)
    stored = {d["kind"]: d for d in detail["documents"]}
    assert stored["photo"]["size"] < len(photo)
    assert all(p.read_bytes().find(SECRET) < 0 for p in Path(app.config["DOCUMENT_DIR"]).rglob("*") if p.is_file())

    with app.app_context():
        application = applications.by_code(db.session, created.get_json()["code"])
        rows = applications.reupload(
            db.session,
            application,
            [applications.Upload("photo", jpeg_with_metadata(8))],
            document_dir=app.config["DOCUMENT_DIR"],
        )
        db.session.commit()
        content = documents.path_of(app.config["DOCUMENT_DIR"], rows[0].sha256).read_bytes()
    assert SECRET not in content
    assert upright(content).size == (24, 40)
    with Image.open(io.BytesIO(content)) as image:
        assert dict(image.getexif()) == {ORIENTATION: 8}


def mpo_with_metadata() -> bytes:
    """A phone's multi-picture JPEG: two frames, each with its own EXIF (camera, place)."""
    first, second = Image.new("RGB", (40, 24), (200, 30, 30)), Image.new("RGB", (40, 24), (30, 30, 200))
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()
    exif[GPS_IFD] = {1: "S", 2: (0.0, 30.0, 25.56)}
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=exif.tobytes())
    return buffer.getvalue()


def test_every_frame_of_a_multi_picture_jpeg_loses_its_metadata() -> None:
    original = mpo_with_metadata()
    with Image.open(io.BytesIO(original)) as image:
        assert image.format == "MPO" and image.n_frames == 2
    assert original.count(SECRET) == 2  # one per frame
    stripped = metadata.strip(original, "image/jpeg")
    assert SECRET not in stripped and b"Exif" not in stripped and b"MPF" not in stripped
    assert stripped.count(b"\xff\xd8") == 1 and stripped.endswith(b"\xff\xd9")  # the first picture only
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.format == "JPEG" and not image.getexif()
    assert _pixels(stripped) == _pixels(original)
    assert documents.well_formed(stripped, "image/jpeg")


def test_nothing_after_the_end_of_the_image_is_kept() -> None:
    appended = b"PK\x03\x04" + SECRET + b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00" + SECRET
    jpeg = jpeg_with_metadata()
    stripped = metadata.strip(jpeg + appended, "image/jpeg")
    assert SECRET not in stripped and stripped.endswith(b"\xff\xd9") and b"PK\x03\x04" not in stripped
    assert _pixels(stripped) == _pixels(jpeg)
    png = png_with_metadata()
    stripped = metadata.strip(png + appended, "image/png")
    assert SECRET not in stripped and stripped.endswith(b"IEND\xaeB`\x82")
    assert _pixels(stripped) == _pixels(png)


def test_a_progressive_jpeg_keeps_every_scan() -> None:
    image = Image.new("RGB", (64, 48))
    for x in range(64):
        for y in range(48):
            image.putpixel((x, y), (x * 4, y * 5, (x + y) * 2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", progressive=True, quality=90, comment=SECRET)
    original = buffer.getvalue()
    stripped = metadata.strip(original, "image/jpeg")
    assert SECRET not in stripped and _pixels(stripped) == _pixels(original)


def test_a_rotated_png_keeps_only_its_orientation() -> None:
    image = Image.new("RGB", (40, 24), (10, 120, 10))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010E] = SECRET.decode()
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif.tobytes())
    stripped = metadata.strip(buffer.getvalue(), "image/png")
    assert SECRET not in stripped
    with Image.open(io.BytesIO(stripped)) as shown:
        assert dict(shown.getexif()) == {ORIENTATION: 6}
    assert upright(stripped).size == (24, 40)


def with_declared_size(png: bytes, width: int, height: int) -> bytes:
    """``png`` with its IHDR claiming another size (a decompression bomb's header), CRC fixed."""
    import struct
    import zlib

    body = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + png[8:16] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + png[33:]


def test_images_beyond_the_pixel_limit_are_refused_before_decoding() -> None:
    """The header's size decides, before any pixel is decoded; Pillow's own limit is the same and its
    decompression-bomb warning is an error (as ``documents.configure`` sets it for the process)."""
    small = png_with_metadata()
    assert documents.max_image_pixels() == 40_000_000  # the default (KIA_MAX_IMAGE_PIXELS)
    assert documents.well_formed(with_declared_size(small, 6000, 6000), "image/png")  # 36 MP: a scan
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for width, height in ((8000, 6000), (100_000, 100_000), (2**31 - 1, 2)):
            bomb = with_declared_size(small, width, height)
            assert not documents.well_formed(bomb, "image/png"), (width, height)
        try:
            documents.configure(max_pixels=1_000)
            assert not documents.well_formed(with_declared_size(small, 40, 40), "image/png")
            assert documents.well_formed(small, "image/png")
        finally:
            documents.configure()
