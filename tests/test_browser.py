"""The notebook apps in a real JupyterLab, in headless Chromium, driven by Playwright.

Run with ``pytest -m browser tests/test_browser.py -p no:warnings --basetemp=.tmp/pytest``.
Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package; Playwright cannot download browsers
here), ``playwright`` and ``jupyterlab``; skipped with the reason otherwise. Set
``S2P_SCREENSHOT_DIR`` to also keep the screenshots there.

``01_colorize.ipynb`` (copied into a temporary folder, with small parameters injected) is run with
the Run menu; then a vivid magenta hint is clicked onto the canvas, Colorize is pressed and Save
writes the result. The checks:

* the variant images were replaced (new ``blob:`` sources) after the hint and after Colorize;
* the saved hints hold one point where the canvas was clicked, in the picked color;
* what the browser shows is the saved result, and the saved result is what the library computes
  for that sketch, those references and those hints (so the click reached the model intact);
* the click works like a paint bucket: the whole face region (of the sketch's region map), far
  beyond the clicked disc, moves toward the hint color, and the rest of the picture does not;
* the hint's color shows at the clicked place: compared with the first, unhinted coloring, the
  result there moved toward magenta. This one depends on the weights following hints; when the
  library itself (same weights, no browser) does not move toward the hint either, the test is
  marked xfail with the measured distances instead of failing.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path(os.environ.get("S2P_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SAMPLE = ROOT / "sample_data"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
nbformat = pytest.importorskip("nbformat")

CHROMIUM_ARGS = [
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-sandbox",
]
APP_SIZE = 128  # processing size in the app: small so that the test runs fast on a CPU
HINT = (255, 0, 255)  # magenta: far from anything the sample references contain
CLICK = (0.5, 0.47)  # fraction of the canvas: the girl's face, a large closed region
RADIUS = 0.03  # hint size set in the app


# ---------------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _inject(src: Path, dst: Path, overrides: dict[str, object]) -> None:
    nb = nbformat.read(src, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    cell = nbformat.v4.new_code_cell("# injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items()))
    cell["id"] = "injected-parameters"
    nb.cells.insert(index + 1, cell)
    nbformat.write(nb, dst)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free loopback port, isolated from the user's Jupyter settings."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    saved = root / "colorized"  # the notebook's folder is the kernel's working directory
    _inject(NOTEBOOKS / "01_colorize.ipynb", root / "01_colorize.ipynb",
            {"SIZE": APP_SIZE, "N_REFERENCES": 3, "APP_REFERENCES": 2, "SAVE_DIR": "colorized"})
    _inject(NOTEBOOKS / "03_feature_transfer.ipynb", root / "03_feature_transfer.ipynb",
            {"SIZE": APP_SIZE, "GROUPS": 4, "STEPS": 3, "REFERENCES": ["sunset", "ocean_beach"]})
    settings = base / "settings"
    notify = settings / "@jupyterlab" / "apputils-extension"
    notify.mkdir(parents=True)
    (notify / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ)
    for name in ("config", "runtime", "data"):
        (base / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(base / name)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    port, token = _free_port(), uuid.uuid4().hex
    log = open(base / "server.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
         f"--LabApp.workspaces_dir={base / 'workspaces'}", f"--LabApp.user_settings_dir={settings}",
         "--LabApp.news_url=None"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (base / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"url": url, "token": token, "root": root, "saved": saved, "base": base}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def chromium_browser():
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---------------------------------------------------------------------------------- helpers


def _open_and_run_all(page, lab, name: str, timeout_ms: int = 600_000) -> None:
    page.goto(f"{lab['url']}/lab/tree/{name}?token={lab['token']}&reset")
    # Run All right after load is lost unless the kernel is really there (the recipe's pitfall 1)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-NotebookPanel-toolbar .jp-KernelName')]
                 .some(e => e.textContent.includes('Python 3'))""", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status=idle]", timeout=120_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    # finished: every code cell has a number in its prompt and none shows [*]
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=timeout_ms, polling=500)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t]
    assert not tracebacks, tracebacks[:1]


def _srcs(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('src') || '')")


def _wait_new_srcs(page, selector: str, old: list[str], count: int, timeout_ms: int = 180_000) -> list[str]:
    page.wait_for_function(
        """([sel, old, count]) => {
            const s = [...document.querySelectorAll(sel)].map(e => e.getAttribute('src') || '');
            return s.length === count && s.every(x => x.startsWith('blob:') && !old.includes(x));
        }""", arg=[selector, old, count], timeout=timeout_ms, polling=250)
    return _srcs(page, selector)


