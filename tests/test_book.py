"""The built book as a reader sees it, in a real headless browser (Debian's chromium, driven by
Playwright; make test runs this in its smoke copy with HYPERSCALE_PIPELINE=1 after the book is
built). Every page opens without a console error, loads nothing from the internet, has no broken
internal link or anchor, and shows its figures: each image loads, is not blank, and has alt text
that describes it. A screenshot of each chapter's first screen goes to test-artifacts/."""
import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import nbformat
import pytest

ROOT = Path.cwd()
HTML = ROOT / "book/_build/html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(os.environ.get("HYPERSCALE_PIPELINE") != "1" or not HTML.exists(),
                                reason="reads a freshly built book only (make test)")
# Pages Sphinx makes for itself, not chapters.
SKIP = {"genindex.html", "search.html"}
SHOTS = ROOT / "test-artifacts/screenshots"


@pytest.fixture(scope="module")
def site():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("no chromium: run `make test` (it installs Debian's chromium) or apt-get install chromium")
    with sync_playwright() as pw:
        # Flags that keep chromium from calling home, which this offline machine refuses.
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def pages() -> list[str]:
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if p.name not in SKIP and "_static" not in p.parts and "_sources" not in p.parts)


def ids(page: str) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', (HTML / page).read_text()))


def expected_figures(page: str) -> int:
    """The images the notebook behind a generated page holds (0 for other pages)."""
    nb = ROOT / "book" / Path(page).with_suffix(".ipynb")
    if not nb.exists():
        return 0
    cells = nbformat.read(nb, as_version=4).cells
    return sum("image/png" in o.get("data", {}) for c in cells if c.cell_type == "code" for o in c.outputs)


def test_every_page_reads_offline_without_errors(site, browser):
    assert len(pages()) >= 5
    problems, shot = [], 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    for page in pages():
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        external = []

        def route(r, external=external):
            if urlparse(r.request.url).hostname in ("127.0.0.1", None):
                return r.continue_()
            external.append(r.request.url)
            return r.abort()

        tab.route("**/*", route)
        errors = []
        tab.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        tab.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        tab.goto(site + page, wait_until="networkidle")
        page = unquote(urlparse(tab.url).path).lstrip("/") or "index.html"  # where a redirect led
        problems += [f"{page}: loads {u} from the internet" for u in external]
        problems += [f"{page}: console error: {e}" for e in errors]

        images = tab.eval_on_selector_all("main img", """els => els.map(e => ({
            src: e.getAttribute('src'), alt: e.getAttribute('alt') || '', ok: e.complete && e.naturalWidth > 0}))""")
        for img in images:
            if not img["ok"]:
                problems.append(f"{page}: image {img['src']} does not load")
            if not img["alt"] or re.search(r"\.(png|svg|jpe?g)$|^[0-9a-f]{16,}", img["alt"]):
                problems.append(f"{page}: image {img['src']} has no descriptive alt text ({img['alt']!r})")
        blank = tab.eval_on_selector_all("main img", """els => els.filter(e => e.naturalWidth > 0).map(e => {
            const c = document.createElement('canvas'); c.width = e.naturalWidth; c.height = e.naturalHeight;
            const g = c.getContext('2d'); g.drawImage(e, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i+1] !== d[1] || d[i+2] !== d[2]) return null;
            return e.getAttribute('src'); }).filter(s => s)""")
        problems += [f"{page}: image {s} is blank (one colour)" for s in blank]
        want = expected_figures(page)
        if want and len(images) < want:
            problems.append(f"{page}: shows {len(images)} figures; its notebook holds {want}")

        for href in tab.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            url, frag = urldefrag(href)
            if urlparse(href).scheme or href.startswith("//") or href.startswith("mailto:"):
                continue  # external links are the reader's to follow; none is loaded
            target = os.path.normpath(os.path.join(os.path.dirname(page), unquote(url))) if url else page
            if not (HTML / target).is_file():
                problems.append(f"{page}: broken link {href}")
            elif frag and target.endswith(".html") and unquote(frag) not in ids(target):
                problems.append(f"{page}: link {href} points to a missing anchor")
        if page.endswith("generated/index.html"):  # the landing page opens with the findings, readable whole
            fits = tab.evaluate("""() => {
                const t = [...document.querySelectorAll('main table')].find(t => t.textContent.includes('central claim'));
                return t ? t.getBoundingClientRect().width <= t.parentElement.clientWidth + 1 : null; }""")
            if not fits:
                problems.append(f"{page}: the findings table is " + ("missing" if fits is None else "wider than its column"))
        if want:  # a chapter: its first screen, as a reader opens it
            tab.screenshot(path=str(SHOTS / (page.replace("/", "_")[:-5] + ".png")))
            shot += 1
        tab.close()
    assert not problems, f"{len(problems)} problems in the book:\n" + "\n".join(problems[:40])
    assert shot >= 2


def test_the_book_names_no_tracker_issue():
    """Readers cannot open the study's tracker: a built page names dates and commits, never 'issue N'."""
    found = {p: m for p in pages() for m in [re.search(r"\bissues? \d+", (HTML / p).read_text())] if m}
    assert not found, {p: m.group() for p, m in found.items()}
