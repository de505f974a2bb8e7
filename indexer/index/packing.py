"""Block packing of the postings tables' integer streams (`indexer.index.postings_tables`).

A stream of integers in 0 .. 2**32 - 1 is cut into blocks of `BLOCK` values; each block
is written at the smallest width of `WIDTHS` that holds its largest value, so a block of
width *w* bits takes exactly ``BLOCK * w / 8`` bytes (the last block is padded with
zeros). Beside the bytes, a stream keeps each block's width code (one byte) and, every
`SUPER` blocks, the byte where that block starts: any slice is decoded by reading the
width codes from its superblock on and the bytes of its blocks.

Why these widths and not every width from 0 to 32: numpy cannot shift each value by its
own amount without gathering (about 8 ns a value, measured: a results page read at that
speed was four times slower). Widths that divide a byte, whole bytes, and 12 and 24
bits (two values in three bytes, one in three) decode by views and whole-array shifts,
under 1 ns a value; on real postings they cost 10–15% more bytes than exact widths.
Why blocks: one large value (a long document's last position) widens only its block.
Why no per-block base: block minima of positions and gaps are near 0.
"""

from __future__ import annotations

import numpy as np

BLOCK = 128
SUPER = 64  # blocks per superblock (one stored byte offset each)
CHUNK = 8192  # blocks packed per pass: bounds the temporary arrays (~1M values)
LIMIT = 1 << 32
WIDTHS = (0, 1, 2, 4, 8, 12, 16, 24, 32)  # bits; stored as their index (width code)
BLOCK_BYTES = np.array([BLOCK * w // 8 for w in WIDTHS], dtype=np.int64)
_CODE_OF_BITS = np.array([next(i for i, w in enumerate(WIDTHS) if w >= b) for b in range(33)],
                         dtype=np.uint8)


def bit_lengths(values: np.ndarray) -> np.ndarray:
    """Bit length of each value (0 for 0), values below 2**53."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int64)


def pack(values: np.ndarray) -> dict[str, np.ndarray]:
    """The packed stream of *values*: ``w`` the bytes (uint8), ``b`` the block width
    codes (uint8), ``s`` the byte offset of every SUPER-th block and of the end."""
    values = np.asarray(values)
    n = len(values)
    if n and (int(values.max()) >= LIMIT or int(values.min()) < 0):
        raise ValueError("packed values must lie in 0 .. 2**32 - 1")
    nblocks = -(-n // BLOCK)
    codes = np.zeros(nblocks, dtype=np.uint8)
    parts = []
    for c in range(0, nblocks, CHUNK):
        chunk = values[c * BLOCK:(c + CHUNK) * BLOCK].astype(np.uint32)
        if len(chunk) % BLOCK:
            chunk = np.concatenate([chunk, np.zeros(BLOCK - len(chunk) % BLOCK, np.uint32)])
        v = chunk.reshape(-1, BLOCK)
        k = _CODE_OF_BITS[bit_lengths(v.max(axis=1))]
        codes[c:c + len(k)] = k
        parts.append(_pack_blocks(v, k))
    data = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    ends = np.concatenate([[0], np.cumsum(BLOCK_BYTES[codes])])
    supers = ends[::SUPER]
    if (nblocks % SUPER) or nblocks == 0:  # the end offset, unless already the last one
        supers = np.append(supers, ends[-1])
    return {"w": data, "b": codes, "s": supers.astype(np.uint64)}


def _pack_blocks(v: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Blocks *v* (m × BLOCK, uint32) at width *codes*, as consecutive bytes."""
    sizes = BLOCK_BYTES[codes]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.zeros(int(sizes.sum()), dtype=np.uint8)
    for code in np.unique(codes).tolist():
        bits = WIDTHS[code]
        if bits == 0:
            continue
        sel = np.flatnonzero(codes == code)
        enc = encode_width(v[sel], bits)
        out[(starts[sel][:, None] + np.arange(enc.shape[1])[None, :]).ravel()] = enc.ravel()
    return out


def encode_width(v: np.ndarray, bits: int) -> np.ndarray:
    """Rows of values (uint32, each below 2**bits) as rows of bytes at *bits* each."""
    m = v.shape[0]
    if bits < 8:
        per = 8 // bits
        lanes = v.reshape(m, -1, per).astype(np.uint8) << (np.arange(per, dtype=np.uint8) * bits)
        return np.bitwise_or.reduce(lanes, axis=2)
    if bits == 12:
        pair = v.reshape(m, -1, 2)
        a, b = pair[..., 0], pair[..., 1]
        return np.stack([a & 0xFF, (a >> 8) | ((b & 0xF) << 4), b >> 4], axis=-1).astype(
            np.uint8).reshape(m, -1)
    if bits == 24:
        return np.stack([v & 0xFF, (v >> 8) & 0xFF, v >> 16], axis=-1).astype(
            np.uint8).reshape(m, -1)
    return v.astype(f"<u{bits // 8}").view(np.uint8).reshape(m, -1)


def decode_width(data: np.ndarray, bits: int, n: int) -> np.ndarray:
    """*n* values (uint32) written by `encode_width` at *bits* into the bytes *data*.
    Every width is a few whole-array operations on views (no per-value gathers)."""
    if bits == 0:
        return np.zeros(n, dtype=np.uint32)
    if bits == 1:
        return np.unpackbits(data, bitorder="little").astype(np.uint32)
    if bits < 8:
        per, mask = 8 // bits, (1 << bits) - 1
        out = np.empty((len(data), per), dtype=np.uint8)
        for lane in range(per):
            np.bitwise_and(data >> (lane * bits), mask, out=out[:, lane])
        return out.ravel().astype(np.uint32)
    if bits in (12, 24):
        # Overlapping little-endian words read at a stride of three bytes (one byte of
        # padding so that the last word stays inside the buffer).
        buf = np.empty(len(data) + 1, dtype=np.uint8)
        buf[:-1] = data
        buf[-1] = 0
        count = len(data) // 3
        if bits == 24:
            words = np.ndarray((count,), dtype="<u4", buffer=buf, strides=(3,))
            return words & np.uint32(0xFFFFFF)
        lo = np.ndarray((count,), dtype="<u2", buffer=buf, strides=(3,))
        hi = np.ndarray((count,), dtype="<u2", buffer=buf, offset=1, strides=(3,))
        out = np.empty((count, 2), dtype=np.uint32)
        out[:, 0] = lo & 0xFFF
        out[:, 1] = hi >> 4
        return out.ravel()
    return data.view(f"<u{bits // 8}").astype(np.uint32)


def ranges(first: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The indexes ``first[k] .. first[k] + lens[k] - 1`` of every range, one range after
    another (a gather's index for many slices at once)."""
    lens = np.asarray(lens, dtype=np.int64)
    return np.repeat(np.asarray(first, dtype=np.int64) - (np.cumsum(lens) - lens), lens) \
        + np.arange(int(lens.sum()))


def unpack(data: np.ndarray, codes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Values *lo*..*hi* (uint32) of consecutive blocks with width *codes* whose bytes
    are *data* (from the first block's first byte); *lo* and *hi* count from the first
    block's first value."""
    if hi <= lo:
        return np.zeros(0, dtype=np.uint32)
    if len(codes) == 1 or (codes[0] == codes).all():
        bits = WIDTHS[int(codes[0])]
        return decode_width(data, bits, len(codes) * BLOCK)[lo:hi]
    sizes = BLOCK_BYTES[codes]
    offs = np.concatenate([[0], np.cumsum(sizes)])
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    if len(change) < 4:  # a few runs of one width each: each decoded in place
        bounds = [0, *change.tolist(), len(codes)]
        parts = [decode_width(data[offs[a]:offs[b]], WIDTHS[int(codes[a])], (b - a) * BLOCK)
                 for a, b in zip(bounds, bounds[1:], strict=False)]
        return np.concatenate(parts)[lo:hi]
    # Many runs: the blocks of each width gathered and decoded together.
    out = np.zeros((len(codes), BLOCK), dtype=np.uint32)
    for code in np.unique(codes).tolist():
        bits = WIDTHS[code]
        if bits == 0:
            continue
        sel = np.flatnonzero(codes == code)
        idx = offs[sel][:, None] + np.arange(BLOCK * bits // 8)[None, :]
        out[sel] = decode_width(data[idx.ravel()], bits, len(sel) * BLOCK).reshape(-1, BLOCK)
    return out.ravel()[lo:hi]


# Values per whole number of bytes at each width: a run is padded to a multiple.
_PER = np.array([1 if w == 0 or (w % 8 == 0) else (2 if w in (4, 12) else 8 // w)
                 for w in WIDTHS], dtype=np.int64)
RUN_CHUNK = 1 << 22  # values packed per pass (bounds the temporary arrays)


def pack_runs(values: np.ndarray, bounds: np.ndarray) -> dict[str, np.ndarray]:
    """*values* (0 .. 2**32 - 1) cut at *bounds* (ascending, from 0 to len(values))
    into runs, each packed at the width of its own largest value and starting on a
    byte: ``w`` the bytes, ``c`` each run's width code, ``o`` each run's first byte
    (and the end). A run is then one read and one decode (a term's document gaps)."""
    values = np.asarray(values)
    bounds = np.asarray(bounds, dtype=np.int64)
    if len(values) and (int(values.max()) >= LIMIT or int(values.min()) < 0):
        raise ValueError("packed values must lie in 0 .. 2**32 - 1")
    lens = np.diff(bounds)
    nonempty = np.flatnonzero(lens > 0)
    maxes = np.zeros(len(lens), dtype=np.uint64)
    if len(nonempty):
        maxes[nonempty] = np.maximum.reduceat(values.astype(np.uint64), bounds[nonempty])
    codes = _CODE_OF_BITS[bit_lengths(maxes)]
    per = _PER[codes]
    padded = -(-lens // per) * per
    nbytes = padded * np.array(WIDTHS, dtype=np.int64)[codes] // 8
    offs = np.concatenate([[0], np.cumsum(nbytes)])
    out = np.zeros(int(offs[-1]), dtype=np.uint8)
    # Runs a few million values at a time, each chunk's runs grouped by width.
    cuts = np.unique(np.searchsorted(bounds, np.arange(0, len(values), RUN_CHUNK), "right") - 1)
    cuts = np.append(cuts, len(lens))
    for r0, r1 in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        v0, v1 = int(bounds[r0]), int(bounds[r1])
        run_of = np.repeat(np.arange(r0, r1), lens[r0:r1])
        within = np.arange(v0, v1) - bounds[run_of]
        for code in np.unique(codes[r0:r1]).tolist():
            bits = WIDTHS[code]
            if bits == 0:
                continue
            runs = r0 + np.flatnonzero(codes[r0:r1] == code)
            mine = codes[run_of] == code
            pstart = np.zeros(len(lens), dtype=np.int64)
            pstart[runs] = np.concatenate([[0], np.cumsum(padded[runs])[:-1]])
            vals = np.zeros(int(padded[runs].sum()), dtype=np.uint32)
            vals[pstart[run_of[mine]] + within[mine]] = values[v0:v1][mine]
            enc = encode_width(vals.reshape(1, -1), bits).ravel()
            dest = np.repeat(offs[runs] - np.concatenate([[0], np.cumsum(nbytes[runs])[:-1]]),
                             nbytes[runs]) + np.arange(len(enc))
            out[dest] = enc
    return {"w": out, "c": codes, "o": offs.astype(np.uint64)}


# A run of more than one block, in `pack_term_runs`: its own width codes come first.
LONG_RUN = 255


def unpack_run(data: np.ndarray, code: int, n: int) -> np.ndarray:
    """The *n* values of one run packed by `pack_runs` at width *code* (its bytes), or
    by `pack_term_runs` (code `LONG_RUN`: its blocks' width codes, then the blocks)."""
    if code == LONG_RUN:
        return _unpack_long(data, n)
    per = int(_PER[code])
    return decode_width(data, WIDTHS[code], -(-n // per) * per)[:n]


def pack_term_runs(values: np.ndarray, lens: np.ndarray) -> dict[str, np.ndarray]:
    """`pack_runs` of consecutive runs of *lens* values each, a run of more than `BLOCK`
    values cut into blocks of `BLOCK`, each at its own width: its code is `LONG_RUN`,
    and its bytes are its blocks' width codes, then the blocks (the last one only as
    long as its values). Why: a common term's document gaps are mostly small, and one
    large gap set the width of all of them (measured at 100,000 documents: the bigrams'
    gaps 13% and the words' 21% smaller cut this way)."""
    lens = np.asarray(lens, dtype=np.int64)
    long = lens > BLOCK
    nblocks = np.where(long, -(-lens // BLOCK), 1)
    cb = np.concatenate([[0], np.cumsum(nblocks)])  # each run's first block
    blens = np.full(int(cb[-1]), BLOCK, dtype=np.int64)
    blens[cb[1:] - 1] = lens - (nblocks - 1) * BLOCK
    packed = pack_runs(values, np.concatenate([[0], np.cumsum(blens)]))
    data, codes, offs = packed["w"], packed["c"], packed["o"].astype(np.int64)
    head = np.where(long, nblocks, 0)  # bytes of width codes before a long run
    shift = np.cumsum(head)
    run_bytes = offs[cb[1:]] - offs[cb[:-1]]
    out = np.zeros(len(data) + int(shift[-1] if len(shift) else 0), dtype=np.uint8)
    out[np.arange(len(data)) + np.repeat(shift, run_bytes)] = data
    first = offs[cb[:-1]] + shift - head
    lr = np.flatnonzero(long)
    if len(lr):
        out[ranges(first[lr], head[lr])] = codes[ranges(cb[lr], nblocks[lr])]
    run_codes = codes[cb[:-1]]
    run_codes[long] = LONG_RUN
    return {"w": out, "c": run_codes, "o": np.append(first, len(out)).astype(np.uint64)}


def _unpack_long(data: np.ndarray, n: int) -> np.ndarray:
    k = -(-n // BLOCK)
    codes = np.asarray(data[:k])
    body = np.asarray(data[k:])
    full = int(BLOCK_BYTES[codes].sum())
    if len(body) < full:  # the last block is stored only as long as its values
        body = np.concatenate([body, np.zeros(full - len(body), dtype=np.uint8)])
    return unpack(body, codes, 0, n)


def unpack_runs(data: np.ndarray, codes: np.ndarray, offs: np.ndarray,
                lens: np.ndarray) -> np.ndarray:
    """Every value of the runs packed by `pack_runs` or `pack_term_runs` (their bytes
    *data*, width codes, byte offsets with the end's, and lengths), in order: each
    width's runs decoded together, long runs one by one."""
    lens = np.asarray(lens, dtype=np.int64)
    offs = np.asarray(offs, dtype=np.int64)
    out = np.zeros(int(lens.sum()), dtype=np.uint32)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    codes = np.asarray(codes)
    for r in np.flatnonzero(codes == LONG_RUN).tolist():  # few runs, each many blocks
        n = int(lens[r])
        out[starts[r]:starts[r] + n] = _unpack_long(data[offs[r]:offs[r + 1]], n)
    for code in np.unique(codes[codes != LONG_RUN]).tolist():
        bits = WIDTHS[code]
        runs = np.flatnonzero((codes == code) & (lens > 0))
        if bits == 0 or not len(runs):
            continue
        per = int(_PER[code])
        padded = -(-lens[runs] // per) * per
        nbytes = padded * bits // 8
        first = np.concatenate([[0], np.cumsum(nbytes)[:-1]])
        src = np.repeat(offs[runs] - first, nbytes) + np.arange(int(nbytes.sum()))
        vals = decode_width(np.asarray(data[src]), bits, int(padded.sum()))
        pfirst = np.concatenate([[0], np.cumsum(padded)[:-1]])
        n = lens[runs]
        within = np.arange(int(n.sum())) - np.repeat(np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        out[np.repeat(starts[runs], n) + within] = vals[np.repeat(pfirst, n) + within]
    return out


def unpack_all(stream: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Every value of a packed stream held in memory (its *n* values)."""
    return unpack(stream["w"], stream["b"], 0, n)
