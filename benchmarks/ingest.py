"""Ingestion throughput, stage by stage, with an embedding server that answers instantly or with
the bundled model.

    .venv/bin/python -m benchmarks.ingest [--documents 20000] [--words 20-40] [--embedder instant|local]
                                          [--profile FILE] [--json FILE]

`instant` (the default) starts an OpenAI-compatible embedding server on loopback that answers at
once with deterministic 384-d vectors (base64, as the openai client asks) and makes it the active
model; `local` uses the bundled all-MiniLM-L6-v2 and then times one raw `SentenceTransformer.encode`
call over the same chunk texts, for the ratio. Either way it writes a JSONL file of documents (two
metadata fields) into a scratch database on the configured server and runs `llamapg ingest`'s own
path on it twice (new, then unchanged), printing documents/s and each stage's time (reading,
chunking, embedding, index build) and what is left for Dagster (its in-memory instance here).
With --profile, the first ingest runs under cProfile and its statistics go to FILE.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import multiprocessing
import os
import tempfile
import time
import zlib
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import numpy as np
from psycopg import sql

DIMENSIONS = 384
SCRATCH = "llamapg_bench_ingest"


# Topic centres, as in benchmarks/retrieval.py: clustered vectors, like real embeddings (uniform
# random ones would be the worst case for any HNSW index, and fail the index's recall check).
CENTRES = np.random.default_rng(0).normal(size=(200, DIMENSIONS)).astype(np.float32)


def clustered(text: str) -> np.ndarray:
    """A topic centre and noise, both chosen by the text's CRC: the same text, the same vector."""
    seed = zlib.crc32(text.encode())
    vector = CENTRES[seed % len(CENTRES)] + np.random.default_rng(seed).normal(scale=0.6, size=DIMENSIONS)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class InstantEmbeddings(BaseHTTPRequestHandler):
    """POST /v1/embeddings: a clustered unit vector per input, at once."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for index, text in enumerate(texts):
            vector = clustered(str(text))
            embedding = (base64.b64encode(vector.tobytes()).decode() if body.get("encoding_format") == "base64"
                         else vector.tolist())
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        payload = json.dumps({"object": "list", "data": data, "model": body.get("model", "instant"),
                              "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


def _serve(port: multiprocessing.Queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), InstantEmbeddings)
    port.put(server.server_address[1])
    server.serve_forever()


@contextmanager
def instant_server() -> Iterator[str]:
    """The server in a process of its own, as a real embedding server is: it never takes the
    pipeline's interpreter lock."""
    port: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{port.get(timeout=30)}/v1"
    finally:
        process.terminate()
        process.join(timeout=10)


def write_documents(folder: Path, count: int, words: tuple[int, int], seed: int = 0) -> None:
    from benchmarks.synthetic import SentenceMaker

    rng = np.random.default_rng(seed)
    maker = SentenceMaker(rng)
    lengths = rng.integers(words[0], words[1] + 1, size=count)
    texts = maker.texts(count, words[1])
    with (folder / "documents.jsonl").open("w") as handle:
        for number, (text, length) in enumerate(zip(texts, lengths)):
            handle.write(json.dumps({"_id": f"doc-{number}", "title": f"Document {number}",
                                     "text": " ".join(text.split()[:length]),
                                     "team": f"team-{number % 50}", "year": 2000 + number % 25}) + "\n")


def raw_encode_seconds(texts: list[str]) -> float:
    """One `encode` call over the texts, as a peer framework would embed its chunks."""
    from llamapg.embedders.local import load_sentence_transformer
    from llamapg.models import BUNDLED_MINILM
    from llamapg.settings import get_settings

    model = load_sentence_transformer(BUNDLED_MINILM)
    started = time.perf_counter()
    model.encode(texts, batch_size=get_settings().embed_batch_size, show_progress_bar=False)
    return time.perf_counter() - started


def run(documents: int, words: tuple[int, int], profile: Path | None, embedder: str = "instant") -> dict:
    import dagster as dg

    from assets.ingestion.chunking import embedding_input
    from llamapg import db, models
    from llamapg.bootstrap import prepare_database
    from llamapg.settings import get_settings
    from pipelines.ingest import ingest

    maintenance = db.server_url(get_settings())
    url = db._with_database(maintenance, SCRATCH)

    def drop() -> None:
        with db.connect(maintenance, autocommit=True, vectors=False) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(SCRATCH)))

    drop()
    report = {"documents": documents, "words": list(words), "embedder": embedder, "runs": []}
    with instant_server() as base_url, tempfile.TemporaryDirectory() as scratch:
        os.environ["LLAMAPG_DATABASE_URL"] = url
        get_settings.cache_clear()
        settings = get_settings()
        try:
            with db.connection(prepare_database(settings)) as conn:
                if embedder == "instant":
                    models.register(conn, "instant", provider="openai", model="instant", dimensions=DIMENSIONS,
                                    max_input_tokens=256, base_url=base_url)
                    models.activate(conn, "instant")
                conn.commit()
            folder = Path(scratch) / "documents"
            folder.mkdir()
            write_documents(folder, documents, words)
            with dg.DagsterInstance.ephemeral() as instance:
                for label in ("new", "unchanged"):
                    profiler = cProfile.Profile() if profile and label == "new" else None
                    started = time.perf_counter()
                    if profiler:
                        profiler.enable()
                    result = ingest("bench", folder, instance=instance, settings=settings, log_level="WARNING")
                    if profiler:
                        profiler.disable()
                        profiler.dump_stats(str(profile))
                    wall = time.perf_counter() - started
                    stages = {
                        "read": result.metadata.get("raw_documents", {}).get("duration_s", 0.0),
                        "chunk": result.metadata.get("chunks", {}).get("duration_s", 0.0),
                        "embed": result.metadata.get("embeddings", {}).get("duration_s", 0.0),
                        "index": result.metadata.get("hnsw_index", {}).get("build_time_s", 0.0),
                    }
                    stages["dagster and rest"] = round(wall - sum(stages.values()), 2)
                    row = {"run": label, "wall_s": round(wall, 2), "documents_per_s": round(documents / wall, 1),
                           "stages_s": stages,
                           "index_built_in_embed_s": result.metadata.get("embeddings", {}).get("index_build_s", 0.0)}
                    report["runs"].append(row)
                    print(f"{label:>9}: {row['wall_s']:8.2f} s  {row['documents_per_s']:8.1f} documents/s  "
                          + "  ".join(f"{name} {seconds:.2f}s" for name, seconds in stages.items())
                          + f"  (index build inside embed: {row['index_built_in_embed_s']}s)", flush=True)
            if embedder == "local":
                with db.connection(url) as conn:
                    texts = [embedding_input(row["header"], row["text"])
                             for row in conn.execute("SELECT header, text FROM chunks ORDER BY id")]
                encode = raw_encode_seconds(texts)
                report["raw_encode_s"] = round(encode, 2)
                report["wall_over_raw_encode"] = round(report["runs"][0]["wall_s"] / encode, 2)
                print(f"raw encode of the same {len(texts)} chunks: {encode:.2f} s; ingest wall time / raw encode: "
                      f"{report['wall_over_raw_encode']:.2f}")
        finally:
            os.environ.pop("LLAMAPG_DATABASE_URL", None)
            get_settings.cache_clear()
            drop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--words", default="20-40", help="words per document, as MIN-MAX")
    parser.add_argument("--embedder", choices=["instant", "local"], default="instant")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the first ingest here")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    low, high = (int(part) for part in args.words.split("-"))
    report = run(args.documents, (low, high), args.profile, args.embedder)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
