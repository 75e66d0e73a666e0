"""HTML pages and URLs: main text extracted with metadata, furniture left out, fetched only from a
local HTTP server on 127.0.0.1 (never the internet).

The pages under tests/data/pages/ are invented; they imitate an Indonesian portal and an English
news site (navigation, breadcrumbs, captions, ads, read-also and related blocks, comments, paywall).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kontak_nlp import InputError, classify_article, segment
from kontak_nlp.cli import main
from kontak_nlp.jobs import JobConfig, run_job
from kontak_nlp.text.fetch import DEFAULT_USER_AGENT, FetchConfig, FetchError, fetch, fetch_page
from kontak_nlp.text.html import extract_page, looks_like_html

PAGES = Path(__file__).parent / "data" / "pages"
NAMES = ["portal_id", "site_en"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def page_html(name: str) -> str:
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


def page_gold(name: str) -> dict[str, Any]:
    return json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_html_pages_give_the_main_text_and_no_furniture(name: str) -> None:
    gold = page_gold(name)
    seg = segment(page_html(name))
    assert seg.page is not None and seg.text == seg.page.text
    for unit in seg.units:
        assert seg.text[unit.start : unit.end] == unit.text
    found = sum(sentence in seg.texts for sentence in gold["main"])
    assert found / len(gold["main"]) >= 0.98, sorted(set(gold["main"]) - set(seg.texts))
    leaked = [(snippet, t) for t in seg.texts for snippet in gold["furniture"] if snippet in t]
    assert not leaked


@pytest.mark.parametrize("name", NAMES)
def test_html_metadata(name: str) -> None:
    gold = page_gold(name)
    page = extract_page(page_html(name), url=f"http://127.0.0.1/{name}.html")
    meta = page.metadata()
    assert {k: meta[k] for k in ("title", "author", "date", "site")} == {
        k: gold[k] for k in ("title", "author", "date", "site")
    }
    assert meta["url"] == f"http://127.0.0.1/{name}.html"
    assert page.text.splitlines()[0] == gold["title"]
    assert page.text.count(gold["title"]) == 1


def test_format_argument_and_detection() -> None:
    html = page_html("portal_id")
    assert looks_like_html(html) and looks_like_html("  <html><body><p>a</p></body></html>")
    assert not looks_like_html("Menlu tiba di <b>Tokyo</b>. Ia disambut.")
    as_text = segment(html, format="text")
    assert as_text.page is None and as_text.text == html
    assert segment(html, format="html").texts == segment(html).texts
    with pytest.raises(ValueError, match="format must be one of"):
        segment("Menlu tiba.", format="pdf")


def test_page_without_article_text_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="no article text found"):
        segment("<html><head><title></title></head><body></body></html>")
    assert segment("<html><body><nav><a href='/'>Beranda</a></nav></body></html>").texts == []
    with pytest.raises(InputError, match="expected str or bytes"):
        extract_page(42)  # type: ignore[arg-type]


def test_classify_article_on_html_keeps_metadata_and_offsets(tiny_classifier: Any) -> None:
    result = classify_article(page_html("site_en"), model=tiny_classifier)
    assert result.page is not None and result.page.site == "The Daily Ledger"
    assert result.text == result.page.text
    for sentence in result.sentences:
        assert result.text[sentence.start : sentence.end] == sentence.text
    assert {b.reason for b in result.boilerplate} >= {"advert", "paywall"}
    with pytest.raises(InputError, match="exactly one of text or url"):
        classify_article()
    with pytest.raises(InputError, match="exactly one of text or url"):
        classify_article("Menlu tiba.", url="http://127.0.0.1/")


class _Handler(http.server.BaseHTTPRequestHandler):
    """Test pages, a 404, a PDF, an oversized page, a slow page and a redirect."""

    seen_agents: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.seen_agents.append(self.headers.get("User-Agent", ""))
        name = self.path.strip("/")
        if name in NAMES:
            self._send(200, "text/html; charset=utf-8", page_html(name).encode("utf-8"))
        elif name == "latin1":
            body = "<html><body><article><p>Menlu tiba di Bogotá pada hari Senin untuk membahas kerja sama " \
                   "energi dan perdagangan kedua negara.</p></article></body></html>"  # fmt: skip
            self._send(200, "text/html; charset=iso-8859-1", body.encode("latin-1"))
        elif name == "report.pdf":
            self._send(200, "application/pdf", b"%PDF-1.4")
        elif name == "big":
            self._send(200, "text/html", b"<html><body>" + b"x" * 5000 + b"</body></html>")
        elif name == "slow":
            time.sleep(1.5)
            self._send(200, "text/html", b"<html></html>")
        elif name == "moved":
            self.send_response(302)
            self.send_header("Location", "/site_en")
            self.end_headers()
        else:
            self._send(404, "text/html", b"<html><body>Not found</body></html>")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_sends_the_user_agent_and_follows_redirects(server: str) -> None:
    fetched = fetch(f"{server}/moved")
    assert fetched.final_url == f"{server}/site_en" and fetched.content_type == "text/html"
    assert _Handler.seen_agents[-1] == DEFAULT_USER_AGENT
    fetch(f"{server}/site_en", FetchConfig(user_agent="analyst-bot/1.0"))
    assert _Handler.seen_agents[-1] == "analyst-bot/1.0"
    assert "Bogotá" in fetch_page(f"{server}/latin1").text


@pytest.mark.parametrize(
    ("path", "config", "message"),
    [
        ("missing", FetchConfig(), "HTTP 404"),
        ("report.pdf", FetchConfig(), r"not an HTML page \(Content-Type: application/pdf\)"),
        ("big", FetchConfig(max_bytes=1000), "page too big"),
        ("slow", FetchConfig(timeout=0.3), "no response within 0.3 s"),
    ],
)
def test_fetch_errors_are_clear(server: str, path: str, config: FetchConfig, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch(f"{server}/{path}", config)


def test_no_network_and_bad_urls() -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        fetch("http://127.0.0.1:9/", FetchConfig(timeout=2))  # port 9 (discard): nothing listens
    for bad in ("ftp://127.0.0.1/a.html", "berita.html", "http://"):
        with pytest.raises(InputError, match="not an http"):
            fetch(bad)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        FetchConfig(timeout=0)


def test_classify_article_from_a_url(server: str, tiny_classifier: Any) -> None:
    result = classify_article(url=f"{server}/portal_id", model=tiny_classifier)
    assert result.page is not None and result.page.url == f"{server}/portal_id"
    assert result.page.title == page_gold("portal_id")["title"]
    assert len(result.sentences) == len(page_gold("portal_id")["main"])
    with pytest.raises(FetchError, match="HTTP 404"):
        classify_article(url=f"{server}/missing", model=tiny_classifier)


def test_job_over_urls_marks_pages_that_fail(server: str, tmp_path: Path, tiny_classifier: Any) -> None:
    urls = (f"{server}/portal_id", f"{server}/missing", f"{server}/site_en")
    config = JobConfig(None, tmp_path / "out.jsonl", urls=urls, on_error="mark", with_text=True)
    summary = run_job(config, model=tiny_classifier)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary.rows_read == 3 and summary.rows_errored == 1
    errors = [r for r in rows if r["error"]]
    assert [(r["article_id"], "HTTP 404" in r["error"]) for r in errors] == [(urls[1], True)]
    sentences = [r["text"] for r in rows if r["label"] is not None]
    for name in ("portal_id", "site_en"):
        assert all(s in sentences for s in page_gold(name)["main"])
    with pytest.raises(ValueError, match="exactly one of an input"):
        JobConfig("in.txt", urls=urls)


def test_cli_url_options_and_html_directory(
    server: str, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# pages\n{server}/site_en\n\n", encoding="utf-8")
    out = tmp_path / "urls.jsonl"
    args = ["classify", "--model", str(tiny_model_dir), "--quiet", "--with-text", "-o", str(out)]
    assert main([*args, "--url", f"{server}/portal_id", "--urls", str(listing)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["article_id"] for r in rows} == {f"{server}/portal_id", f"{server}/site_en"}
    assert main([*args, "--force", "--url", f"{server}/report.pdf"]) == 2
    assert "not an HTML page" in capsys.readouterr().err
    assert main(["classify", "--model", str(tiny_model_dir), "--quiet"]) == 2  # neither INPUT nor --url
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in NAMES:
        (pages / f"{name}.html").write_text(page_html(name), encoding="utf-8")
    out = tmp_path / "pages.jsonl"
    assert main(["classify", str(pages), "--articles", "--model", str(tiny_model_dir), "-q", "--with-text",
                 "-o", str(out)]) == 0  # fmt: skip
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    texts = {r["text"] for r in rows if not r["boilerplate"]}
    assert set(page_gold("site_en")["main"]) <= texts and "Advertisement" not in texts
