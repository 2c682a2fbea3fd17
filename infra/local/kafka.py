"""Apache Kafka for local runs and tests: jars from Maven Central, one KRaft node (broker + controller).

The jars come from kafka-broker/pom.xml beside this file, copied into ``var/kafka/lib`` by Maven
once (a stamp of the pom decides when to copy again; ``~/.m2`` keeps the downloads). A broker
formats its storage on first start, runs ``kafka.Kafka`` on Java 17 with a bounded heap, is ready
once a metadata request answers, stops on SIGTERM and recovers its logs after a kill -9.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shlex
import signal
import subprocess
import time
import uuid
from pathlib import Path

from infra.local.common import StartError, pid_alive, read_pid, say

POM = Path(__file__).resolve().parent / "kafka-broker" / "pom.xml"
LOG4J = POM.with_name("log4j2.xml")
HEAP = ("-Xms256m", "-Xmx768m")
_PROBE_LOG = logging.getLogger("chronicle.kafka.probe")  # librdkafka's connect errors while it starts
_PROBE_LOG.addHandler(logging.NullHandler())
_PROBE_LOG.propagate = False

# Broker settings shared with docker-compose.yml's apache/kafka service, which takes each as
# KAFKA_<NAME> (tests/unit/test_compose.py holds the two together). Listeners, quorum voters and
# log.dirs differ by where the broker runs and are added by each.
SHARED: dict[str, str] = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
}


def assemble(lib: Path, log: Path) -> None:
    """Copy Kafka's jars (and a log4j2 binding) into ``lib`` unless the pom is unchanged since."""
    stamp = lib / ".pom-sha256"
    want = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == want and any(lib.glob("kafka_2.13-*.jar")):
        return
    say(f"kafka: assembling Apache Kafka from Maven Central into {lib} (first time: ~1 min)")
    staging = lib.with_name(lib.name + ".new")
    _rmtree(staging)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        done = subprocess.run(["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
                               f"-DoutputDirectory={staging}"], stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT, check=False, timeout=900)
    if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        raise StartError(f"kafka: `mvn dependency:copy-dependencies -f {POM}` failed", log)
    _rmtree(lib)
    staging.rename(lib)
    stamp.write_text(want + "\n")


def _rmtree(path: Path) -> None:
    if path.exists():
        subprocess.run(["rm", "-rf", str(path)], check=True)


def cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, base64url without padding.

    Like Kafka's own ``Uuid.randomUuid``, never one that starts with ``-``: the
    storage tool's argument parser would take it for an option (1 id in 64).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class Broker:
    """One KRaft node with its data under ``home`` (jars shared in ``lib``)."""

    def __init__(self, home: Path, host: str, port: int, controller_port: int,
                 lib: Path | None = None) -> None:
        self.home, self.host, self.port, self.controller_port = home, host, port, controller_port
        self.lib = lib or home / "lib"
        self.data = home / "data"
        self.log = home / "kafka.log"
        self.pidfile = home / "kafka.pid"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def properties(self) -> dict[str, str]:
        return {
            **SHARED,
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.voters": f"{SHARED['node.id']}@{self.host}:{self.controller_port}",
            "log.dirs": str(self.data),
        }

    def _java(self, main: str, *args: str) -> list[str]:
        return ["java", *HEAP, "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J}", "-cp", f"{self.lib}/*", main, *args]

    def _configure(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        if not (self.data / "meta.properties").exists():
            ids = self.home / "cluster.id"
            if not ids.exists():
                ids.write_text(cluster_id() + "\n")
            args = self._java("kafka.tools.StorageTool", "format", "--ignore-formatted",
                              f"--cluster-id={ids.read_text().strip()}", "-c", str(config))
            done = subprocess.run(args, capture_output=True, text=True, check=False,
                                  stdin=subprocess.DEVNULL, timeout=120)
            if done.returncode != 0:
                self.log.write_text(done.stdout + done.stderr)
                raise StartError(f"kafka: `{shlex.join(args[-6:])}` failed", self.log)
        return config

    def start(self) -> subprocess.Popen[bytes]:
        """Launch the broker in its own session (returns at once; see ``ready``)."""
        assemble(self.lib, self.home / "assemble.log")
        config = self._configure()
        with self.log.open("ab") as out:
            out.write(f"\n---- {time.strftime('%F %T')} kafka.Kafka {config}\n".encode())
            out.flush()
            process = subprocess.Popen(self._java("kafka.Kafka", str(config)), cwd=self.home,
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.pidfile.write_text(f"{process.pid}\n")
        return process

    def ready(self, timeout: float = 3) -> bool:
        """True once the broker answers a metadata request."""
        from confluent_kafka.admin import AdminClient

        config: dict[str, object] = {"bootstrap.servers": self.bootstrap,
                                     "socket.timeout.ms": 2000, "logger": _PROBE_LOG}
        admin = AdminClient(config)  # type: ignore[arg-type]
        try:
            admin.list_topics(timeout=timeout)
        except Exception:
            return False
        return True

    def wait_ready(self, timeout: float = 90, process: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            if process is not None and process.poll() is not None:
                raise StartError(f"kafka exited with {process.returncode} during startup", self.log)
            time.sleep(0.3)
        raise StartError(f"kafka did not answer on {self.bootstrap} within {timeout:.0f} s", self.log)

    def pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid is not None and pid_alive(pid) else None

    def stop(self, grace: float = 60) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after ``grace`` seconds."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            say("kafka: did not stop on SIGTERM; killed")
            self.kill()
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)

