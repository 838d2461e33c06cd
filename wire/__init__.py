"""The wire contract: message models, canonical units and topic names.

Everything that crosses a process boundary (MQTT payloads, Kafka records) is
defined here, so devices, the bridge, the stream workers, the sink and the
alert service agree on one versioned schema.
"""
