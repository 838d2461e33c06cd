"""Embedded stand-ins for production infrastructure, started by `rpm up` and the tests.

Each speaks the real protocol (Kafka, MQTT, PostgreSQL); the services use
them through URLs only, exactly as they use production ones.
"""