def _image_bytes(page, selector: str) -> list[np.ndarray]:
    """Decode the images the browser shows (their blob: URLs fetched inside the page)."""
    from PIL import Image

    encoded = page.evaluate(
        """async (sel) => {
            const out = [];
            for (const img of document.querySelectorAll(sel)) {
                const buf = await (await fetch(img.src)).arrayBuffer();
                let s = ''; const bytes = new Uint8Array(buf);
                for (let i = 0; i < bytes.length; i += 32768) s += String.fromCharCode(...bytes.subarray(i, i + 32768));
                out.push(btoa(s));
            }
            return out;
        }""", selector)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(e))).convert("RGB")) for e in encoded]


def _status(page) -> str:
    return page.inner_text(".s2p-colorize-app .s2p-status")


def _screenshot(page, locator, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    locator.screenshot(path=str(path))
    keep = os.environ.get("S2P_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def _disc_mean(rgb: np.ndarray, fx: float, fy: float, radius_px: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    disc = (xx + 0.5 - fx * w) ** 2 + (yy + 0.5 - fy * h) ** 2 <= radius_px**2
    return rgb[disc].reshape(-1, 3).astype(np.float64).mean(axis=0)


# ---------------------------------------------------------------------------------- the session


@pytest.fixture(scope="module")
def colorize_session(lab, chromium_browser, tmp_path_factory):
    """Run notebook 01 in JupyterLab, click a hint, Colorize, Save; collect what happened."""
    shots = tmp_path_factory.mktemp("screenshots")
    page = chromium_browser.new_page(viewport={"width": 1500, "height": 2400})
    page.set_default_timeout(60_000)
    try:
        _open_and_run_all(page, lab, "01_colorize.ipynb")
        app = page.locator(".s2p-colorize-app")
        app.wait_for()
        variant = ".s2p-colorize-app img.s2p-variant"
        page.wait_for_function("(sel) => document.querySelectorAll(sel).length === 2", arg=variant)
        first_srcs = _srcs(page, variant)
        assert all(s.startswith("blob:") for s in first_srcs), first_srcs
        plain = _image_bytes(page, variant)

        # a vivid color, a bigger dot, then one click on the canvas
        page.locator(".s2p-colorize-app .s2p-color input[type=color]").fill("#ff00ff")
        slider_text = page.locator(".s2p-colorize-app .s2p-hint-size .widget-readout")
        slider_text.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(f"{RADIUS}")
        page.keyboard.press("Enter")
        # recolor only on Colorize, so that the new images below come from the button
        page.locator(".s2p-colorize-app .s2p-live input[type=checkbox]").uncheck()
        canvas = page.locator("canvas.s2p-hint-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        # a locator click waits until the canvas holds still and is what receives the click there
        canvas.click(position={"x": CLICK[0] * box["width"], "y": CLICK[1] * box["height"]})
        page.wait_for_function("() => document.querySelector('.s2p-colorize-app').innerText.includes('1 hint')")
        assert _srcs(page, variant) == first_srcs  # nothing recolored yet

        page.click(".s2p-colorize-app button.s2p-colorize")
        after_colorize = _wait_new_srcs(page, variant, first_srcs, 2)
        page.wait_for_function(
            "() => document.querySelector('.s2p-colorize-app .s2p-status').innerText.includes('with 1 hint')")
        hinted = _image_bytes(page, variant)
        page.mouse.move(0, 0)
        shot = _screenshot(page, app, shots, "colorize_app.png")  # before Save: no temporary paths in it

        page.click(".s2p-colorize-app button.s2p-save")
        page.wait_for_function("() => document.querySelector('.s2p-colorize-app .s2p-saved').innerText.includes('hints.json')")
        page.wait_for_function("() => document.querySelector('.s2p-colorize-app .s2p-status').innerText.includes('saved ')")
        status = _status(page)

        # the why? tool: a click shows what the clicked region took from each reference, no hint
        page.locator(".s2p-colorize-app .s2p-mode button", has_text="why?").click()
        canvas.click(position={"x": CLICK[0] * box["width"], "y": CLICK[1] * box["height"]})
        why = ".s2p-colorize-app .s2p-why"
        page.wait_for_function("(sel) => document.querySelector(sel).innerText.includes('Region')", arg=why)
        page.mouse.move(0, 0)
        _screenshot(page, page.locator(why), shots, "why_tool.png")
        result_why = {"why_text": page.inner_text(why),
                      "why_references": page.locator(f"{why} img.s2p-why-reference").count(),
                      "why_candidates": page.locator(f"{why} .s2p-why-candidate").count(),
                      "app_text": page.inner_text(".s2p-colorize-app")}
        result = {**result_why,
            "first_srcs": first_srcs, "after_colorize": after_colorize,
            "plain": plain, "hinted": hinted, "status": status, "screenshot": shot, "saved": lab["saved"],
            "canvas_box": box,
        }
    except Exception:
        page.screenshot(path=str(shots / "failure.png"), full_page=True)
        raise
    finally:
        page.close()
    return result


def test_colorize_app_round_trip(colorize_session):
    s = colorize_session
    assert len(set(s["first_srcs"] + s["after_colorize"])) == 4  # new blobs for both variants
    assert "saved 5 files" in s["status"]  # two variants, their palettes and the hints
    assert s["screenshot"].stat().st_size > 10_000

    saved = s["saved"]
    hints = json.loads((saved / "girl_portrait__hints.json").read_text())
    (point,) = hints["points"]
    assert point["rgb"] == list(HINT)
    assert abs(point["x"] - CLICK[0]) < 0.01 and abs(point["y"] - CLICK[1]) < 0.01, point
    assert point["radius"] == pytest.approx(RADIUS)

    from PIL import Image

    from s2p_lab import Colorizer
    from s2p_lab.widgets.common import thumbnail

    names = ["autumn_leaves", "cherry_blossom"]  # the first two sample styles: APP_REFERENCES = 2
    files = [saved / f"girl_portrait__{n}.png" for n in names]
    results = [np.asarray(Image.open(f).convert("RGB")) for f in files]
    # what the browser shows is the saved result (the variants are sent at twice their shown width)
    for shown, full in zip(s["hinted"], results):
        small = thumbnail(full, max(shown.shape[:2]))
        assert small.shape == shown.shape
        assert np.abs(small.astype(int) - shown).max() <= 1
    # ... and the saved result is what the library computes from the saved hints (the kernel ran
    # its edits level-wise, in the precision this process runs: the same S2P_PRECISION, the same
    # CPU; refined, soft)
    from model_helpers import assert_same_refined, tolerance_of

    colorizer = Colorizer.from_pretrained()
    expected = colorizer.colorize(SAMPLE / "sketches" / "girl_portrait.png",
                                  styles=[SAMPLE / "styles" / f"{n}.png" for n in names],
                                  hints=saved / "girl_portrait__hints.json", size=APP_SIZE)
    for got, want in zip(results, expected):
        assert_same_refined(got, want, tolerance_of(colorizer), "the app in the browser vs the library")


def test_the_why_tool_shows_what_the_clicked_region_took(colorize_session):
    s = colorize_session
    text = s["why_text"]
    assert "Region" in text and "took" in text, text
    assert "your color wins" in text, "the magenta hint lies in the clicked face region"
    assert s["why_references"] == 2 and 2 <= s["why_candidates"] <= 6, s
    assert "1 hint" in s["app_text"] and "2 hints" not in s["app_text"], "the why? click placed no hint"


def test_hint_color_shows_at_the_clicked_place(colorizer_distances):
    d = colorizer_distances
    report = (f"distance to the hint color at the click: browser {d['plain']:.1f} -> {d['hinted']:.1f}; "
              f"library alone {d['lib_plain']:.1f} -> {d['lib_hinted']:.1f}")
    print(report)
    if d["hinted"] < d["plain"] - 5:
        return
    if not d["lib_hinted"] < d["lib_plain"] - 5:
        pytest.xfail("these weights do not follow hints (the library alone shows the same): " + report)
    pytest.fail("the library follows the hint but the app's result does not: " + report)


def test_a_click_on_the_face_colors_the_whole_face(colorize_session):
    """The default refinement works like a paint bucket: the whole face region moves toward the
    hint color, far beyond the clicked disc, and the rest of the picture mostly does not."""
    from scipy import ndimage

    from s2p_lab import Colorizer

    s = colorize_session
    plain, hinted = (s["plain"][0].astype(float), s["hinted"][0].astype(float))
    h, w = hinted.shape[:2]
    colorizer = Colorizer.from_pretrained()
    prepared = colorizer.prepare_sketch(SAMPLE / "sketches" / "girl_portrait.png", APP_SIZE)
    regions = colorizer.regions(prepared).resized(h, w)
    near_line = ndimage.binary_dilation(regions.lines, iterations=2)
    face = (regions.labels == regions.at(*CLICK)) & ~near_line
    yy, xx = np.mgrid[:h, :w]
    far = face & (np.hypot(xx + 0.5 - CLICK[0] * w, yy + 0.5 - CLICK[1] * h) > 2.5 * RADIUS * max(h, w))
    hint = np.array(HINT, float)
    moved = np.linalg.norm(hinted - hint, axis=-1) < np.linalg.norm(plain - hint, axis=-1) - 40
    assert far.sum() > 100, "the face region should reach well beyond the clicked disc"
    assert moved[far].mean() > 0.8, f"only {moved[far].mean():.0%} of the face away from the click took the hint"
    elsewhere = ~ndimage.binary_dilation(regions.labels == regions.at(*CLICK), iterations=3)
    assert moved[elsewhere].mean() < 0.2, f"{moved[elsewhere].mean():.0%} of the rest moved toward the hint"


@pytest.fixture(scope="module")
def colorizer_distances(colorize_session):
    """Distance (RGB) between the hint color and the result around the click, with and without."""
    from s2p_lab import Colorizer, Hints

    s = colorize_session
    shown = s["hinted"][0]
    h, w = shown.shape[:2]
    radius = 0.6 * RADIUS * max(h, w)  # the inner part of the hint disc
    hint = np.array(HINT, float)
    dist = lambda img: float(np.linalg.norm(_disc_mean(img, *CLICK, max(radius, 1.5)) - hint))  # noqa: E731
    plain = np.mean([dist(img) for img in s["plain"]])
    hinted = np.mean([dist(img) for img in s["hinted"]])
    colorizer = Colorizer.from_pretrained()
    hints = Hints()
    hints.add_point(*CLICK, HINT, RADIUS)
    sketch = SAMPLE / "sketches" / "girl_portrait.png"
    styles = [SAMPLE / "styles" / "autumn_leaves.png", SAMPLE / "styles" / "cherry_blossom.png"]
    lib_plain = [np.asarray(i) for i in colorizer.colorize(sketch, styles=styles, size=APP_SIZE)]
    lib_hinted = [np.asarray(i) for i in colorizer.colorize(sketch, styles=styles, hints=hints, size=APP_SIZE)]
    lib_r = 0.6 * RADIUS * max(lib_plain[0].shape[:2])
    ldist = lambda img: float(np.linalg.norm(_disc_mean(img, *CLICK, max(lib_r, 1.5)) - hint))  # noqa: E731
    return {
        "plain": plain, "hinted": hinted,
        "lib_plain": float(np.mean([ldist(i) for i in lib_plain])),
        "lib_hinted": float(np.mean([ldist(i) for i in lib_hinted])),
    }


def test_transfer_explorer_click_shows_attention(lab, chromium_browser, tmp_path):
    page = chromium_browser.new_page(viewport={"width": 1500, "height": 2400})
    page.set_default_timeout(60_000)
    try:
        _open_and_run_all(page, lab, "03_feature_transfer.ipynb")
        explorer = page.locator(".s2p-transfer-explorer")
        explorer.wait_for()
        reference = ".s2p-transfer-explorer img.s2p-transfer-reference"
        page.wait_for_function("(sel) => (document.querySelector(sel)?.getAttribute('src') || '').startsWith('blob:')",
                               arg=reference)
        before = _srcs(page, reference)
        canvas = page.locator("canvas.s2p-transfer-output")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        # not page.mouse.click at the box: with cells still laid out below, the canvas could move
        canvas.click(position={"x": 0.5 * box["width"], "y": 0.15 * box["height"]})
        # the caption names the clicked point once its render is shown (an initial render still
        # arriving under load may change the image first)
        page.wait_for_function(
            "() => document.querySelector('.s2p-transfer-explorer').innerText.includes('output point (0.50, 0.15)')",
            timeout=180_000, polling=250)
        _wait_new_srcs(page, reference, before, 1)
        caption = explorer.inner_text()
        assert "output point (0.50, 0.15)" in caption, caption[-500:]
        toggle = page.locator(".s2p-transfer-explorer button.s2p-group-toggle").first
        toggle.click()
        page.wait_for_function(
            "() => document.querySelector('.s2p-transfer-explorer .s2p-status').innerText.includes('groups off: 1')")
        toggle.click()
        page.wait_for_function(
            """() => {
                const t = document.querySelector('.s2p-transfer-explorer .s2p-status').innerText;
                return t.includes('rendered in') && !t.includes('groups off');
            }""")
        page.mouse.move(0, 0)
        shot = _screenshot(page, explorer, tmp_path, "transfer_explorer.png")
        assert shot.stat().st_size > 10_000
    finally:
        page.close()
