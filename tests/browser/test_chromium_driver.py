"""The browser the dashboard tests use starts offline and renders a page served on loopback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.browser import chromium, save_screenshot

PAGE = b"<html><body><h1 id=t>computemesh</h1></body></html>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_chromium_renders_a_loopback_page() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            assert page.inner_text("#t") == "computemesh"
            assert save_screenshot(page, "chromium-driver").stat().st_size > 0
    finally:
        server.shutdown()
        server.server_close()
