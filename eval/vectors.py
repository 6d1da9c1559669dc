#!/usr/bin/env python3
"""What a trained bot's passages take in its SQLite database, vectors included, and how close
the int8 vectors are to the f32 ones (issue 21, "Vectors stored compactly").

    python3 eval/vectors.py DATA_DIR_OR_DB [...]

For each database (a data directory's sitechat.db, e.g. an EVAL_CACHE corpus's data/): the
passages, the bytes per passage of its text (`chunks.text`), its vector and its sentence vectors
as stored, which format they are in (f32 as written before, or compact), the pages SQLite uses
for the passages' two tables and their indexes (page overhead included, from `dbstat`) per
passage, and the database file. For records in the f32 format it also quantises each vector as
sitechat does (`sitechat_core::vector::Quantised`: scale = max|x|/127, rounded half away from
zero) and prints the mean and the lowest cosine between the f32 vector and the dequantised one,
and the bytes the compact records would take.
"""

import math
import os
import sqlite3
import struct
import sys

COMPACT = 1


def quantise(v):
    m = max((abs(x) for x in v if math.isfinite(x)), default=0.0)
    if m == 0:
        return 0.0, [0] * len(v)
    scale = struct.unpack("<f", struct.pack("<f", m / 127.0))[0]
    inv = 127.0 / m
    q = []
    for x in v:
        y = x * inv
        r = math.floor(abs(y) + 0.5) * (1 if y >= 0 else -1)
        q.append(int(max(-127, min(127, r))))
    return scale, q


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(x * x for x in b))
    return 1.0 if na == 0 and nb == 0 else dot / (na * nb)


def f32s(blob):
    return list(struct.unpack("<%df" % (len(blob) // 4), blob))


def sentence_vectors_f32(blob):
    out, i = [], 0
    while i < len(blob):
        (dims,) = struct.unpack_from("<I", blob, i + 8)
        out.append(f32s(blob[i + 12 : i + 12 + 4 * dims]))
        i += 12 + 4 * dims
    return out


def compact_len(content):
    """A compact record's length: marker, content, padding to 3 modulo 4."""
    n = 1 + content
    return n + (3 - n % 4) % 4


def report(path):
    db = path if path.endswith(".db") else os.path.join(path, "data", "sitechat.db")
    if not os.path.exists(db):
        db = os.path.join(path, "sitechat.db")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT length(CAST(c.text AS BLOB)), v.vector, v.sentences FROM chunks c "
        "LEFT JOIN chunk_vectors v ON v.chunk_id = c.id"
    ).fetchall()
    n = len(rows)
    text = vec = sent = 0
    compact_vec = compact_sent = 0
    formats = {"f32": 0, "compact": 0}
    sentences = 0
    cosines = []
    for text_len, vector, sents in rows:
        text += text_len or 0
        if vector is not None:
            vec += len(vector)
            if len(vector) % 4 == 0:
                formats["f32"] += 1
                v = f32s(vector)
                scale, q = quantise(v)
                cosines.append(cosine(v, [x * scale for x in q]))
                compact_vec += compact_len(2 + 4 + len(v))
            else:
                formats["compact"] += 1
                compact_vec += len(vector)
        if sents is not None:
            sent += len(sents)
            if len(sents) % 4 == 0:
                vs = sentence_vectors_f32(sents)
                sentences += len(vs)
                for v in vs:
                    scale, q = quantise(v)
                    cosines.append(cosine(v, [x * scale for x in q]))
                compact_sent += compact_len(sum(8 + 2 + 4 + len(v) for v in vs))
            else:
                i = 1
                while len(sents) - i >= 4:
                    (dims,) = struct.unpack_from("<H", sents, i + 8)
                    i += 8 + 2 + 4 + dims
                    sentences += 1
                compact_sent += len(sents)
    pages = dict(
        con.execute(
            "SELECT name, sum(pgsize) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_schema WHERE tbl_name IN ('chunks', 'chunk_vectors')) "
            "GROUP BY name"
        ).fetchall()
    )
    size = sum(
        os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)
    )
    print(f"{path}")
    print(
        f"  passages {n}, sentences {sentences} ({sentences / max(n, 1):.1f} a passage), "
        f"vectors: {formats['f32']} f32, {formats['compact']} compact"
    )
    per = lambda b: b / max(n, 1)
    total = text + vec + sent
    print(
        f"  bytes a passage as stored: text {per(text):.0f} + vector {per(vec):.0f} "
        f"+ sentences {per(sent):.0f} = {per(total):.0f}"
    )
    if formats["f32"]:
        ctotal = text + compact_vec + compact_sent
        print(
            f"  the same compact:          text {per(text):.0f} + vector {per(compact_vec):.0f} "
            f"+ sentences {per(compact_sent):.0f} = {per(ctotal):.0f} "
            f"({100 * ctotal / total:.1f} %)"
        )
    print(
        f"  SQLite pages of chunks and chunk_vectors (indexes included): "
        f"{sum(pages.values()) / 1e6:.2f} MB, {per(sum(pages.values())):.0f} a passage; "
        f"database file {size / 1e6:.2f} MB"
    )
    if cosines:
        print(
            f"  cosine f32 / int8 over {len(cosines)} vectors: mean {sum(cosines) / len(cosines):.6f}, "
            f"lowest {min(cosines):.6f}"
        )


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    for p in sys.argv[1:]:
        report(p)


if __name__ == "__main__":
    main()
