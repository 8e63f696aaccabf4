"""The web app in headless Chromium (Debian's /usr/bin/chromium, driven by playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from litecomplete.app.headless import CHROMIUM as DEBIAN_CHROMIUM
from litecomplete.app.headless import launch_chromium

CHROMIUM = Path(os.environ.get("LITECOMPLETE_CHROMIUM", str(DEBIAN_CHROMIUM)))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("LITECOMPLETE_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (apt install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p, CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: Any, live_server: str, tmp_path: Path) -> Iterator[Any]:
    # Playwright's waits evaluate strings, which the page's policy forbids; the policy
    # itself is tested in test_typed_markup_stays_text_under_the_pages_policy.
    context = browser.new_context(viewport={"width": 1200, "height": 800}, bypass_csp=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.goto(live_server + "/")
    page.wait_for_function("document.querySelectorAll('#model option').length > 0")
    yield page
    shots = os.environ.get("LITECOMPLETE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(
                Path(shots)
                / f"{os.environ['PYTEST_CURRENT_TEST'].split(':')[-1].split(' ')[0]}.png"
            )
        )
    context.close()


def ghost(page: Any) -> str:
    return str(page.locator("#mirror .ghost").text_content() or "")


def type_and_wait_for_ghost(page: Any, text: str) -> str:
    page.locator("#text").click()
    page.keyboard.type(text)
    page.wait_for_selector("#mirror[data-ghost=done] .ghost", timeout=20000)
    return ghost(page)


def test_page_lists_the_models(page: Any) -> None:
    options = page.locator("#model option").all_text_contents()
    assert [o.split(" ")[0] for o in options] == ["tiny-dynamic", "tiny-fast"]
    assert page.locator("#text").get_attribute("placeholder") == "Tap to begin typing your story…"


def test_ghost_text_appears_and_tab_accepts_it(page: Any) -> None:
    shown = type_and_wait_for_ghost(page, "Once upon a time")
    assert shown.strip()
    page.keyboard.press("Tab")
    value = page.locator("#text").input_value()
    assert value == "Once upon a time" + shown
    assert page.locator("#mirror mark").first.text_content() == shown
    # Focus stayed in the text box (Tab did not move it) and typing goes on.
    page.keyboard.type("!")
    assert page.locator("#text").input_value().endswith("!")


def test_a_ghost_inside_a_word_finishes_the_word(page: Any, live_server: str) -> None:
    """The page asks for healing: its ghost is the API's healed answer, not the plain one."""
    import httpx

    typed = "I'm enjoying a quiet even"
    model = page.locator("#model").input_value()
    answers = [
        httpx.post(
            live_server + "/v1/completions",
            json={
                "model": model,
                "prompt": typed,
                "max_tokens": 6,
                "temperature": 0,
                "stop": ["\n"],
                "heal": heal,
            },
        )
        .json()["choices"][0]["text"]
        .rstrip()
        for heal in (True, False)
    ]
    assert answers[0] != answers[1], "the tiny model answers alike: pick another prompt"
    assert type_and_wait_for_ghost(page, typed) == answers[0]


def test_typing_the_ghost_keeps_the_rest_of_it(page: Any) -> None:
    shown = type_and_wait_for_ghost(page, "The old house")
    if len(shown) < 3:
        pytest.skip(f"the tiny model's ghost is too short to type into: {shown!r}")
    page.keyboard.type(shown[0])
    # Shown at once, before any request could answer: the rest of the same ghost.
    assert ghost(page) == shown[1:]
    assert page.evaluate("window.litecompleteStats.ghostMs.length") >= 2
    # The request made meanwhile may lengthen that ghost, never swap it for another.
    page.wait_for_selector("#mirror[data-ghost=done] .ghost", timeout=20000)
    assert ghost(page).startswith(shown[1:])


def test_escape_dismisses_the_ghost(page: Any) -> None:
    type_and_wait_for_ghost(page, "The weather today")
    page.keyboard.press("Escape")
    assert page.locator("#mirror .ghost").count() == 0
    assert page.locator("#text").input_value() == "The weather today"


def test_generate_new_suggestion_accept_copy_clear(page: Any) -> None:
    page.locator("#ghost").uncheck()
    page.locator("#text").fill("It was a dark and stormy night")
    page.locator("#generate").click()
    page.wait_for_function("document.getElementById('suggestion').textContent.trim().length > 0")
    page.wait_for_selector("#generate .spinner", state="hidden")
    first = page.locator("#suggestion").text_content()
    assert page.locator("#accept").is_enabled() and page.locator("#again").is_enabled()

    page.locator("#again").click()
    page.wait_for_function(
        "(first) => { const s = document.getElementById('suggestion').textContent;"
        " return s.length > 0 && s !== first && !document.getElementById('generate').disabled; }",
        arg=first,
    )
    second = page.locator("#suggestion").text_content()
    assert second and second != first

    page.locator("#accept").click()
    value = page.locator("#text").input_value()
    assert value == "It was a dark and stormy night" + second
    assert page.locator("#mirror mark").first.text_content() == second
    assert page.locator("#suggestion").text_content() == ""

    page.locator("#copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == value
    assert "Copied" in page.locator("#message").text_content()

    page.locator("#clear").click()
    assert page.locator("#text").input_value() == ""
    assert page.locator("#mirror mark").count() == 0


def test_context_slider_is_sent_with_generate(page: Any) -> None:
    page.locator("#ghost").uncheck()
    assert page.locator("#context-value").text_content() == "20"  # the seed app's default
    page.locator("#context").fill("5")
    assert page.locator("#context-value").text_content() == "5"
    page.locator("#text").fill("one two three four five six seven eight")
    with page.expect_request("**/v1/completions") as request:
        page.locator("#generate").click()
    assert request.value.post_data_json["context_words"] == 5
    page.wait_for_selector("#generate .spinner", state="hidden")
    page.locator("input[name=ctxmode][value=tokens]").check()
    # Tokens: half of the model's 64-token cache by default.
    assert page.locator("#context-value").text_content() == "32"
    assert page.locator("#context-unit").text_content() == "tokens"
    with page.expect_request("**/v1/completions") as request:
        page.locator("#generate").click()
    assert request.value.post_data_json["context_tokens"] == 32
    assert "context_words" not in request.value.post_data_json


def test_bad_language_is_refused(page: Any) -> None:
    page.locator("#text").click()
    page.keyboard.type("what the fuck is this")
    page.wait_for_selector("#message:not([hidden])", timeout=20000)
    assert page.locator("#message").text_content() == "Mind your language!"
    page.locator("#generate").click()
    page.wait_for_selector("#generate .spinner", state="hidden")
    assert page.locator("#message").text_content() == "Mind your language!"
    assert page.locator("#suggestion").text_content() == ""


def test_typed_markup_stays_text_under_the_pages_policy(browser: Any, live_server: str) -> None:
    """The page runs under a Content-Security-Policy that allows only its own files, and
    shows what is typed (and suggested) as text, never as markup."""
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    response = page.goto(live_server + "/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_selector("#model option", state="attached")
    typed = '<img src=x onerror="window.pwned=1"> <b>bold</b> story'
    type_and_wait_for_ghost(page, typed)
    assert page.locator("#mirror img, #mirror b").count() == 0
    assert (page.locator("#mirror").text_content() or "").startswith(typed)
    assert page.evaluate("window.pwned") is None
    assert violations == []
    context.close()
