"""The console's icon (/favicon.ico): a white cross on the console's blue, drawn here, nothing to download.

A 32 x 32 ICO holding one 32-bit BMP (ICONDIR, ICONDIRENTRY, BITMAPINFOHEADER
with doubled height, bottom-up BGRA rows, AND mask), which every browser reads.
"""

from __future__ import annotations

import struct
from functools import lru_cache

SIZE = 32
BLUE = (0x8A, 0x4F, 0x1F, 0xFF)  # BGRA of #1f4f8a
WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
CLEAR = (0, 0, 0, 0)


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    r = 6  # rounded corners
    cx, cy = min(max(x, r), SIZE - 1 - r), min(max(y, r), SIZE - 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return CLEAR
    if (12 <= x <= 19 and 6 <= y <= 25) or (6 <= x <= 25 and 12 <= y <= 19):
        return WHITE
    return BLUE


@lru_cache(maxsize=1)
def ico() -> bytes:
    rows = b"".join(bytes(c for x in range(SIZE) for c in _pixel(x, y)) for y in reversed(range(SIZE)))
    mask = b"\0" * (SIZE * SIZE // 8)  # all opaque: the alpha channel decides
    bmp = struct.pack("<IiiHHIIiiII", 40, SIZE, SIZE * 2, 1, 32, 0, len(rows) + len(mask), 0, 0, 0, 0) + rows + mask
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(bmp), 22) + bmp
