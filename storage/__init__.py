"""PostgreSQL / TimescaleDB storage: migrations, device registry, the sink and queries."""
