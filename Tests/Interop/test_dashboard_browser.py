"""The web dashboard in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium.

It opens the dashboard served by `stampede-dashboard-demo` (a dashboard fed by a simulated 2-worker run; built by
`swift build --product stampede-dashboard-demo`) or, when STAMPEDE_DASHBOARD_URL is set, by a running coordinator;
starts a run from the form, sees the RPS value and chart change and both workers listed, stops the run, downloads the
HTML report and opens it from disk. Screenshots go to artifacts/ (dashboard-laptop.png, dashboard-phone.png,
report.png).

Skips cleanly when Selenium, Chromium or chromedriver is missing, or when the demo binary is not built.
Environment: STAMPEDE_DASHBOARD_DEMO_BIN (binary path), STAMPEDE_DASHBOARD_URL (use a running dashboard instead),
CHROMIUM_BIN / CHROMEDRIVER_BIN (browser paths). Every wait is bounded; every address is 127.0.0.1.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # the browser test skips; the HDR log test does not need Selenium
    webdriver = None


def _find(env, *candidates):
    path = os.environ.get(env)
    if path:
        return path if os.access(path, os.X_OK) else None
    for candidate in candidates:
        found = shutil.which(candidate) if "/" not in candidate else (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    return None


CHROMIUM = _find("CHROMIUM_BIN", "chromium", "chromium-browser", "/usr/lib/chromium/chromium")
CHROMEDRIVER = _find("CHROMEDRIVER_BIN", "chromedriver", "/usr/lib/chromium/chromedriver")


def _demo_binary():
    explicit = os.environ.get("STAMPEDE_DASHBOARD_DEMO_BIN")
    candidates = [pathlib.Path(explicit)] if explicit else [
        REPO_ROOT / ".build" / "debug" / "stampede-dashboard-demo",
        REPO_ROOT / ".build-dash" / "debug" / "stampede-dashboard-demo",
        REPO_ROOT / ".build" / "release" / "stampede-dashboard-demo",
    ]
    built = [path for path in candidates if path.is_file() and os.access(path, os.X_OK)]
    # The most recently built one, when several build folders hold it.
    return max(built, key=lambda path: path.stat().st_mtime) if built else None


def wait_for(predicate, timeout=20.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as error:  # the page may be mid-render
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture
def dashboard_url():
    url = os.environ.get("STAMPEDE_DASHBOARD_URL")
    if url:
        yield url.rstrip("/")
        return
    binary = _demo_binary()
    if binary is None:
        pytest.skip("stampede-dashboard-demo is not built (swift build --product stampede-dashboard-demo)")
    report_dir = tempfile.mkdtemp(prefix="stampede-dash-reports-")
    process = subprocess.Popen(
        [str(binary), "--port", "0", "--workers", "2", "--report-dir", report_dir],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line or "")
            if match:
                yield match.group(1)
                break
            if process.poll() is not None:
                raise AssertionError(f"the demo dashboard exited early ({process.returncode}): {line}")
        else:
            raise AssertionError("the demo dashboard did not start within 30 s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        shutil.rmtree(report_dir, ignore_errors=True)


@pytest.fixture
def browser():
    if webdriver is None:
        pytest.skip("Selenium is not installed (pip install selenium)")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    downloads = tempfile.mkdtemp(prefix="stampede-dash-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,2200", "--force-device-scale-factor=1", "--no-first-run"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads, "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    except Exception:
        pass  # older drivers: the preference above is enough
    driver.downloads = pathlib.Path(downloads)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(downloads, ignore_errors=True)


def text(driver, element_id):
    """The element's text as written (not as CSS renders it: the state badge is upper-cased on screen)."""
    return (driver.find_element(By.ID, element_id).get_attribute("textContent") or "").strip()


def number(value):
    cleaned = value.replace(",", "").strip()
    return float(cleaned) if re.fullmatch(r"-?\d+(\.\d+)?", cleaned) else None


