"""Screenshots of the web UI for docs/ui.md, from a store of the example articles.

    .venv/bin/python scripts/ui_screenshots.py [--out docs/img] [--chromium /usr/bin/chromium]

Ingests ``examples/articles`` and ``examples/multi_outlet/articles`` into a throwaway store,
starts ``incidex serve`` on 127.0.0.1 and has Debian's headless Chromium draw each page at a
desktop width and at 375 px (a phone). Nothing is downloaded; the PNGs are written to ``--out``.
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [  # (file stem, path, width, height)
    ("list", "/", 1280, 900),
    ("list-375", "/", 375, 1200),
    ("facets", "/?type=ransomware&type=ddos&not_country=US", 1280, 900),
    ("timeline", "/timeline", 1280, 1000),
    ("graph", "/graph", 1280, 1000),
    ("stats", "/stats", 1280, 1100),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server at {url} did not answer within {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    incidex = [sys.executable, "-m", "incidex"]
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/ui.db"
        for folder in ("examples/articles", "examples/multi_outlet/articles"):
            subprocess.run(incidex + ["ingest", "--db", db, str(ROOT / folder)], check=True,
                           stdout=subprocess.DEVNULL)
        port = _free_port()
        server = subprocess.Popen(incidex + ["serve", "--db", db, "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/")
            for k, (stem, path, width, height) in enumerate(PAGES, 1):
                target = args.out / f"{stem}.png"
                subprocess.run([args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                f"--window-size={width},{height}", f"--screenshot={target}", base + path],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
                print(f"[{k}/{len(PAGES)}] {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
