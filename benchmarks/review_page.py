"""How big and how fast the review page is at scale: build a page of N generated events, open it in Chromium.

    python benchmarks/review_page.py                 # 5,000 events (3 per article)
    python benchmarks/review_page.py --events 20000

The events are written through the store's one write path (tests/support/review_db.py's
`build_large_db`), the page is built as `review` builds it, then headless Chromium
(Debian's chromium and chromedriver, through selenium) opens it from disk and the
page's own work is timed: parse and first render, a country filter, a text search,
and selecting an article. Prints one table; the numbers are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.export.review import build_review_data, render_review_html  # noqa: E402
from pipeline.store.database import Store  # noqa: E402
from tests.support.review_db import build_large_db  # noqa: E402


def _browser_timings(page: Path) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "")
    )
    out: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 120).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        out["open (load, parse, first render) s"] = time.perf_counter() - t0
        out["JS heap MB"] = (
            driver.execute_script("return performance.memory ? performance.memory.usedJSHeapSize : 0") / 1e6
        )

        def timed(name: str, action, done) -> None:
            t = time.perf_counter()
            action()
            WebDriverWait(driver, 60).until(done)
            out[name] = time.perf_counter() - t

        count = lambda d: d.find_element(By.ID, "f-count").text  # noqa: E731
        timed(
            "country filter s",
            lambda: Select(driver.find_element(By.ID, "f-country")).select_by_visible_text("Mali"),
            lambda d: not count(d).startswith(count(d).split(" of ")[1].split()[0] + " of"),
        )
        search = driver.find_element(By.ID, "f-text")
        timed(
            "text search s (incl. 150 ms debounce)",
            lambda: search.send_keys("incident number 4999"),
            lambda d: count(d).startswith("1 of"),
        )
        item = driver.find_element(By.CSS_SELECTOR, "#article-list li")
        timed(
            "select an article s",
            item.click,
            lambda d: "4999" in d.find_element(By.ID, "article-text").text,
        )
    finally:
        driver.quit()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--per-article", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="also copy the page here")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "large.duckdb"
        t = time.perf_counter()
        build_large_db(db, args.events, args.per_article)
        rows.append(("generate the database s", f"{time.perf_counter() - t:.2f}"))
        t = time.perf_counter()
        with Store(db) as store:
            data = build_review_data(store)
        page_text = render_review_html(data)
        page = Path(tmp) / "review.html"
        page.write_text(page_text, encoding="utf-8")
        rows.append(("build the page s", f"{time.perf_counter() - t:.2f}"))
        rows.append(("events", str(sum(len(i["events"]) for i in data["items"]))))
        rows.append(("articles", str(len(data["items"]))))
        rows.append(("page MB", f"{len(page_text.encode()) / 1e6:.2f}"))
        if args.keep:
            shutil.copy(page, args.keep)
        if shutil.which("chromium") and shutil.which("chromedriver"):
            rows += [(k, f"{v:.2f}") for k, v in _browser_timings(page).items()]
        else:
            rows.append(("browser", "skipped: no chromium/chromedriver on PATH"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
