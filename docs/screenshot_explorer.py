"""Take a screenshot of ``pbs-sim explore`` with headless Chromium (Debian's chromium and
chromium-driver, Selenium from the dev extras); README's and the tutorial's ``docs/explorer.png``.

    .venv/bin/python docs/screenshot_explorer.py                 # writes docs/explorer.png
    .venv/bin/python docs/screenshot_explorer.py --out shot.png --width 1400 --query "profile=ymmr&n=5"

Why not ``chromium --headless --screenshot http://localhost:5006/``: that page is an empty shell
until its scripts open a websocket to the server and the server sends the figures and controls,
and Chromium's ``--screenshot`` takes the picture at the page's load event, before any of that, so
it shows a blank page (``--virtual-time-budget`` does not wait for a websocket either). This script
starts the command on a free port, opens the page in Selenium, waits until the headline numbers are
in the page (they come with the first computed view), lets Bokeh paint, and saves the window.

The static explorer of the documentation site (docs/explorer.md) needs no server: a plain
``chromium --headless --virtual-time-budget=20000 --screenshot site/explorer.html`` works there
(and ``site/explorer.html?profile=ymmr&n=5&r=2`` chooses the view).
"""

from __future__ import annotations

import argparse
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
LOOKS = 600  # looks at the page (0.1 s apart) before giving up on the first view
# the headline is inside Panel's shadow roots: search them all
HEADLINE_JS = """
function find(root, sel) {
  const e = root.querySelector(sel); if (e) return e;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const f = find(el.shadowRoot, sel); if (f) return f; }
  }
  return null;
}
const table = find(document, '.pbs-table');
return find(document, '#pbs-headline') !== null && table !== null
  && (table.shadowRoot || table).querySelector('table') !== null;
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "explorer.png", help="the PNG to write")
    ap.add_argument("--query", default=QUERY, help="the page's URL query: the view to show")
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=1100)
    args = ap.parse_args(argv)
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
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={args.width},{args.height}",
                    "--hide-scrollbars"):
            opts.add_argument(arg)
        opts.binary_location = shutil.which("chromium") or "chromium"
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=opts)
        try:
            d.get(f"{url}?{args.query}")
            for _ in range(LOOKS):
                if d.execute_script(HEADLINE_JS):
                    break
                time.sleep(0.1)
            else:
                sys.exit("the explorer's first view never appeared")
            time.sleep(1.5)  # the numbers are in; let Bokeh paint the canvases
            d.save_screenshot(str(args.out))
        finally:
            d.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(args.out)


if __name__ == "__main__":
    main()
