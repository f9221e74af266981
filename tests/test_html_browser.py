"""The HTML report in a real browser (Debian's headless Chromium; .ci/run installs it).

1. A hostile log, DERIVED FROM THE REAL SAMPLE samples/p2p-keepalive-timeout/src-libvirtd.log
   (and its dst log): the domain name `tiny` and the error text `Lost connection to
   destination host` are replaced with strings carrying <script>, <img src=x onerror=…> and
   </textarea>.  The report is opened in Chromium; the DOM after load proves that no script
   from the log ran (it would have changed document.title or set data-xss on <body>), that no
   element came from the log text, and that the text is shown literally.  The report's own
   script did run (the CSP hash is right): it un-hides the filters and counts the rows.
2. A screenshot of the real keepalive report: not blank, and the verdict is in the page text.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from loganalyzer.analysis import analyze
from loganalyzer.report.html import to_html

ROOT = Path(__file__).resolve().parent.parent
KA = ROOT / "samples" / "p2p-keepalive-timeout"
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="headless browser test: /usr/bin/chromium is missing "
                                       "(apt-get install -y --no-install-recommends chromium; .ci/run does)")

# Each payload would leave a trace if it ran; the trace strings are built by concatenation
# so that they never appear literally in the page source.
DOMAIN = ("tiny<script>document.title='XSS'+'-RAN-1'</script>"
          "<img src=x onerror=\"document.body.setAttribute('data-'+'xss','2')\"></textarea>")
ERROR = ("Lost <script>document.title='XSS'+'-RAN-3'</script> connection "
         "<img src=x onerror=document.body.setAttribute('data-'+'xss','4')></textarea><b>bold</b>")


def chromium(args, tmp_path, timeout=30):
    ud = tmp_path / "chrome-profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={ud}"] + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    shutil.rmtree(ud, ignore_errors=True)
    return r


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    src = (KA / "src-libvirtd.log").read_text()
    assert src.count("Lost connection to destination host") >= 1 and "name=tiny" in src
    src = re.sub(r"\btiny\b", lambda m: DOMAIN, src).replace("Lost connection to destination host", ERROR)
    dst = re.sub(r"\btiny\b", lambda m: DOMAIN, (KA / "dst-libvirtd.log").read_text())
    (d / "src-libvirtd.log").write_text(src)
    (d / "dst-libvirtd.log").write_text(dst)
    a = analyze([str(d / "src-libvirtd.log"), str(d / "dst-libvirtd.log")])
    page = to_html(a)
    out = d / "report.html"
    out.write_text(page)
    return out, page, a


def test_hostile_log_text_stays_text(hostile_report, tmp_path):
    path, page, a = hostile_report
    # the analysis still found the failure, and the hostile strings reached the report
    assert any(m.verdict and m.verdict.cause == "dconn-keepalive-timeout" for m in a.migrations)
    assert "&lt;script&gt;document.title=" in page and "&lt;/textarea&gt;" in page
    assert page.count("<script") == 1 and "<img" not in page and "<textarea" not in page
    r = chromium(["--virtual-time-budget=2000", "--dump-dom", path.as_uri()], tmp_path)
    dom = r.stdout
    assert "<body" in dom, r.stderr[-2000:]
    # no script from the log ran
    assert "XSS-RAN" not in dom
    assert not re.search(r"<body[^>]*data-xss", dom)
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert "RAN" not in title.replace("'XSS'+'-RAN", "")     # the literal text may be there, not its result
    # no element came from the log: one script (ours), no img, no textarea, no <b> from the error text
    assert dom.count("<script") == 1 and "<img" not in dom and "<textarea" not in dom and "<b>bold" not in dom
    # the text is shown literally (serialized DOM text is escaped again)
    assert "&lt;script&gt;document.title='XSS'+'-RAN-1'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=document.body.setAttribute('data-'+'xss','4')&gt;&lt;/textarea&gt;" in dom
    # and our own script did run under the CSP: filters shown, rows counted
    assert re.search(r'<div class="filters" id="evfilters">', dom), "the report's script did not run"
    assert re.search(r'id="fcount">\d+ of \d+ rows<', dom)


def test_the_detector_sees_a_script_that_runs(tmp_path):
    """Control: the same payloads pasted unescaped into a page do run and leave their traces,
    so the checks above would catch a real escaping bug."""
    raw = tmp_path / "raw.html"
    raw.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body><p>{DOMAIN}</p><p>{ERROR}</p></body></html>")
    dom = chromium(["--virtual-time-budget=2000", "--dump-dom", raw.as_uri()], tmp_path).stdout
    assert "XSS-RAN" in dom and re.search(r"<body[^>]*data-xss", dom)


def test_screenshot_of_a_real_report(tmp_path):
    from matplotlib import image as mpimg
    import numpy as np
    a = analyze([str(KA / "src-libvirtd.log"), str(KA / "dst-libvirtd.log")])
    page = tmp_path / "report.html"
    page.write_text(to_html(a))
    shot = tmp_path / "shot.png"
    r = chromium(["--window-size=1300,1800", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()],
                 tmp_path)
    assert shot.exists(), r.stderr[-2000:]
    img = mpimg.imread(str(shot))
    assert img.shape[0] >= 1000 and img.shape[1] >= 1200
    flat = img.reshape(-1, img.shape[-1])
    assert len(np.unique(flat[:: max(1, len(flat) // 200000)], axis=0)) > 20, "the screenshot is blank"
    r = chromium(["--dump-dom", page.as_uri()], tmp_path)
    text = html.unescape(re.sub(r"<[^>]+>", " ", r.stdout))
    assert "dconn-keepalive-timeout" in text
    assert "src-libvirtd.log:6280" in text


def _only_the_headline_visible(page: str) -> str:
    """The report with everything but its headline hidden (visibility keeps the layout), for a
    screenshot that shows where the headline is.  The test copy drops the CSP: it adds a style."""
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page, count=1)
    hide = "<style>body *{visibility:hidden} h1.headline{visibility:visible}</style>"
    return page.replace("</head>", hide + "</head>", 1)


def _ink_rows(shot) -> "np.ndarray":
    """Rows of a screenshot that hold anything but the white page."""
    from matplotlib import image as mpimg
    import numpy as np
    img = mpimg.imread(str(shot))[..., :3]
    return np.where((img < 0.9).any(axis=2).any(axis=1))[0]


@pytest.mark.parametrize("scenario,words", [
    ("p2p-keepalive-timeout", ["destination libvirtd hung for 32 s"]),
    ("domjobabort", ["was cancelled"]),
])
def test_the_headline_is_above_the_fold(tmp_path, scenario, words):
    """Issue 16: the first 900 px of the HTML report (a 1300x900 window) show the headline."""
    d = ROOT / "samples" / scenario
    a = analyze([str(d / "src-libvirtd.log"), str(d / "dst-libvirtd.log")])
    page = to_html(a)
    head = re.search(r'<h1 class="headline">(.*?)</h1>', page, re.S)
    assert head and all(w in html.unescape(head.group(1)) for w in words)
    assert html.unescape(head.group(1)) == a.migrations[0].verdict.headline
    shots = {}
    for name, text in (("report", _only_the_headline_visible(page)),
                       # control: the same headline pushed below the fold leaves the window blank
                       ("control", _only_the_headline_visible(page).replace(
                           '<h1 class="headline">', '<h1 class="headline" style="margin-top:1000px">', 1))):
        f = tmp_path / f"{name}.html"
        f.write_text(text)
        shot = tmp_path / f"{name}.png"
        r = chromium(["--window-size=1300,900", "--hide-scrollbars", f"--screenshot={shot}", f.as_uri()], tmp_path)
        assert shot.exists(), r.stderr[-2000:]
        shots[name] = _ink_rows(shot)
    rows = shots["report"]
    assert len(rows) > 15 and rows.max() < 900, "the headline is not drawn within the first 900 px"
    assert len(shots["control"]) == 0
