"""Issue 14's smaller holes, through a real HTTP server (werkzeug in a thread), on SQLite and PostgreSQL:
the sign-in page follows only a local ``next``, WhatsApp media are fetched only from allowed hosts (the
token only where it belongs), a correction is checked like a new submission, documents are not cached.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from flask import Flask

from handlers.whatsapp.fake_graph import FakeGraph
from handlers.whatsapp.gateway import GatewayError, GraphGateway, MediaPolicy

from . import test_log_privacy
from .helpers import JPEG_BYTES, PASSWORD, PDF_BYTES, PNG_BYTES, application_data, inbox, submit, token
from .test_log_privacy import HttpClient
from .whatsapp_helpers import ANSWERS, Phone, configure, media_part

server = test_log_privacy.server  # the app served by werkzeug in a thread

# --- the sign-in page's ``next`` -----------------------------------------------------------------------


def sign_in_with_next(base_url: str, target: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, follow_redirects=False) as browser:
        page = browser.get("/masuk")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return browser.post(
            "/masuk",
            params={"next": target},
            data={"username": "admin1", "password": PASSWORD, "csrf_token": csrf},
        )


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "/\x00x",
        "/\x7f/x",
        "evil.example",
        "/" + "a" * 5000,
    ],
)
def test_sign_in_follows_no_foreign_next(app: Flask, server: str, target: str) -> None:
    answer = sign_in_with_next(server, target)
    if answer.status_code == 400:  # the app refuses some control characters in a query before any page
        assert any(not ch.isprintable() for ch in target) and "<html" in answer.text  # the HTML error page
        return
    assert answer.status_code == 302, answer.text[:200]
    location = answer.headers["Location"]
    assert location == "/" or location.endswith("://127.0.0.1/") or httpx.URL(location).path == "/", location
    assert "evil" not in location


def test_sign_in_follows_a_local_next(app: Flask, server: str) -> None:
    answer = sign_in_with_next(server, "/petugas/tugas?lane=admin")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/petugas/tugas?lane=admin")


# --- documents are not cached ---------------------------------------------------------------------------


def test_document_download_is_not_cached(app: Flask, server: str) -> None:
    http = HttpClient(server)
    created = submit(http, application_data(), {"kk": PDF_BYTES, "akta": PNG_BYTES}).get_json()
    admin = token(http, "admin1")
    detail = http.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()
    for doc in detail["documents"]:
        answer = http.http.get(f"/api/v1/applications/{created['code']}/documents/{doc['id']}", headers=admin)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store"


# --- WhatsApp media: allowed hosts only, the token only to the Graph API host --------------------------


def gateway(fake: FakeGraph, **policy: object) -> GraphGateway:
    return GraphGateway(fake.graph_url, fake.token, fake.phone_number_id, media_policy=MediaPolicy(**policy))


def downloads(fake: FakeGraph) -> list[tuple[str, str, int]]:
    return [call for call in fake.calls if call[1].startswith("/download/")]


def test_media_from_the_graph_host_is_downloaded_with_the_token(fake: FakeGraph) -> None:
    media_id = fake.add_media(PDF_BYTES, "application/pdf")
    wa = gateway(fake, allow_loopback=True)
    assert wa.download(wa.media(media_id).url, 1_000_000) == PDF_BYTES
    assert [status for *_, status in downloads(fake)] == [200]


@pytest.mark.parametrize(
    ("url", "policy", "reason"),
    [
        ("{base}/download/{id}", {}, "not https"),  # plain http and loopback, without the test switch
        ("https://127.0.0.1:{port}/download/{id}", {}, "loopback address"),
        ("http://localhost:{port}/download/{id}", {"allow_loopback": True}, "host not on the allow-list"),
        ("https://evil.example/download/{id}", {"allow_loopback": True}, "host not on the allow-list"),
        ("https://10.1.2.3/x", {"hosts": ("10.1.2.3",)}, "private or reserved address"),
        ("https://192.168.1.1/x", {"hosts": ("192.168.1.1",)}, "private or reserved address"),
        ("https://169.254.169.254/latest/meta-data", {"hosts": ("169.254.169.254",)}, "private or reserved address"),
        ("https://[::1]/x", {"hosts": ("::1",)}, "loopback address"),
        ("https://[::ffff:10.0.0.1]/x", {"hosts": ("::ffff:10.0.0.1",)}, "private or reserved address"),
        ("https://user:pw@lookaside.fbsbx.com/x", {}, "credentials"),
        ("ftp://lookaside.fbsbx.com/x", {}, "not https"),
    ],
)
def test_media_urls_outside_the_policy_are_refused_before_any_request(
    fake: FakeGraph, url: str, policy: dict, reason: str
) -> None:
    media_id = fake.add_media(PDF_BYTES, "application/pdf")
    port = fake.base_url.rsplit(":", 1)[1]
    fake.media_urls[media_id] = url.format(base=fake.base_url, id=media_id, port=port)
    wa = gateway(fake, **policy)
    with pytest.raises(GatewayError, match=reason) as refused:
        wa.download(wa.media(media_id).url, 1_000_000)
    assert not refused.value.retryable
    assert downloads(fake) == []  # nothing was sent anywhere


def test_the_token_goes_only_to_the_graph_host_and_metas_media_hosts(fake: FakeGraph) -> None:
    """``localhost`` stands for an allowed media host that is not a token host: it gets no token (the
    fake, which wants the token everywhere, answers 401); as a token host it gets it."""
    media_id = fake.add_media(PDF_BYTES, "application/pdf")
    port = fake.base_url.rsplit(":", 1)[1]
    fake.media_urls[media_id] = f"http://localhost:{port}/download/{media_id}"
    wa = gateway(fake, hosts=("localhost",), token_hosts=(), allow_loopback=True)
    with pytest.raises(GatewayError, match="HTTP 401"):
        wa.download(wa.media(media_id).url, 1_000_000)
    wa = gateway(fake, hosts=("localhost",), token_hosts=("localhost",), allow_loopback=True)
    assert wa.download(wa.media(media_id).url, 1_000_000) == PDF_BYTES
    assert [status for *_, status in downloads(fake)] == [401, 200]


def test_a_chat_document_from_a_foreign_host_is_refused_and_the_chat_goes_on(
    app: Flask,
    server: str,
    fake: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(app, fake, monkeypatch)
    phone = Phone(HttpClient(server), app, fake)  # type: ignore[arg-type]
    for answer in ["Halo", "1", *ANSWERS]:
        phone.say(answer)
    part = media_part(fake, PDF_BYTES, "application/pdf", as_document=True)
    fake.media_urls[part["document"]["id"]] = "https://evil.example/steal"
    replies = phone.send(part)
    assert any("Dokumen tidak dapat diterima" in r for r in replies), replies
    assert downloads(fake) == []
    assert any("diterima" in r for r in phone.send(media_part(fake, PDF_BYTES, "application/pdf", as_document=True)))


# --- a correction is checked like a new submission ---------------------------------------------------


def sent_back(
    http: HttpClient, files: dict[str, bytes] | None = None, nik: str = "1471085005230001"
) -> tuple[str, dict[str, str], str]:
    """A submitted application the admin sent back: (code, the applicant's headers, the correction task).
    One open application per child: a second one in a test names another child's NIK."""
    created = submit(http, application_data(nik=nik), files or {"kk": PDF_BYTES, "akta": PNG_BYTES}).get_json()
    admin = token(http, "admin1")
    [task] = [t for t in inbox(http, admin) if t["application_code"] == created["code"]]
    done = http.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "incomplete", "note": "Periksa."}
    )
    assert done.status_code == 200, done.get_json()
    signed_in = http.post("/api/v1/auth/token", json={"code": created["code"], "pin": created["pin"]}).get_json()
    applicant = {"Authorization": f"Bearer {signed_in['access_token']}"}
    [correction] = [t for t in inbox(http, applicant) if t["form_key"] == "correction"]
    return created["code"], applicant, correction["id"]


