"""Take README's screenshot of ``pbs-sim explore`` with headless Chromium (Debian's chromium and
chromium-driver, Selenium from the dev extras).

    .venv/bin/python docs/screenshot_explorer.py   # writes docs/explorer.png
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = Path(__file__).resolve().parent
QUERY = ("profile=lnkd-disk&n=4&r=2&w=1&max_read_ms=5&max_write_ms=40&max_t_visibility_ms=10"
         "&min_availability=0.9999")


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "pbs_sim", "explore", "--port", str(port), "--no-browser"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://localhost:{port}/"
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        opts = webdriver.ChromeOptions()
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000", "--hide-scrollbars"):
            opts.add_argument(arg)
        opts.binary_location = shutil.which("chromium") or "chromium"
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=opts)
        try:
            d.get(f"{url}?{QUERY}")
            time.sleep(6)  # let the first view (grid samples for N = 3..5) and Bokeh render
            d.save_screenshot(str(HERE / "explorer.png"))
        finally:
            d.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(HERE / "explorer.png")


if __name__ == "__main__":
    main()
