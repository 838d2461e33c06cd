"""librdkafka's mock Kafka cluster (bundled in the confluent-kafka wheel), via ctypes.

It speaks the Kafka protocol over TCP, keeps data in memory, and has no
CreateTopics API: every topic is created here up front from wire.topics.
It retains at most 5 MiB / 100,000 batches per partition (older data is
deleted), which is why consumers in tests must keep up.
"""

from __future__ import annotations

import ctypes
import glob
import os
from ctypes import c_char_p, c_int, c_size_t, c_void_p

from wire.topics import KafkaTopic


def _lib() -> ctypes.CDLL:
    import confluent_kafka

    libdir = os.path.join(os.path.dirname(confluent_kafka.__file__), os.pardir, "confluent_kafka.libs")
    found = glob.glob(os.path.join(libdir, "librdkafka*.so*"))
    if not found:
        raise RuntimeError(f"librdkafka not found next to confluent_kafka in {libdir}")
    lib = ctypes.CDLL(found[0])
    lib.rd_kafka_conf_new.restype = c_void_p
    lib.rd_kafka_conf_set.argtypes = [c_void_p, c_char_p, c_char_p, c_char_p, c_size_t]
    lib.rd_kafka_conf_set.restype = c_int
    lib.rd_kafka_new.restype = c_void_p
    lib.rd_kafka_new.argtypes = [c_int, c_void_p, c_char_p, c_size_t]
    lib.rd_kafka_destroy.argtypes = [c_void_p]
    lib.rd_kafka_mock_cluster_new.restype = c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [c_void_p, c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [c_void_p]
    lib.rd_kafka_mock_cluster_bootstraps.restype = c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [c_void_p]
    lib.rd_kafka_mock_topic_create.argtypes = [c_void_p, c_char_p, c_int, c_int]
    lib.rd_kafka_mock_topic_create.restype = c_int
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [c_void_p, c_int]
    lib.rd_kafka_mock_broker_set_down.argtypes = [c_void_p, c_int]
    lib.rd_kafka_mock_broker_set_down.restype = c_int
    lib.rd_kafka_mock_broker_set_up.argtypes = [c_void_p, c_int]
    lib.rd_kafka_mock_broker_set_up.restype = c_int
    return lib


class MockKafka:
    """A running mock cluster; lives as long as this object (and its process)."""

    def __init__(self, brokers: int = 1) -> None:
        self._lib = _lib()
        err = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        # The handle only hosts the cluster; silence its "no bootstrap.servers" warning.
        self._lib.rd_kafka_conf_set(conf, b"log_level", b"3", err, 512)
        self._rk = self._lib.rd_kafka_new(0, conf, err, 512)
        if not self._rk:
            raise RuntimeError(f"rd_kafka_new failed: {err.value.decode()}")
        self._mc = self._lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._mc:
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.brokers = brokers
        self.bootstrap: str = self._lib.rd_kafka_mock_cluster_bootstraps(self._mc).decode()
        # Consumers in tests join groups often; the default 3 s join delay would dominate.
        self._lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self._mc, 0)

    def create_topic(self, name: str, partitions: int) -> None:
        rc = self._lib.rd_kafka_mock_topic_create(self._mc, name.encode(), partitions, 1)
        if rc != 0:
            raise RuntimeError(f"creating topic {name!r} failed with error {rc}")

    def create_topics(self, topics: list[KafkaTopic]) -> None:
        for t in topics:
            self.create_topic(t.name, t.partitions)

    def set_down(self) -> None:
        """Make every broker unreachable (connections refused), for fault tests."""
        for b in range(1, self.brokers + 1):
            self._lib.rd_kafka_mock_broker_set_down(self._mc, b)

    def set_up(self) -> None:
        for b in range(1, self.brokers + 1):
            self._lib.rd_kafka_mock_broker_set_up(self._mc, b)

    def close(self) -> None:
        if self._mc:
            self._lib.rd_kafka_mock_cluster_destroy(self._mc)
            self._mc = None
        if self._rk:
            self._lib.rd_kafka_destroy(self._rk)
            self._rk = None
