"""Browser test of the applicant's front door (issue 19, point 8): Playwright drives Debian's Chromium on a
phone-sized screen against ``kia serve`` (SQLite, then PostgreSQL). A parent opens ``/``, types the code
as it came (lower case, no dashes), reaches the status page, which prints it as on the receipt, gives the
PIN and opens the receipt; a wrong address leads back to the front door."""

from __future__ import annotations

from engine.kia.security import display_code

from .test_browser import browser, no_horizontal_scroll, server, shot, submit_application  # noqa: F401

PHONE = {"width": 390, "height": 844}


def test_parent_types_the_code_gives_the_pin_and_opens_the_receipt(server: str, browser) -> None:  # noqa: F811
    created = submit_application(browser.new_page(), server, "1471085005230061")
    code, pin = created["code"], created["pin"]
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []  # script errors and CSP refusals (the 422 and 404 below are meant)
    page.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
    )

    page.goto(f"{server}/")
    assert "Gratis." in page.inner_text("#free")
    assert "Ajukan KIA" in page.inner_text("#how-to-apply")
    assert page.get_attribute("#staff-sign-in", "href") == "/masuk"
    assert "Aisyah" not in page.inner_text("body")  # nothing personal on the public page
    assert no_horizontal_scroll(page)
    shot(page, "front_door")

    page.fill("#kode", "abc")  # a mistyped code: told what a code looks like, kept in the box
    page.click("#code-box button[type=submit]")
    page.wait_for_load_state()
    assert "12 huruf dan angka" in page.inner_text("#kode-error") and page.input_value("#kode") == "abc"

    page.fill("#kode", code.lower())
    page.click("#code-box button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{server}/status/{code}"
    assert page.inner_text("#code") == display_code(code)
    assert page.locator("#receipt-link").count() == 0  # not before the PIN

    page.fill("input[name=pin]", pin)
    page.click("form[action$='/pin'] button[type=submit]")
    page.wait_for_load_state()
    link = page.locator("#receipt-link")
    assert link.is_visible()
    with context.expect_page() as opened:  # the receipt opens in a tab of its own
        link.click()
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.url.endswith(f"/api/v1/applications/{code}/receipt.pdf")
    response = page.request.get(server + link.get_attribute("href"))  # with the page's session
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    assert no_horizontal_scroll(page)
    shot(page, "status_receipt")

    page.goto(f"{server}/status")
    assert page.locator("#kode").is_visible()
    page.fill("#kode", display_code(code))
    page.press("#kode", "Enter")
    page.wait_for_load_state()
    assert page.url == f"{server}/status/{code}"

    missing = page.goto(f"{server}/halaman-yang-tidak-ada")
    assert missing.status == 404
    page.click("#home-link")
    page.wait_for_load_state()
    assert page.url == f"{server}/" and page.locator("#code-box").is_visible()
    assert not errors, errors
    context.close()
