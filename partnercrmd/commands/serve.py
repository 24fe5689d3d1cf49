"""`partnercrmd serve`: run the daemon in the foreground."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import DEFAULT_PORT, DaemonConfig
from ..paths import HOME_ENV, Paths


def cmd_serve(args: argparse.Namespace, paths: Paths) -> int:
    from ..branding import load_branding, load_branding_file
    from ..daemon import serve

    if args.home:
        os.environ[HOME_ENV] = args.home  # add-ins and child processes see the same home
        paths = Paths.under(Path(args.home))
    branding = load_branding_file(Path(args.branding)) if args.branding else load_branding(paths)
    config = DaemonConfig(paths=paths, port=args.port, region=args.region, branding=branding)
    config.https_port = args.https_port
    serve(config, verbose=args.verbose, announce=announce)
    return 0


def first_steps(config: DaemonConfig) -> str:
    """What `serve` tells the user once it listens: where, how to open the pages, where the install token is."""
    https = f" and https://localhost:{config.https_port}/api/v1/" if config.https_port else ""
    return "\n".join(
        [
            f"{config.branding.product_name} {__version__} is running.",
            f"  API:            http://127.0.0.1:{config.port}/api/v1/{https}",
            "  Settings pages: run `partnercrmd ui` in another terminal (it opens them in your web browser;",
            "                  `partnercrmd ui --print` prints a one-time address instead)",
            "  Install token:  `partnercrmd token` prints it (send it as `Authorization: Bearer` to Register);",
            f"                  it is also in {config.paths.discovery_file}",
            f"  Log:            {config.paths.log_dir}",
            "Stop it with Ctrl+C.",
        ]
    )


def announce(config: DaemonConfig) -> None:
    """Print `first_steps` on standard output (the log goes to standard error, as before)."""
    print(first_steps(config), flush=True)


def port_number(text: str) -> int:
    """A port from 0 to 65535 (argparse's check of a port option)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"'{text[:20]}' is not a port number from 0 to 65535")
    return port


def add_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the daemon in the foreground")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument(
        "--https-port",
        type=port_number,
        metavar="N",
        help="HTTPS port on 127.0.0.1, made with the local authority (0: no HTTPS; default: the https_port "
        "setting, else 10443 once `partnercrmd tls install` made the authority)",
    )
    serve.add_argument("--region", help="default region for numbers without a country code, e.g. GB")
    serve.add_argument("--verbose", action="store_true")
    serve.add_argument("--home", help="keep everything under this directory (as PARTNERCRMD_HOME does)")
    serve.add_argument("--branding", help="the partner's branding file (as PARTNERCRMD_BRANDING does)")
    serve.set_defaults(func=cmd_serve)
