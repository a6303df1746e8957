"""The course site: built in quick mode (running one notebook, 00), then read in a real browser.

The browser is Debian's Chromium with its ChromeDriver (``.ci/run`` installs both); without them the browser
tests are skipped, except in CI (``$CI`` set), where they fail. Screenshots go to ``build/screenshots/``.
"""

import functools
import json
import os
import shutil
import threading
import urllib.parse
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tltf import site

REPO = Path(__file__).resolve().parents[1]
EXECUTED = "00_what_is_transfer_learning"  # the notebook the test site runs: 20 s in quick mode, a figure, tables
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


class Links(HTMLParser):
    """Every ``href`` and ``src`` of a page."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found += [(tag, v) for k, v in attrs if k in ("href", "src") and v]


def references(page: Path) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    return site.build(out, execute_only={EXECUTED[:2]}, mode="quick"), out


@pytest.fixture(scope="module")
def pages(built):
    return sorted(p for p in built[1].rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def test_the_index_links_every_notebook_and_the_course_pages(built):
    index = [v for _, v in references(built[1] / "index.html")]
    for notebook in site.notebooks():
        assert f"notebooks/{notebook.stem}.html" in index, notebook.name
    for page in ("setup.html", "benchmarks.html", "licences.html"):
        assert page in index, page
    assert built[0]["mode"] == "quick" and list(built[0]["notebooks_s"]) == [f"{EXECUTED}.ipynb"]


def test_every_internal_link_resolves(built, pages):
    for page in pages:
        for tag, value in references(page):
            address = urllib.parse.urlsplit(value)
            if address.scheme or address.netloc or not address.path:
                continue  # another site (not fetched by the page, see test_site_loads_nothing_from_another_host)
            target = (page.parent / urllib.parse.unquote(address.path)).resolve()
            assert target.exists(), f"{page.relative_to(built[1])}: <{tag}> {value}"


def test_the_executed_page_shows_outputs_and_the_syllabus_its_times(built):
    page = (built[1] / "notebooks" / f"{EXECUTED}.html").read_text(encoding="utf-8")
    assert "_images/" in page and "cell_output" in page  # a figure of the run, and outputs
    assert "Run in Colab" in page and "colab.research.google.com/github/" in page
    home = (built[1] / "index.html").read_text(encoding="utf-8")
    assert "CPU lesson (recorded)" in home and "GPU times are not measured" in home


def test_a_failing_or_noisy_cell_stops_the_build_naming_the_cell(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import os, warnings"), nbformat.v4.new_code_cell("1 / 0")]
    notebook.cells[1].id = "divide"
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(site.NotebookFailed, match=r"broken.ipynb, cell 2 \(id divide\) raised ZeroDivisionError"):
        site.execute(path, tmp_path / "out" / path.name, tmp_path / "logs", mode="quick")
    notebook.cells[1] = nbformat.v4.new_code_cell("warnings.warn('careful')")
    nbformat.write(notebook, path)
    with pytest.raises(site.NotebookFailed, match=r"cell 2 .* wrote to stderr: .*UserWarning: careful"):
        site.execute(path, tmp_path / "out" / path.name, tmp_path / "logs", mode="quick")


def test_what_the_process_writes_to_its_stderr_goes_to_the_log_not_the_page(tmp_path):
    notebook = nbformat.v4.new_notebook()  # as TensorFlow's C++ runtime writes: to file descriptor 2
    notebook.cells = [nbformat.v4.new_code_cell("import os\nos.write(2, b'I0000 from the runtime\\n')\nprint('ok')")]
    path = tmp_path / "noisy.ipynb"
    nbformat.write(notebook, path)
    site.execute(path, tmp_path / "out" / path.name, tmp_path / "logs", mode="quick")
    executed = nbformat.read(tmp_path / "out" / path.name, as_version=4)
    assert [o.get("text") for o in executed.cells[0].outputs] == ["ok\n"]
    assert "I0000 from the runtime" in (tmp_path / "logs" / "noisy.log").read_text(encoding="utf-8")


def test_a_page_that_would_fetch_from_another_host_is_found(tmp_path):
    (tmp_path / "a.html").write_text(
        '<link rel="canonical" href="https://example.org/"><a href="https://keras.io">Keras</a>'
        '<link href="https://cdn.example.org/s.css" rel="stylesheet"><link rel="stylesheet" href="_static/ok.css">'
        '<script src="https://cdn.example.org/x.js"></script><img src="//example.org/i.png">'
        '<img src="_images/ok.png" srcset="_images/ok.png 1x, https://example.org/i2.png 2x">',
        encoding="utf-8",
    )
    (tmp_path / "b.css").write_text(
        "@import 'https://fonts.example.org/f.css'; @font-face { src: url('https://fonts.example.org/f.woff2') }"
        " .x { background: url(../_static/ok.png) }",
        encoding="utf-8",
    )
    assert site.external(tmp_path) == [
        "a.html: https://cdn.example.org/s.css",
        "a.html: https://cdn.example.org/x.js",
        "a.html: //example.org/i.png",
        "a.html: https://example.org/i2.png",
        "b.css: https://fonts.example.org/f.css",
        "b.css: https://fonts.example.org/f.woff2",
    ]


def test_unknown_notebooks_and_a_folder_that_is_no_site_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"No notebook numbered \['9'\]"):
        site.build(tmp_path / "site", execute_only={"9"}, mode="quick")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="not empty and holds no site"):
        site.build(tmp_path / "mine", execute_only=set(), mode="quick")
    assert (tmp_path / "mine" / "thesis.tex").exists()


# ---- in the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium and chromium-driver (.ci/run installs them)")
        pytest.skip("no chromium / chromedriver here (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))  # no driver download
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(built):
    """The site over HTTP on 127.0.0.1 (search reads its index with fetch, which file:// pages cannot)."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(built[1]))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def requests_and_errors(driver) -> tuple[list[str], list[str]]:
    """The addresses the page requested and its console errors since the last call (the logs clear on reading)."""
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return requested, errors


FIGURES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
Promise.all(images.map(i => i.decode().then(() => i.naturalWidth > 0, () => false)))
  .then(ok => done(images.map((image, k) => [image.src, ok[k]])));
"""


def test_every_page_loads_cleanly_with_its_figures_and_nothing_from_another_host(browser, served, pages, built):
    requests_and_errors(browser)
    for page in pages:
        name = page.relative_to(built[1]).as_posix()
        browser.get(f"{served}/{name}")
        figures = browser.execute_async_script(FIGURES)
        assert all(ok for _, ok in figures), (name, figures)
        assert not browser.find_elements("css selector", ".output.stderr, .output.traceback, .output.error"), name
        requested, errors = requests_and_errors(browser)
        assert errors == [], (name, errors)
        outside = [a for a in requested if not a.startswith((served, "data:", "blob:"))]
        assert outside == [], (name, outside)
    shots = REPO / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for page in ("index", f"notebooks/{EXECUTED}"):
        browser.get(f"{served}/{page}.html")
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        browser.save_screenshot(str(shots / f"{Path(page).name}.png"))
    assert any("/_images/" in src for src, _ in browser.execute_async_script(FIGURES))  # the run's figure


def test_no_page_scrolls_sideways_on_a_phone(browser, served, pages, built):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        for page in pages:
            browser.get(f"{served}/{page.relative_to(built[1]).as_posix()}")
            wide = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert wide[0] <= wide[1], (page.name, wide)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize(("word", "notebook"), [("TENT", "08_shifted_domains"), ("MiniLM", "05_text_transfer")])
def test_search_finds_a_lesson_by_its_words(browser, served, word, notebook):
    browser.get(f"{served}/search.html?q={word}")
    selector = f'#search-results a[href*="{notebook}"]'
    WebDriverWait(browser, 30).until(lambda d: d.find_elements("css selector", selector))


def test_a_page_opened_from_the_folder_with_the_network_off_shows_every_figure(browser, built):
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    try:
        for page in ("index.html", f"notebooks/{EXECUTED}.html"):
            browser.get((built[1] / page).as_uri())
            figures = browser.execute_async_script(FIGURES)
            assert all(ok for _, ok in figures), (page, figures)
        assert any("/_images/" in src for src, _ in figures), figures
        browser.get((built[1] / "search.html").as_uri() + "?q=TENT")  # search from the folder (no excerpts)
        selector = '#search-results a[href*="08_shifted_domains"]'
        WebDriverWait(browser, 30).until(lambda d: d.find_elements("css selector", selector))
    finally:
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
