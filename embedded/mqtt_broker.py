"""A private MQTT broker: Mosquitto when the binary exists, else amqtt (demo only).

amqtt speaks MQTT 3.1.1 only and, as measured on these machines, delivers
nothing on shared subscriptions and drops messages queued for a persistent
session, so the no-loss guarantees hold only with Mosquitto.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from embedded.ports import free_port, wait_tcp


@dataclass
class Broker:
    url: str
    kind: str  # "mosquitto" or "amqtt"
    process: subprocess.Popen[bytes]

    @property
    def supports_v5(self) -> bool:
        return self.kind == "mosquitto"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def mosquitto_binary() -> str | None:
    """The Mosquitto binary, unless RPM_EMBEDDED_MQTT=amqtt forces the demo broker."""
    if os.environ.get("RPM_EMBEDDED_MQTT") == "amqtt":
        return None
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


def start(workdir: Path, port: int | None = None, extra_conf: str = "") -> Broker:
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    binary = mosquitto_binary()
    log = open(workdir / "broker.log", "ab")
    if binary:
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            # Unacknowledged QoS 1 messages per client; the bridge acks only
            # after Kafka did, so the window must cover a produce round trip.
            "max_inflight_messages 1000\n"
            "max_queued_messages 1000000\n"
            "log_dest stderr\n"
            f"{extra_conf}"
        )
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        kind = "mosquitto"
    else:
        proc = subprocess.Popen([sys.executable, "-m", "embedded.amqtt_broker", str(port)], stdout=log, stderr=log)
        kind = "amqtt"
    try:
        wait_tcp("127.0.0.1", port)
    except TimeoutError:
        proc.kill()
        raise
    return Broker(f"mqtt://127.0.0.1:{port}", kind, proc)
