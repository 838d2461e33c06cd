"""A Faust agent that does nothing: the consumption limit the stream bench compares against.

Run as ``python -m streams.bench_noop BOOTSTRAP TOPIC PARTITIONS EXPECTED``; prints one
JSON line (records and seconds between the first and the last record) and exits.
"""

from __future__ import annotations

import json
import os
import sys
import time

import faust


def main() -> None:
    bootstrap, topic, partitions, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sys.argv = sys.argv[:1]  # Faust's worker parses the command line itself
    app = faust.App(f"noop-{os.getpid()}", broker=f"kafka://{bootstrap}", topic_allow_declare=False,
                    topic_disable_leader=True, store="memory://", web_enabled=False,
                    consumer_auto_offset_reset="earliest", broker_session_timeout=10, broker_heartbeat_interval=1)
    src = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                    partitions=partitions)
    seen = {"n": 0, "first": 0.0}

    @app.agent(src)
    async def noop(stream: faust.StreamT) -> None:
        async for _ in stream.events():
            if seen["n"] == 0:
                seen["first"] = time.perf_counter()
            seen["n"] += 1
            if seen["n"] == expected:
                print(json.dumps({"records": expected, "seconds": time.perf_counter() - seen["first"]}), flush=True)
                os._exit(0)

    faust.Worker(app, loglevel="error", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
