"""Deletes a JetStream stream (the contract run's own): `delete_stream.py NATS_URL STREAM`.

删除 JetStream 流 / deletes a JetStream stream. A stream that does not exist (no service ever
created it) counts as deleted; any other failure exits 1 with the reason.
"""

import asyncio
import sys

import nats
from nats.js.errors import NotFoundError


async def main(url: str, stream: str) -> None:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        await nc.jetstream().delete_stream(stream)
        print(f"已删除流 / deleted stream {stream}")
    except NotFoundError:
        print(f"流不存在 / stream {stream} does not exist")
    finally:
        await nc.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("用法 / usage: delete_stream.py NATS_URL STREAM")
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
    except Exception as err:  # noqa: BLE001 - report any failure plainly
        sys.exit(f"删除流失败 / could not delete stream {sys.argv[2]}: {err!r}")
