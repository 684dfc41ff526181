"""`tui-attention serve web` in a real browser: Debian's chromium, headless, driven by selenium
through chromedriver, against the real command line on loopback.

xterm.js draws on a canvas, so the terminal's text is read from xterm.js's own buffer: a
script the test adds to every page (before textual.js runs) notes the object textual.js
keeps its terminal in. The test also compares screenshots, so what is drawn changes too.

Skipped only when /usr/bin/chromium or /usr/bin/chromedriver is missing (.ci/run installs
them with apt-get).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from serve_helpers import CliServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.serve,
    pytest.mark.skipif(
        not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]

# Runs before any page script: the first object that gets a `websocket_url` is textual.js's
# terminal wrapper (it sets it first thing in its constructor); keep it where the test finds it.
NOTE_TERMINALS = r"""
(() => {
  const tabs = (window.__tutorTabs = []);
  Object.defineProperty(Object.prototype, "websocket_url", {
    configurable: true,
    get() { return undefined; },
    set(value) {
      Object.defineProperty(this, "websocket_url", { value, writable: true, configurable: true, enumerable: true });
      tabs.push(this);
    },
  });
})();
"""

READ_TERMINAL = r"""
const tab = (window.__tutorTabs || [])[0];
if (!tab || !tab.terminal) return null;
const buffer = tab.terminal.buffer.active;
const lines = [];
for (let y = 0; y < tab.terminal.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  lines.push(line ? line.translateToString(true) : "");
}
return lines.join("\n");
"""


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="tui-attention-chromium-")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # chromium's sandbox refuses to run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1200,800",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def web_server(tmp_path):
    server = CliServer(["web", "--max-sessions", "1"], tmp_path)
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate, timeout: float = 30.0, step: float = 0.2):
    """Poll `predicate` until it returns something true, at most `timeout` seconds; return that."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value


def terminal_text(driver) -> str:
    return driver.execute_script(READ_TERMINAL) or ""


def test_keys_reach_the_tutor_without_a_click_and_the_page_loads_only_its_own_files(browser, web_server):
    base = f"http://127.0.0.1:{web_server.port}"
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NOTE_TERMINALS})
    browser.get(f"{base}/")
    assert wait_for(lambda: "step 1/9" in terminal_text(browser)), terminal_text(browser)
    # The terminal has the keyboard focus: nothing was clicked.
    assert wait_for(lambda: browser.execute_script(
        "return document.activeElement && document.activeElement.classList.contains('xterm-helper-textarea')"))
    before = browser.get_screenshot_as_png()

    ActionChains(browser).send_keys("l").perform()  # "l": the next step
    assert wait_for(lambda: "step 2/9" in terminal_text(browser)), terminal_text(browser)
    assert wait_for(lambda: browser.get_screenshot_as_png() != before)  # the canvas shows it too

    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(base + "/") for url in loaded), loaded
    assert any(url.endswith("RobotoMono-VariableFont_wght.ttf") for url in loaded), loaded
    assert browser.execute_script("return document.fonts.check('16px \"Roboto Mono\"')")
    problems = [entry["message"] for entry in browser.get_log("browser")
                if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]
    assert not problems, problems


def test_a_full_server_says_so_where_the_attendee_sees_it(browser, web_server):
    url = f"http://127.0.0.1:{web_server.port}/"
    browser.get(url)
    first = browser.current_window_handle
    assert wait_for(lambda: "-first-byte" in browser.find_element(By.TAG_NAME, "body").get_attribute("class"))

    browser.switch_to.new_window("tab")
    browser.get(url)
    message = browser.find_element(By.CSS_SELECTOR, ".closed-dialog .message")
    assert wait_for(lambda: message.is_displayed() and "full" in message.text), message.text
    assert message.text.startswith("Sorry, this workshop server is full (1 sessions in use).")
    assert "Session ended" not in browser.find_element(By.TAG_NAME, "body").text
    browser.close()
    browser.switch_to.window(first)
