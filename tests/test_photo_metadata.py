"""Photo metadata (EXIF with location, XMP, comments, PNG text) is stripped before a document is stored:
losslessly, at submission and on re-upload (the WhatsApp intake stores through the same function)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, PngImagePlugin

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


def test_a_rotated_phone_photo_is_turned_upright_before_its_exif_goes() -> None:
    stripped = metadata.strip(jpeg_with_metadata(orientation=6, size=(40, 24)), "image/jpeg")
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.size == (24, 40) and not image.getexif()
    assert SECRET not in stripped


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
    with Image.open(io.BytesIO(content)) as image:
        assert image.size == (24, 40) and not image.getexif()
