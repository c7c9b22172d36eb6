"""``python -m voc.serving.launch serve ...``: the ``bentoml`` command with a Prometheus folder of this service's own.

BentoML 1.4.39 keeps the metrics of every service on a host in one folder (``$BENTOML_HOME/
prometheus_multiproc_dir``) and empties it whenever a service starts, so starting a second service
deletes the first one's counters. ``voc serve`` runs BentoML through this module with
``$VOC_METRICS_DIR`` set to a folder per address and port.
"""

from __future__ import annotations

import os
import sys

METRICS_DIR_ENV = "VOC_METRICS_DIR"


def main(argv: list[str]) -> None:
    """Run the ``bentoml`` command line with ``argv``, its metrics in ``$VOC_METRICS_DIR`` when set."""
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml_cli.cli import cli

    if folder := os.environ.get(METRICS_DIR_ENV):
        BentoMLContainer.prometheus_multiproc_dir.set(folder)
    cli.main(args=argv, prog_name="bentoml")


if __name__ == "__main__":
    main(sys.argv[1:])
