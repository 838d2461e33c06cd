"""Configuration base: RPM_ environment variables and .env, frozen, validated at start.

Each service has its own settings class composed from these pieces, so a
service only reads (and only fails on) the variables it uses.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound="RpmSettings")


# Connection pieces are plain models mixed into a service's settings class:
# as BaseSettings they would bring their own (prefix-less) configuration.


class RpmSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RPM_", env_file=".env", env_file_encoding="utf-8", frozen=True, extra="ignore"
    )

    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="prefix of every Kafka topic and consumer group (isolates deployments and tests)",
    )
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    metrics_port: int = Field(default=0, ge=0, le=65535, description="Prometheus + health port; 0 = off")


class KafkaConn(BaseModel):
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", min_length=3)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _hostports(cls, v: str) -> str:
        for part in v.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {v!r}")
        return v


class MqttConn(BaseModel):
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", pattern=r"^mqtts?://")
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: str | None = Field(default=None, description="CA bundle for mqtts://")


class DbConn(BaseModel):
    database_url: SecretStr = Field(default=SecretStr("postgresql://127.0.0.1:5432/rpm"))

    @field_validator("database_url")
    @classmethod
    def _pg(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("expected a postgresql:// URL")
        return v


def load(cls: type[S], **overrides: object) -> S:
    """Build settings or exit with a message naming each bad variable."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        prefix = cls.model_config.get("env_prefix", "")
        lines = [f"invalid configuration for {cls.__name__}:"]
        for err in e.errors():
            name = (prefix + "_".join(str(p) for p in err["loc"])).upper()
            lines.append(f"  {name}: {err['msg']} (got {err.get('input')!r})")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
