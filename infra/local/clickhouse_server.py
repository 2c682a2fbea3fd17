"""A ClickHouse HTTP server from the chdb-core wheel (INFRA.md): lives while a FIFO stays open.

Run as ``python -m infra.local.clickhouse_server RUN_DIR DATA_DIR PORT``; stop it with SIGTERM
or by writing a line to ``RUN_DIR/control.fifo``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG = """<clickhouse>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{port}</http_port>
    <logger><level>warning</level><console>1</console></logger>
</clickhouse>
"""


def main(run_dir: str, data_dir: str, port: str) -> None:
    run, data = Path(run_dir).resolve(), Path(data_dir).resolve()
    run.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    (run / "config.xml").write_text(CONFIG.format(port=int(port)))
    fifo = run / "control.fifo"
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    os.chdir(run)  # the embedded clickhouse-local reads ./config.xml
    import chdb._chdb as engine  # private module of chdb-core, hence the exact pin

    engine.query(  # type: ignore[attr-defined]
        f"SYSTEM START LISTEN HTTP; SELECT count() FROM file('{fifo}', 'LineAsString')",
        "TabSeparated", path=str(data))


if __name__ == "__main__":
    main(*sys.argv[1:4])