def test_dashboard_runs_stops_and_downloads_report(dashboard_url, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(dashboard_url + "/")
    assert browser.title == "Stampede"

    # Start a run from the form (the form shows by itself when the coordinator is idle).
    state = wait_for(lambda: text(browser, "run-state"), what="the run state badge")
    if state in ("starting", "running"):
        browser.find_element(By.ID, "btn-stop").click()
        wait_for(lambda: text(browser, "run-state") in ("finished", "failed", "idle"), timeout=30, what="the previous run to stop")
    if not browser.find_element(By.ID, "start-panel").is_displayed():
        browser.find_element(By.ID, "btn-new").click()
    form = browser.find_element(By.ID, "start-form")
    users = form.find_element(By.NAME, "users")
    users.clear()
    users.send_keys("20")
    target = form.find_element(By.NAME, "target")
    target.clear()
    target.send_keys("5000000")
    browser.find_element(By.ID, "btn-start").click()
    wait_for(lambda: text(browser, "run-state") == "running", what="the run to start")

    # Live values and charts change without reloading the page.
    first_rps = wait_for(lambda: number(text(browser, "current-rps")), what="a current RPS value")
    assert first_rps > 0
    first_requests = wait_for(lambda: number(text(browser, "requests")), what="a request count")
    chart = browser.find_element(By.ID, "chart-rps")
    first_points = int(chart.get_attribute("data-points") or 0)
    first_image = browser.execute_script("return arguments[0].toDataURL()", chart)
    wait_for(lambda: (number(text(browser, "requests")) or 0) > first_requests, timeout=15, what="the request count to grow")
    wait_for(lambda: int(chart.get_attribute("data-points") or 0) >= first_points + 2, timeout=15, what="the RPS chart to gain points")
    assert browser.execute_script("return arguments[0].toDataURL()", chart) != first_image, "the RPS chart did not redraw"
    # Count charts have whole-number, distinct axis labels (a failures chart with no failures once read 0, 1, 1:
    # a 0.5 step rounded for display).
    for chart_id in ("chart-rps", "chart-failures"):
        axis = wait_for(lambda: browser.find_element(By.ID, chart_id).get_attribute("data-y-labels"),
                        what=f"the axis of {chart_id}").split("|")
        assert len(axis) >= 2 and len(axis) == len(set(axis)), (chart_id, axis)
        assert all(label.replace(",", "").isdigit() for label in axis), (chart_id, axis)

    # Both workers are listed.
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#workers-table tbody tr") if len(
        browser.find_elements(By.CSS_SELECTOR, "#workers-table tbody tr")) >= 2 else None, what="two workers")
    worker_ids = sorted(row.find_elements(By.TAG_NAME, "td")[0].text.split()[0] for row in rows)
    assert len(worker_ids) == 2 and worker_ids[0] != worker_ids[1], worker_ids
    assert len(browser.find_elements(By.CSS_SELECTOR, "#stats-table tbody tr")) >= 2

    # Edit the load while running.
    edit = browser.find_element(By.ID, "edit-value")
    edit.clear()
    edit.send_keys("30")
    browser.find_element(By.ID, "btn-apply").click()
    wait_for(lambda: text(browser, "load-now").startswith("30"), what="the new user count")

    time.sleep(1.5)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-laptop.png"))
    browser.set_window_size(390, 2600)
    time.sleep(1.2)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-phone.png"))
    browser.set_window_size(1280, 2200)

    # Stop, then download the HTML report.
    browser.find_element(By.ID, "btn-stop").click()
    wait_for(lambda: text(browser, "run-state") == "finished", timeout=30, what="the run to finish")
    run_id = text(browser, "run-id").replace("run ", "")
    if not os.environ.get("STAMPEDE_DASHBOARD_URL"):
        # The demo runs with --report-dir: the finished run's reports are written there by themselves.
        wait_for(lambda: run_id in api(dashboard_url, "/api/runs")["runs"], timeout=10, what=f"the reports of {run_id} in --report-dir")
    browser.find_element(By.ID, "download-html").click()
    report = wait_for(lambda: next((p for p in browser.downloads.glob("*.html")), None), timeout=20, what="the HTML report download")
    html = report.read_text(encoding="utf-8")
    assert "window.STAMPEDE_REPORT" in html and run_id in html
    assert "http://" not in html and "https://" not in html

    # The report opens from disk and renders the same tables and charts.
    browser.get(report.as_uri())
    wait_for(lambda: text(browser, "run-state") == "finished", what="the report to render")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#stats-table tbody tr")) >= 2
    assert len(browser.find_elements(By.CSS_SELECTOR, "#workers-table tbody tr")) == 2
    assert int(browser.find_element(By.ID, "chart-rps").get_attribute("data-points") or 0) > 2
    browser.save_screenshot(str(ARTIFACTS / "report.png"))


def api(url, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    method = "POST" if body is not None else "GET"
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" else raw.decode()


def test_hdr_log_reads_back_with_hdrhistogram(dashboard_url):
    """The HDR histogram log opens with HdrHistogram's own Python reader, and its per-second percentiles equal the
    dashboard's."""
    hdrh_log = pytest.importorskip("hdrh.log", reason="hdrhistogram is not installed (pip install hdrhistogram)")
    from hdrh.histogram import HdrHistogram

    if api(dashboard_url, "/api/run")["state"] in ("starting", "running"):
        api(dashboard_url, "/api/stop", {})
        wait_for(lambda: api(dashboard_url, "/api/run")["state"] not in ("starting", "running", "stopping"), what="the run to stop")
    api(dashboard_url, "/api/start", {"workload": "chat-write", "users": 10, "target": 10_000_000})
    wait_for(lambda: len(api(dashboard_url, "/api/stats")["series"]) >= 3, timeout=15, what="three seconds of data")
    api(dashboard_url, "/api/stop", {})
    wait_for(lambda: api(dashboard_url, "/api/run")["state"] == "finished", timeout=15, what="the run to finish")
    series = api(dashboard_url, "/api/stats")["series"]
    log = api(dashboard_url, "/reports/latency.hlog")
    path = pathlib.Path(tempfile.mkdtemp(prefix="stampede-hlog-")) / "latency.hlog"
    try:
        path.write_text(log)
        reader = hdrh_log.HistogramLogReader(str(path), HdrHistogram(1, 60_000_000, 3))
        intervals = []
        while (histogram := reader.get_next_interval_histogram()) is not None:
            intervals.append(histogram)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    assert len(intervals) == len(series) >= 3
    for histogram, sample in zip(intervals, series):
        assert histogram.get_total_count() == sample["requests"] - sample["failures"]
        assert histogram.get_value_at_percentile(50) == sample["percentilesMicros"][0]
        # Percentile rank rounding differs between implementations (round vs ceil), so the tail is checked by range.
        assert sample["percentilesMicros"][5] <= histogram.get_value_at_percentile(99) <= histogram.get_max_value()
        maximum = sample["percentilesMicros"][10]
        assert maximum <= histogram.get_max_value() <= maximum * 1.001 + 1
