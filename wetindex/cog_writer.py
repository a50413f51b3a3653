"""A multi-band 8-bit cloud-optimised GeoTIFF written block of rows by block of rows.

GDAL's COG driver needs the whole raster first (it reads it back for the overviews and
again for the tiles, and spills to a temporary file when its cache is bounded: most of
the bytes a forecast wrote, see ``benchmarks/results/stream.md``). :class:`StreamedCog`
writes the file itself as the rows come, each byte once:

* the header and every IFD (full resolution, then each overview) at the head of the
  file, their tile offset and byte-count arrays reserved there and filled in at the end
  (so a reader gets every tile's place with one range request, as from a COG);
* tiles of :data:`TILE` × :data:`TILE` cells holding every band (a band is a lead; the
  pixel interleaving of GDAL's COG driver): a cell's 48 hours lie side by side, which
  compresses 2.2 times better than a plane per lead (the hours of a cell are alike)
  and gives a reader of a place every hour with one tile; a reader of one lead over
  the whole area decompresses every lead, so whole-area readers go block of rows by
  block of rows over all leads (:func:`wetindex.site.layers.write_layer_images`).
  DEFLATE with the horizontal predictor, appended as soon as a row of tiles is
  complete;
* internal overviews (factors 2, 4, … until the raster fits in a tile) computed from
  the streamed rows: each 2 × 2 cells of the level below averaged over the known
  (not :data:`NODATA`) codes, unknown where none is known (GDAL's ``AVERAGE`` with
  nodata), streamed to the file the same way.

Tiles follow the order the rows were streamed (a level's tiles are not all before the
next level's, as GDAL's COG driver orders them), and there is no GDAL "ghost" header:
GDAL reads the file as a tiled GeoTIFF with internal overviews, not with
``LAYOUT=COG``. Memory is one row of tiles per level.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from pyproj import CRS

from wetindex.grid import AreaGrid

#: Tile width and height [cells].
TILE = 256
#: Code of an unknown cell (nodata).
NODATA = 255
#: zlib level of the tiles (3: the speed/size balance measured in benchmarks/results).
DEFLATE_LEVEL = 3

_SHORT, _LONG, _DOUBLE, _ASCII, _LONG8 = 3, 4, 12, 2, 16
_SIZE = {_SHORT: 2, _LONG: 4, _DOUBLE: 8, _ASCII: 1, _LONG8: 8}
_CODE = {_SHORT: "H", _LONG: "I", _DOUBLE: "d", _LONG8: "Q"}


def average_2x2(codes: np.ndarray) -> np.ndarray:
    """``(band, rows, cols)`` codes halved in both directions: the mean of the known codes
    of each 2 × 2 (an odd last row or column alone), :data:`NODATA` where none is known."""
    b, h, w = codes.shape
    padded = np.full((b, h + h % 2, w + w % 2), NODATA, np.uint8)
    padded[:, :h, :w] = codes
    quads = [padded[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]
    total = np.zeros(quads[0].shape, np.uint16)
    count = np.zeros(quads[0].shape, np.uint16)
    for q in quads:  # four strided views: much faster than a reduction over a 5-D view
        known = q != NODATA
        total += np.where(known, q, 0)
        count += known
    out = np.full(total.shape, NODATA, np.uint8)
    ok = count > 0
    # round half up, in integers: (2 × total + count) // (2 × count)
    out[ok] = ((2 * total[ok] + count[ok]) // (2 * count[ok])).astype(np.uint8)
    return out


def _predicted(strip: np.ndarray) -> np.ndarray:
    """TIFF predictor 2 on 8-bit samples: each cell minus its left neighbour in its tile."""
    out = strip.copy()
    out[..., 1:] -= strip[..., :-1]
    out[..., ::TILE] = strip[..., ::TILE]
    return out


class _Level:
    """One resolution: its size, its IFD's tile arrays and the rows not yet tiled."""

    def __init__(self, width: int, height: int, bands: int) -> None:
        self.width, self.height, self.bands = width, height, bands
        self.across = -(-width // TILE)
        self.down = -(-height // TILE)
        n = self.across * self.down
        self.offsets = np.zeros(n, np.uint64)
        self.counts = np.zeros(n, np.uint64)
        self.buffer = np.empty((bands, 0, width), np.uint8)
        self.carry = np.empty((bands, 0, width), np.uint8)  # rows awaiting their pair
        self.tile_row = 0
        self.rows_in = 0
        self.offsets_at = self.counts_at = 0  # file positions of the arrays


class StreamedCog:
    """Write ``path`` from rows ``(band, rows, width)`` of uint8 codes given top to bottom.

    Parameters
    ----------
    path : Path
        The GeoTIFF to write.
    grid : AreaGrid
        Its grid (an EPSG coordinate reference system).
    bands : int
        Number of bands.
    band_tags : sequence of dict, optional
        Per band metadata items (GDAL band tags), one dict per band.
    tags : dict, optional
        Dataset metadata items.
    scale : float, optional
        Band scale (value = code × scale), written as GDAL's band scale.
    """

    def __init__(self, path: Path, grid: AreaGrid, bands: int, *,
                 band_tags: Sequence[dict] | None = None, tags: dict | None = None,
                 scale: float | None = None) -> None:
        self.path = Path(path)
        self.grid = grid
        self.bands = bands
        self.levels = [_Level(grid.nx, grid.ny, bands)]
        while self.levels[-1].width > TILE or self.levels[-1].height > TILE:
            last = self.levels[-1]
            self.levels.append(_Level(-(-last.width // 2), -(-last.height // 2), bands))
        raw = sum(lv.width * lv.height for lv in self.levels) * bands
        # classic TIFF offsets are 32-bit: BigTIFF when the file could pass 4 GiB
        self.big = raw + raw // 100 + (1 << 24) >= 2**32
        self._pool = ThreadPoolExecutor(2)
        self._file = open(self.path, "wb")
        try:
            self._write_head(band_tags or [{} for _ in range(bands)], tags or {}, scale)
        except BaseException:
            self.abort()
            raise

    # -- layout ------------------------------------------------------------------------

    def _write_head(self, band_tags: Sequence[dict], tags: dict, scale: float | None) -> None:
        head = bytearray(b"II" + (struct.pack("<HHHQ", 43, 8, 0, 0) if self.big
                                   else struct.pack("<HI", 42, 0)))
        ifds = [self._entries(i, lv, band_tags, tags, scale)
                for i, lv in enumerate(self.levels)]
        pos = len(head)
        struct.pack_into("<Q" if self.big else "<I", head, 8 if self.big else 4, pos)
        for i, entries in enumerate(ifds):
            blob, arrays = self._ifd(entries, pos, last=i == len(ifds) - 1)
            head += blob
            self.levels[i].offsets_at, self.levels[i].counts_at = arrays
            pos += len(blob)
        self._file.write(head)

    def _entries(self, index: int, lv: _Level, band_tags: Sequence[dict], tags: dict,
                 scale: float | None) -> list[tuple[int, int, object]]:
        n = lv.offsets.size
        arr = _LONG8 if self.big else _LONG
        entries = [
            (254, _LONG, [1 if index else 0]),
            (256, _LONG, [lv.width]), (257, _LONG, [lv.height]),
            (258, _SHORT, [8] * self.bands), (259, _SHORT, [8]), (262, _SHORT, [1]),
            (277, _SHORT, [self.bands]), (284, _SHORT, [1]), (317, _SHORT, [2]),
            (322, _SHORT, [TILE]), (323, _SHORT, [TILE]),
            (324, arr, np.zeros(n, np.uint64)), (325, arr, np.zeros(n, np.uint64)),
            (339, _SHORT, [1] * self.bands),
        ]
        if self.bands > 1:
            entries.append((338, _SHORT, [0] * (self.bands - 1)))
        if index == 0:
            g = self.grid
            entries += [(33550, _DOUBLE, [g.cell_size, g.cell_size, 0.0]),
                        (33922, _DOUBLE, [0.0, 0.0, 0.0, g.x_min, g.y_max, 0.0]),
                        (34735, _SHORT, _geokeys(g.crs)),
                        (42112, _ASCII, _gdal_metadata(band_tags, tags, scale))]
        entries.append((42113, _ASCII, str(NODATA)))
        return sorted(entries, key=lambda e: e[0])

    def _ifd(self, entries: list, at: int, last: bool) -> tuple[bytes, tuple[int, int]]:
        """IFD at file offset ``at`` with its out-of-line values after it."""
        big = self.big
        entry_size, count_fmt, inline = (20, "<Q", 8) if big else (12, "<H", 4)
        head_size = (8 if big else 2) + len(entries) * entry_size + (8 if big else 4)
        table = bytearray(struct.pack(count_fmt, len(entries)))
        extra = bytearray()
        places = {}
        for tag, typ, values in entries:
            if typ == _ASCII:
                data, count = values.encode() + b"\0", len(values) + 1
            else:
                vals = np.asarray(values)
                data = vals.astype("<" + _CODE[typ]).tobytes()
                count = vals.size
            if len(data) <= inline:
                value = data.ljust(inline, b"\0")
                places[tag] = at + len(table) + 4 + (8 if big else 4)  # in the entry
            else:
                if (head_size + len(extra)) % 2:
                    extra += b"\0"
                where = at + head_size + len(extra)
                places[tag] = where
                extra += data
                value = struct.pack("<Q" if big else "<I", where)
            table += struct.pack("<HH", tag, typ)
            table += struct.pack("<Q" if big else "<I", count) + value
        nxt = 0 if last else at + head_size + len(extra) + (len(extra) + head_size) % 2
        table += struct.pack("<Q" if big else "<I", nxt)
        blob = bytes(table + extra)
        if len(blob) % 2:
            blob += b"\0"
        return blob, (places[324], places[325])

    # -- rows ---------------------------------------------------------------------------

    def write(self, rows: np.ndarray) -> None:
        """The next rows ``(band, n, width)`` uint8, top to bottom."""
        self._push(0, np.asarray(rows, np.uint8))

    def _push(self, index: int, rows: np.ndarray) -> None:
        lv = self.levels[index]
        if rows.shape[0] != self.bands or rows.shape[2] != lv.width:
            raise ValueError(f"rows: expected ({self.bands}, n, {lv.width}), got {rows.shape}")
        lv.rows_in += rows.shape[1]
        if lv.rows_in > lv.height:
            raise ValueError(f"{self.path.name}: more than {lv.height} rows written")
        lv.buffer = np.concatenate([lv.buffer, rows], axis=1)
        while lv.buffer.shape[1] >= TILE:
            self._tile_row(lv, lv.buffer[:, :TILE])
            lv.buffer = lv.buffer[:, TILE:]
        if index + 1 < len(self.levels):
            lv.carry = np.concatenate([lv.carry, rows], axis=1)
            even = lv.carry.shape[1] - lv.carry.shape[1] % 2
            if even:
                self._push(index + 1, average_2x2(lv.carry[:, :even]))
                lv.carry = lv.carry[:, even:]

    def _tile_row(self, lv: _Level, strip: np.ndarray) -> None:
        """Compress and append one row of tiles (all bands in each) of ``lv``."""
        h = strip.shape[1]
        width = lv.across * TILE
        full = np.full((self.bands, TILE, width), NODATA, np.uint8)
        full[:, :h, :lv.width] = strip
        full = _predicted(full)
        jobs = [(c, full[:, :, c * TILE:(c + 1) * TILE]) for c in range(lv.across)]

        def pack(job: tuple[int, np.ndarray]) -> bytes:
            # (band, row, col) → (row, col, band): the pixel-interleaved tile
            return zlib.compress(np.ascontiguousarray(job[1].transpose(1, 2, 0)).data,
                                 DEFLATE_LEVEL)

        packed = self._pool.map(pack, jobs)
        pos = self._file.tell()
        chunks = []
        for (c, _), data in zip(jobs, packed, strict=True):
            i = lv.tile_row * lv.across + c
            lv.offsets[i], lv.counts[i] = pos, len(data)
            pos += len(data)
            chunks.append(data)
        self._file.write(b"".join(chunks))
        lv.tile_row += 1

    def close(self) -> Path:
        """Write the last rows of every level and the tile arrays; returns the path."""
        try:
            for i, lv in enumerate(self.levels):
                if lv.rows_in != lv.height:
                    raise ValueError(f"{self.path.name}: {lv.rows_in} of {lv.height} rows "
                                     f"written at level {i}")
                if i + 1 < len(self.levels) and lv.carry.shape[1]:
                    self._push(i + 1, average_2x2(lv.carry))
                    lv.carry = lv.carry[:, :0]
                if lv.buffer.shape[1]:
                    self._tile_row(lv, lv.buffer)
                    lv.buffer = lv.buffer[:, :0]
            kind = "<u8" if self.big else "<u4"
            for lv in self.levels:
                self._file.seek(lv.offsets_at)
                self._file.write(lv.offsets.astype(kind).tobytes())
                self._file.seek(lv.counts_at)
                self._file.write(lv.counts.astype(kind).tobytes())
        finally:
            self._pool.shutdown()
            self._file.close()
        return self.path

    def abort(self) -> None:
        """Stop writing (the file is left incomplete for the caller to remove)."""
        self._pool.shutdown(cancel_futures=True)
        self._file.close()


def _geokeys(crs: str) -> list[int]:
    """GeoKeyDirectory of an EPSG coordinate reference system, cells as areas."""
    parsed = CRS.from_user_input(crs)
    code = parsed.to_epsg()
    if code is None:
        raise ValueError(f"grid CRS {crs!r}: the forecast GeoTIFFs need an EPSG code; "
                         "give the area's CRS as EPSG:<code>")
    model, key = (2, 2048) if parsed.is_geographic else (1, 3072)
    keys = [(1024, 0, 1, model), (1025, 0, 1, 1), (key, 0, 1, code)]
    return [1, 1, 0, len(keys)] + [v for k in keys for v in k]


def _gdal_metadata(band_tags: Sequence[dict], tags: dict, scale: float | None) -> str:
    items = [f'<Item name="{escape(str(k))}">{escape(str(v))}</Item>' for k, v in tags.items()]
    for b, bt in enumerate(band_tags):
        items += [f'<Item name="{escape(str(k))}" sample="{b}">{escape(str(v))}</Item>'
                  for k, v in bt.items()]
        if scale is not None:
            items += [f'<Item name="SCALE" sample="{b}" role="scale">{scale!r}</Item>',
                      f'<Item name="OFFSET" sample="{b}" role="offset">0</Item>']
    return "<GDALMetadata>" + "".join(items) + "</GDALMetadata>"
