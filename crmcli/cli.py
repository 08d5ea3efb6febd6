"""The `crm` console script: answers `crm --version` before loading the CLI
framework (start-up time), then hands over to crmcli.app.main."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from crmcli import __version__

        print(f"crm {__version__}")
        return
    from crmcli.app import main as run

    run()
