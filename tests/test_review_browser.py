"""The review page in a real browser: Debian's headless Chromium driven by selenium.

Click a highlighted span and its card is shown; click a card and its spans are;
filter by country; article markup stays text; mark an event wrong and fix a
field; download the decisions and apply them with `review --apply`. A second
test opens a 5,000-event page and uses it. Without chromium and chromedriver
(`apt install chromium chromium-driver`) the tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.cli.export import export_events_command
from pipeline.cli.review import review_command
from tests.support.review_db import KENYA_ARTICLE, MARKUP_ARTICLE, build_large_db, build_review_db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="the browser test needs Chromium and its driver on PATH (Debian: apt install chromium chromium-driver)",
)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, page: Path, fragment: str = "") -> None:
    driver.get(page.resolve().as_uri() + fragment)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0  # loaded nothing


def test_review_in_the_browser_from_span_to_decisions_applied(browser, tmp_path):
    db = build_review_db(tmp_path)
    page = tmp_path / "review.html"
    made = CliRunner().invoke(review_command, ["--db", str(db), "-o", str(page)])
    assert made.exit_code == 0, made.output
    open_page(browser, page, "#article=000_29c54237869ccf3a.txt")
    assert browser.find_element(By.CSS_SELECTOR, "#article-pane h2").text

    # A highlighted span shows its card; a card shows its spans.
    marks = browser.find_elements(By.CSS_SELECTOR, "#article-text mark.hl")
    cards = browser.find_elements(By.CSS_SELECTOR, "#cards .card")
    assert len(marks) >= 2 and len(cards) >= 2
    last = marks[-1]
    target = last.get_attribute("data-ev").split()[0]
    last.click()
    active = browser.find_elements(By.CSS_SELECTOR, "#cards .card.active")
    assert [c.get_attribute("data-ev") for c in active] == [target] and active[0].is_displayed()
    assert "active" in last.get_attribute("class")
    first_card = cards[0]
    first_card.find_element(By.TAG_NAME, "h3").click()
    lit = browser.find_elements(By.CSS_SELECTOR, "#article-text mark.hl.active")
    assert lit and all("0" in m.get_attribute("data-ev").split() for m in lit)
    assert "&event=" in browser.current_url

    # Filter by country: only the Kenyan article is left.
    Select(browser.find_element(By.ID, "f-country")).select_by_visible_text("Kenya")
    WebDriverWait(browser, 5).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#article-list li")) == 1)
    entry = browser.find_element(By.CSS_SELECTOR, "#article-list li")
    assert KENYA_ARTICLE in entry.text and "1 of 8 articles" in browser.find_element(By.ID, "f-count").text
    entry.click()
    card = browser.find_element(By.CSS_SELECTOR, "#cards .card")
    assert card.find_element(By.CSS_SELECTOR, "td[data-field=country]").text == "Kenya"
    assert "exact" in card.find_element(By.CSS_SELECTOR, ".geo").text
    assert card.find_elements(By.CSS_SELECTOR, ".geo svg circle.pt") and card.find_elements(
        By.CSS_SELECTOR, ".geo path.home"
    )

    # Mark it wrong.
    card.find_element(By.CSS_SELECTOR, "button[data-verdict=wrong]").click()
    card = browser.find_element(By.CSS_SELECTOR, "#cards .card")
    assert card.find_element(By.CSS_SELECTOR, "[data-standing]").text == "wrong"
    kenya_event = card.get_attribute("data-event-id")

    # Markup in an article is text: no alert, no script element, the characters shown as written.
    Select(browser.find_element(By.ID, "f-country")).select_by_index(0)
    browser.find_element(By.ID, "f-text").send_keys("alert(1)")
    WebDriverWait(browser, 5).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#article-list li")) == 1)
    browser.find_element(By.CSS_SELECTOR, "#article-list li").click()
    assert MARKUP_ARTICLE in browser.find_element(By.CSS_SELECTOR, ".ameta").text
    text = browser.find_element(By.ID, "article-text")
    assert "<script>alert(1)</script>" in text.text and "<b>bold</b>" in text.text
    assert not text.find_elements(By.CSS_SELECTOR, "script, b")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018

    # Fix a field of its event: fatalities 4 -> 5.
    card = browser.find_element(By.CSS_SELECTOR, "#cards .card")
    fixed_event = card.get_attribute("data-event-id")
    card.find_element(By.CSS_SELECTOR, "button[data-fix=fatalities]").click()
    field = card.find_element(By.CSS_SELECTOR, "td[data-field=fatalities] input")
    field.clear()
    field.send_keys("five")
    card.find_element(By.CSS_SELECTOR, "button[data-save=fatalities]").click()
    assert "whole number" in card.find_element(By.CSS_SELECTOR, ".fixform .err").text  # refused, still open
    field.clear()
    field.send_keys("5")
    card.find_element(By.CSS_SELECTOR, "button[data-save=fatalities]").click()
    cell = browser.find_element(By.CSS_SELECTOR, "#cards .card td[data-field=fatalities]")
    assert cell.text.endswith("5") and cell.find_element(By.CSS_SELECTOR, ".old").text
    assert browser.find_element(By.ID, "decision-count").text == "2 decisions"

    # Download the decisions and apply them.
    browser.find_element(By.ID, "download").click()
    downloaded = browser.downloads / "decisions.json"
    deadline = time.monotonic() + 20
    while not downloaded.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert downloaded.exists(), f"no download in {list(browser.downloads.iterdir())}"
    doc = json.loads(downloaded.read_text(encoding="utf-8"))
    assert [(d["event_id"], d["verdict"]) for d in doc["decisions"]] == [(kenya_event, "wrong"), (fixed_event, "fix")]
    applied = CliRunner().invoke(review_command, ["--db", str(db), "--apply", str(downloaded)])
    assert applied.exit_code == 0 and "Stored 2 new decisions" in applied.output, applied.output
    con = duckdb.connect(str(db))
    rows = con.execute("SELECT event_id, verdict, field, value FROM reviews ORDER BY decided_at").fetchall()
    con.close()
    assert rows == [(kenya_event, "wrong", None, None), (fixed_event, "fix", "fatalities", "5")]
    out = tmp_path / "kept.jsonl"
    exported = CliRunner().invoke(
        export_events_command, ["--db", str(db), "--exclude-rejected", "--format", "jsonl", "-o", str(out)]
    )
    assert exported.exit_code == 0
    kept = [json.loads(line)["event_id"] for line in out.read_text().splitlines()]
    assert kenya_event not in kept and fixed_event in kept

    # A page made after the apply shows the stored decision.
    CliRunner().invoke(review_command, ["--db", str(db), "-o", str(page)])
    open_page(browser, page, f"#article={KENYA_ARTICLE}")
    assert browser.find_element(By.CSS_SELECTOR, "#cards .card [data-standing]").text == "wrong"


def test_a_5000_event_page_opens_and_filters(browser, tmp_path):
    db = build_large_db(tmp_path / "large.duckdb", 5000)
    page = tmp_path / "large.html"
    made = CliRunner().invoke(review_command, ["--db", str(db), "-o", str(page)])
    assert made.exit_code == 0, made.output
    open_page(browser, page)
    assert browser.find_element(By.ID, "f-count").text == "1667 of 1667 articles"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#article-list li")) == 201  # 200 and "show more"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#cards .card")) == 3  # one article rendered at a time
    Select(browser.find_element(By.ID, "f-country")).select_by_visible_text("Mali")
    browser.find_element(By.ID, "f-fmin").send_keys("30")
    # An event of article a has fatalities j + a % 40 and country (a + j) % 4 (Mali is 2), j < 3.
    expected = sum(
        1 for a in range(1667) if any((a + j) % 4 == 2 and j + a % 40 >= 30 for j in range(3 if a < 1666 else 2))
    )
    assert 0 < expected < 1667
    WebDriverWait(browser, 5).until(lambda d: d.find_element(By.ID, "f-count").text == f"{expected} of 1667 articles")
    browser.find_element(By.CSS_SELECTOR, "#article-list li").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#cards .card:not(.dim)")
