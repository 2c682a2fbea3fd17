"""A ClickHouse HTTP server from the chdb-core wheel (see INFRA.md); it lives while a FIFO is read.

Run as ``python infra/local/clickhouse_server.py RUN_DIR DATA_DIR HOST PORT`` (``infra.local.services``
starts it in the background). Stop it by writing a line to ``RUN_DIR/control.fifo`` or with
SIGTERM. Exits 1 when the listener could not start (for example, the port is taken).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

CONFIG = """<clickhouse>
    <listen_host>{host}</listen_host>
    <http_port>{port}</http_port>
    <logger><level>warning</level><console>1</console></logger>
</clickhouse>
"""


def prepare(run: Path, data: Path, host: str, port: int) -> Path:
    """Write config.xml and a fresh control FIFO into ``run``; return the FIFO."""
    run.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    (run / "config.xml").write_text(CONFIG.format(host=host, port=port))
    fifo = run / "control.fifo"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo, 0o600)
    return fifo


def serve(run: Path, data: Path, fifo: Path) -> bool:
    """Serve HTTP until a line arrives on the FIFO; False if the listener never started."""
    os.chdir(run)  # the embedded clickhouse-local reads ./config.xml
    import chdb._chdb as engine  # private module of chdb-core, hence the exact pin

    result = engine.query(  # type: ignore[attr-defined]
        f"SYSTEM START LISTEN HTTP; SELECT count() FROM file('{fifo}', 'LineAsString')",
        "TabSeparated", path=str(data))
    # Errors (e.g. "Address already in use") go to stderr and end the query with no result.
    return bool(result.bytes().strip())


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    run, data = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    fifo = prepare(run, data, argv[2], int(argv[3]))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if serve(run, data, fifo):
        print("clickhouse: stopped through the control FIFO", file=sys.stderr, flush=True)
        return 0
    print("clickhouse: the HTTP listener did not start (see the error above)", file=sys.stderr,
          flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
