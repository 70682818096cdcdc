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
    # A run without failures: the failures chart's axis reads 0, 1 (whole numbers, each once).
    if number(text(browser, "failures")) == 0:
        axis = browser.find_element(By.ID, "chart-failures").get_attribute("data-y-labels")
        assert axis == "0|1", axis

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


def _fill(browser, name, value):
    field = browser.find_element(By.CSS_SELECTOR, f"#start-form [name={name}]")
    field.clear()
    if value:
        field.send_keys(value)


def _run_json(url, path="/api/run"):
    import json
    import urllib.request
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.load(response)


def test_interactive_coordinator_start_edit_stop_and_a_second_run(start_stampede, browser, tmp_path, free_port):  # noqa: F811
    """`stampede coordinator --keep-workers` with no plan: the two local workers connect and wait; a run is started
    from the form, its users are changed while it runs, it is stopped from the page, and a second run on the same
    connected workers is started from the form and writes its exact target. Screenshots of each step go to
    artifacts/."""
    cql_port, grpc_port, web_port = free_port(), free_port(), free_port()
    start_stampede("server", "--port", str(cql_port), ready_log="CQL server ready")
    reports = tmp_path / "reports"
    start_stampede(
        "coordinator", "--bind", f"127.0.0.1:{grpc_port}", "--web-port", str(web_port), "--local-workers", "2",
        "--keep-workers", "--contact-points", f"127.0.0.1:{cql_port}", "--report-dir", str(reports),
        "--results", str(tmp_path / "results.json"), "--journal-dir", str(tmp_path / "journal"), "--log-level", "warning",
        ready_port=web_port, timeout=60,
    )
    url = f"http://127.0.0.1:{web_port}"
    browser.get(url + "/")
    wait_for(lambda: text(browser, "run-state") == "idle", timeout=30, what="an idle coordinator waiting for a run")
    rows = wait_for(
        lambda: rows if len(rows := browser.find_elements(By.CSS_SELECTOR, "#workers-table tbody tr")) >= 2 else None,
        timeout=60, what="both local workers connected before any run")
    ARTIFACTS.mkdir(exist_ok=True)

    # First run from the form: 4 users for up to two minutes.
    wait_for(lambda: browser.find_element(By.ID, "start-panel").is_displayed(), what="the start form")
    _fill(browser, "users", "4")
    _fill(browser, "duration", "120s")
    _fill(browser, "target", "")
    _fill(browser, "contactPoints", f"127.0.0.1:{cql_port}")
    browser.find_element(By.ID, "btn-start").click()
    wait_for(lambda: text(browser, "run-state") == "running", timeout=60, what="the first run to start")
    first_run = text(browser, "run-id").replace("run ", "")
    first_requests = wait_for(lambda: number(text(browser, "requests")), timeout=30, what="requests of the first run")
    wait_for(lambda: (number(text(browser, "requests")) or 0) > first_requests, timeout=20, what="the first run to progress")
    assert text(browser, "load-now") == "4 users"

    # Edit the users while it runs; the coordinator re-divides them among the workers.
    edit = browser.find_element(By.ID, "edit-value")
    edit.clear()
    edit.send_keys("8")
    browser.find_element(By.ID, "btn-apply").click()
    wait_for(lambda: text(browser, "load-now") == "8 users", timeout=20, what="the page to show 8 users")
    assert _run_json(url)["users"] == 8
    browser.save_screenshot(str(ARTIFACTS / "dashboard-coordinator-edited.png"))

    # Stop from the page.
    browser.find_element(By.ID, "btn-stop").click()
    wait_for(lambda: text(browser, "run-state") == "finished", timeout=60, what="the first run to finish after Stop")
    wait_for(lambda: (reports / first_run).is_dir(), timeout=20, what="the first run's reports")

    # A second run on the same workers, started from the form: an exact fixed total, 2 in flight per worker.
    browser.find_element(By.ID, "btn-new").click()
    wait_for(lambda: browser.find_element(By.ID, "start-panel").is_displayed(), what="the start form again")
    _fill(browser, "target", "40000")
    _fill(browser, "duration", "")
    _fill(browser, "users", "4")
    # Other contact points than the coordinator's (the same server by name): the chat schema is created there first.
    _fill(browser, "contactPoints", f"localhost:{cql_port}")
    browser.find_element(By.ID, "btn-start").click()
    second_run = wait_for(
        lambda: run if (run := text(browser, "run-id").replace("run ", "")) and run != first_run else None,
        timeout=30, what="a new run id on the page")
    # It progresses live on a page that started afresh (its own run id, counts from zero).
    wait_for(lambda: text(browser, "run-state") == "running" and 0 < (number(text(browser, "completed")) or 0) < 40000,
             timeout=60, what="the second run to progress")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-coordinator-second-run-live.png"))
    wait_for(lambda: number(text(browser, "completed")) == 40000 and text(browser, "run-state") == "finished", timeout=180,
             what="the second run to write exactly 40000 messages")
    rows = browser.find_elements(By.CSS_SELECTOR, "#workers-table tbody tr")
    assert sorted(row.find_elements(By.TAG_NAME, "td")[0].text.split()[0] for row in rows) == ["local-1", "local-2"]
    browser.save_screenshot(str(ARTIFACTS / "dashboard-coordinator-second-run.png"))
    wait_for(lambda: (reports / second_run).is_dir(), timeout=20, what="the second run's reports")
    summary = _run_json(url)
    assert summary["runID"] == second_run and summary["completed"] == 40000
    assert _run_json(url, "/reports/bundle.json")["configuration"]["contact_points"] == f"localhost:{cql_port}"