def years_ago(years: int) -> str:
    today = date.today()
    return date(today.year - years, today.month, min(today.day, 28)).isoformat()


@pytest.mark.parametrize(
    ("child", "field"),
    [
        ({"nik": "1471085005230000"}, "nik"),  # the NIK's serial may not be 0000
        ({"nik": "9971085005230001"}, "nik"),  # no such province
        ({"kk_number": "14710815062300"}, "kk_number"),  # too short
        ({"birth_date": "2001-05-10"}, "birth_date"),  # 17 or older: no KIA
    ],
)
def test_a_correction_with_invalid_identity_is_refused_like_a_submission(
    app: Flask,
    server: str,
    child: dict,
    field: str,
) -> None:
    http = HttpClient(server)
    code, applicant, task_id = sent_back(http)
    answer = http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=applicant, json={"response": "Sudah.", "child": child}
    )
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]["child"], answer.get_json()
    admin = token(http, "admin1")
    assert http.get(f"/api/v1/applications/{code}", headers=admin).get_json()["child"]["nik"] == "1471085005230001"
    assert [t["id"] for t in inbox(http, applicant) if t["form_key"] == "correction"] == [task_id]  # still open


def test_a_correction_recomputes_the_kia_kind_and_the_routing(app: Flask, server: str) -> None:
    http = HttpClient(server)
    admin = token(http, "admin1")
    code, applicant, task_id = sent_back(http)
    older = {"birth_date": years_ago(6), "kecamatan": "14.71.01"}
    refused = http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=applicant, json={"response": "Umur salah.", "child": older}
    )
    assert refused.status_code == 422 and "photo" in refused.get_json()["error"]["fields"], refused.get_json()
    assert http.get(f"/api/v1/applications/{code}", headers=admin).get_json()["kia_kind"] == "under_5"

    code, applicant, task_id = sent_back(
        http, {"kk": PDF_BYTES, "akta": PNG_BYTES, "photo": JPEG_BYTES}, "1471085005230042"
    )
    done = http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=applicant, json={"response": "Umur salah.", "child": older}
    )
    assert done.status_code == 200, done.get_json()
    detail = http.get(f"/api/v1/applications/{code}", headers=admin).get_json()
    assert detail["kia_kind"] == "5_to_17"
    assert detail["child"]["birth_date"] == older["birth_date"]
    assert detail["kecamatan"] == "14.71.01"
    assert detail["warnings"]["nik"], "the NIK no longer matches the birth date: the officer is warned"


