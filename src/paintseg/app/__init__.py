"""The paintseg web app (Dash)."""

from __future__ import annotations


def serve(images, host: str = "127.0.0.1", port: int = 8050, debug: bool = False) -> None:
    """Start the app on ``host:port`` with ``images`` (or the bundled demo) open."""
    from .server import create_app

    app = create_app(images)
    app.run(host=host, port=port, debug=debug)
