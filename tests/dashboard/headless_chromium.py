"""Debian's Chromium, headless, under Selenium: what the dashboard's browser test and its render
benchmark (bench/dashboard_render.py) both start. Run with /usr/bin/python3 (python3-selenium)."""

import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

kChromedriver = "/usr/bin/chromedriver"
kChromium = "/usr/bin/chromium"
kWindow = (1400, 1000)


def start(profile_dir, extra_args=(), capabilities=None):
    """A headless Chromium with a fresh profile in `profile_dir` (which some flags, such as
    --ignore-certificate-errors-spki-list, need), a kWindow window, no first-run chrome, and
    `extra_args`; `capabilities` ({name: value}) set as well."""
    options = webdriver.ChromeOptions()
    if os.path.exists(kChromium):
        options.binary_location = kChromium
    for arg in ["--headless=new", "--disable-dev-shm-usage", "--window-size=%d,%d" % kWindow,
                "--user-data-dir=" + profile_dir, "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--password-store=basic", "--disable-background-networking"]:
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    for arg in extra_args:
        options.add_argument(arg)
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    return webdriver.Chrome(service=Service(executable_path=kChromedriver), options=options)
