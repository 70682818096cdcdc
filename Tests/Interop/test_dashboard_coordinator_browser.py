"""The dashboard of a real distributed run, in headless Chromium: `stampede server`, `stampede coordinator` with 2
local worker processes writing into it, the live page (RPS and charts change, both workers listed), Stop from the
page, and the HTML report downloaded. Skips like test_dashboard_browser.py when Selenium or Chromium is missing."""

import os
import pathlib

import pytest

from test_dashboard_browser import ARTIFACTS, browser, number, text, wait_for  # noqa: F401  (browser is a fixture)

try:
    from selenium.webdriver.common.by import By
except ImportError:  # the browser fixture skips
    By = None


def test_real_coordinator_dashboard_live_stop_and_report(start_stampede, browser, tmp_path, free_port):  # noqa: F811
    cql_port, grpc_port, web_port = free_port(), free_port(), free_port()
    start_stampede("server", "--port", str(cql_port), ready_log="CQL server ready")
    start_stampede(
        "coordinator", "--bind", f"127.0.0.1:{grpc_port}", "--web-port", str(web_port), "--local-workers", "2",
        "--target", "20000000", "--concurrency", "16", "--contact-points", f"127.0.0.1:{cql_port}",
        "--report-dir", str(tmp_path / "reports"), "--results", str(tmp_path / "results.json"),
        "--journal-dir", str(tmp_path / "journal"), "--log-level", "warning", "--web-linger", "60s",
        ready_port=web_port, timeout=60,
    )
    url = f"http://127.0.0.1:{web_port}"
    browser.get(url + "/")
    assert browser.title == "Stampede"
    wait_for(lambda: text(browser, "run-state") == "running", timeout=60, what="the run to start with both workers")

    # Live values and the RPS chart change without reloading.
    assert wait_for(lambda: number(text(browser, "current-rps")), what="a current RPS value") > 0
    first_requests = wait_for(lambda: number(text(browser, "requests")), what="a request count")
    chart = browser.find_element(By.ID, "chart-rps")
    first_image = browser.execute_script("return arguments[0].toDataURL()", chart)
    wait_for(lambda: (number(text(browser, "requests")) or 0) > first_requests, timeout=15, what="the request count to grow")
    wait_for(lambda: browser.execute_script("return arguments[0].toDataURL()", chart) != first_image, timeout=15,
             what="the RPS chart to redraw")

    # The workers table lists both local workers.
    rows = wait_for(
        lambda: rows if len(rows := browser.find_elements(By.CSS_SELECTOR, "#workers-table tbody tr")) >= 2 else None,
        what="two workers")
    worker_ids = sorted(row.find_elements(By.TAG_NAME, "td")[0].text.split()[0] for row in rows)
    assert worker_ids == ["local-1", "local-2"], worker_ids
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-coordinator.png"))

    # Stop from the page; the run finishes and the HTML report downloads.
    browser.find_element(By.ID, "btn-stop").click()
    wait_for(lambda: text(browser, "run-state") == "finished", timeout=60, what="the run to finish after Stop")
    run_id = text(browser, "run-id").replace("run ", "")
    browser.find_element(By.ID, "download-html").click()
    report = wait_for(lambda: next((p for p in browser.downloads.glob("*.html")), None), timeout=20, what="the HTML report")
    html = report.read_text(encoding="utf-8")
    assert "window.STAMPEDE_REPORT" in html and run_id in html
    assert "http://" not in html and "https://" not in html