# --- uploads cannot exhaust the service, and keep no metadata ---------------------------------------


def test_uploads_through_http_bombs_refused_and_every_frame_stripped(app: Flask, server: str) -> None:
    from .test_photo_metadata import SECRET, mpo_with_metadata, png_with_metadata, with_declared_size

    http = HttpClient(server)
    bomb = with_declared_size(png_with_metadata(), 20_000, 20_000)  # 400 MP declared in a 1 kB file
    refused = submit(http, application_data(), {"kk": PDF_BYTES, "akta": bomb})
    assert refused.status_code == 415, refused.get_json()
    assert "akta" in refused.get_json()["error"]["fields"]

    data = application_data(nik="1471080505150001", birth_date="2015-05-05", sex="L")
    photo = mpo_with_metadata() + b"PK\x03\x04" + SECRET  # two frames with EXIF, then an appended file
    created = submit(http, data, {"kk": PDF_BYTES, "akta": png_with_metadata() + SECRET, "photo": photo})
    assert created.status_code == 201, created.get_json()
    admin = token(http, "admin1")
    detail = http.get(f"/api/v1/applications/{created.get_json()['code']}", headers=admin).get_json()
    for doc in detail["documents"]:
        content = http.get(doc["url"], headers=admin).data
        assert SECRET not in content and b"Exif" not in content, doc["kind"]
    assert all(SECRET not in p.read_bytes() for p in Path(app.config["DOCUMENT_DIR"]).rglob("*") if p.is_file())
