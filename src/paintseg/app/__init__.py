"""The paintseg web app (Dash), served by waitress, a production WSGI server."""

from __future__ import annotations

import sys
import threading
import webbrowser

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(images, host: str = "127.0.0.1", port: int = 8050, debug: bool = False,
          open_browser: bool = True, threads: int = 8) -> None:
    """Start the app on ``host:port`` with ``images`` (or the bundled demo) open.

    Prints one line with the address and, when asked and a person is at a terminal,
    opens it in the browser. ``debug`` runs Dash's development server instead.
    """
    from .server import create_app

    app = create_app(images)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    from waitress import create_server

    server = create_server(app.server, host=host, port=port, threads=threads,
                           ident="paintseg", clear_untrusted_proxy_headers=True)
    print(f"paintseg is running at {url}  (Ctrl-C to stop)", flush=True)
    if host not in LOOPBACK:
        print(f"warning: serving on {host}: anyone who can reach this machine can open the app, "
              "and a session is only as private as its id", file=sys.stderr, flush=True)
    if open_browser and sys.stdout.isatty():
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
