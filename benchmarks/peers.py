"""llamapg beside LangChain's and LlamaIndex's pgvector stores, on the same documents, the same
embedding model, the same chunk size and the same PostgreSQL server.

    .venv/bin/pip install -e '.[bench]'     # langchain-postgres, llama-index-vector-stores-postgres
    .venv/bin/python -m benchmarks.peers [--dataset ../shared/data/scifact] [--documents 1500]
                                         [--chunk-size 128] [--chunk-overlap 16] [--rounds 3] [--json FILE]

The corpus is a BEIR subset: every document judged for a test query, then the corpus in order up to
--documents. Every system splits it into chunks of the same size, in the model's tokens (llamapg's
defaults, 128 and 16 overlap, unless --chunk-size and --chunk-overlap say otherwise). Each system
ingests it in a process of its own, the model already loaded, timed from
the first document read to the last vector written, then embeds its own chunks again with one raw
`SentenceTransformer.encode` call, for the ratio:

- llamapg: `llamapg ingest`'s own path (the Dagster assets, an in-memory Dagster instance);
- LangChain: `RecursiveCharacterTextSplitter.from_huggingface_tokenizer`,
  `langchain_postgres.PGVector.add_documents`;
- LlamaIndex: `SentenceSplitter` (with the model's tokenizer), `VectorStoreIndex` over `PGVectorStore`.

Then every test query is asked of each system in interleaved rounds (a new order each round, the
systems rotated per query), k=10, the question embedded each time on one torch thread: llamapg's
`/search` over HTTP (vector and hybrid) from `llamapg serve` on loopback, the peers in process. It
prints p50/p99 per system with the ratio to the faster peer, nDCG@10 (documents ranked by their best
chunk), and the ingestion figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from psycopg import sql

SCRATCH = "llamapg_bench_peers"
COLLECTION = "scifact_peers"
K = 10
SYSTEMS = ("llamapg", "langchain", "llamaindex")
LLAMAPG_MODES = ("vector", "hybrid")


# ---------------------------------------------------------------- the corpus
def write_subset(dataset: Path, documents: int, folder: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """corpus.jsonl of the subset in `folder`; the test queries and their judgements."""
    from llamapg.evaluation import load_beir

    beir = load_beir(dataset, "test")
    judged = {doc for relevant in beir.qrels.values() for doc in relevant}
    rows = [json.loads(line) for line in beir.corpus.read_text().splitlines() if line.strip()]
    chosen = [row for row in rows if row["_id"] in judged]
    for row in rows:
        if len(chosen) >= documents:
            break
        if row["_id"] not in judged:
            chosen.append(row)
    with (folder / "corpus.jsonl").open("w") as handle:
        for row in chosen:
            handle.write(json.dumps({"_id": row["_id"], "title": row.get("title") or "", "text": row["text"]}) + "\n")
    queries = {qid: beir.queries[qid] for qid in beir.qrels}
    return queries, beir.qrels


def corpus_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()]


def peer_text(row: dict) -> str:
    """What the peers index for a BEIR row: the title, a blank line, the abstract."""
    return f"{row['title']}\n\n{row['text']}" if row["title"] else row["text"]


# ---------------------------------------------------------------- the embedder, shared
def sentence_transformer():
    from llamapg.embedders.local import load_sentence_transformer
    from llamapg.models import BUNDLED_MINILM

    return load_sentence_transformer(BUNDLED_MINILM)


def tokenizer():
    from llamapg.embedders.local import load_tokenizer
    from llamapg.models import BUNDLED_MINILM

    return load_tokenizer(BUNDLED_MINILM)


def encode(texts: list[str]) -> list[list[float]]:
    return sentence_transformer().encode(texts, batch_size=64, normalize_embeddings=True,
                                         show_progress_bar=False).tolist()


def langchain_embeddings():
    from langchain_core.embeddings import Embeddings

    class MiniLM(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return encode(texts)

        def embed_query(self, text: str) -> list[float]:
            return encode([text])[0]

    return MiniLM()


def llamaindex_embeddings():
    from llama_index.core.embeddings import BaseEmbedding

    class MiniLM(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return encode([query])[0]

        def _get_text_embedding(self, text: str) -> list[float]:
            return encode([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return encode(texts)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return MiniLM(model_name="all-MiniLM-L6-v2", embed_batch_size=64)


# ---------------------------------------------------------------- connections
def sqlalchemy_url(url: str, driver: str) -> str:
    """The server's URL for SQLAlchemy with `driver` (a unix socket stays a `host` parameter)."""
    return url.replace("postgresql://", f"postgresql+{driver}://", 1)


def langchain_store(url: str, fresh: bool = False):
    from langchain_postgres import PGVector

    return PGVector(embeddings=langchain_embeddings(), collection_name=COLLECTION, use_jsonb=True,
                    connection=sqlalchemy_url(url, "psycopg"), pre_delete_collection=fresh)


def llamaindex_store(url: str):
    from llama_index.vector_stores.postgres import PGVectorStore

    return PGVectorStore(connection_string=sqlalchemy_url(url, "psycopg2"),
                         async_connection_string=sqlalchemy_url(url, "asyncpg"),
                         table_name=COLLECTION, embed_dim=384)


# ---------------------------------------------------------------- ingestion, one process each
def ingest_llamapg(folder: Path) -> list[str]:
    import dagster as dg

    from assets.ingestion.chunking import embedding_input
    from llamapg import collections, db
    from llamapg.settings import get_settings
    from pipelines.ingest import ingest

    with dg.DagsterInstance.ephemeral() as instance:
        ingest(COLLECTION, folder, instance=instance, settings=get_settings(), log_level="WARNING")
    with db.connection() as conn:
        collection = collections.get(conn, COLLECTION)
        return [embedding_input(row["header"], row["text"]) for row in conn.execute(
            "SELECT header, text FROM chunks WHERE collection_id = %s AND NOT pending", (collection.id,))]


def chunking() -> tuple[int, int]:
    from llamapg.settings import get_settings

    return get_settings().chunk_size, get_settings().chunk_overlap


def ingest_langchain(folder: Path, url: str) -> list[str]:
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    size, overlap = chunking()
    splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer(), chunk_size=size,
                                                                         chunk_overlap=overlap)
    chunks = splitter.split_documents(
        [Document(page_content=peer_text(row), metadata={"doc_id": row["_id"]}) for row in corpus_rows(folder)])
    langchain_store(url, fresh=True).add_documents(chunks)
    return [chunk.page_content for chunk in chunks]


def ingest_llamaindex(folder: Path, url: str) -> list[str]:
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode

    documents = [Document(text=peer_text(row), metadata={"doc_id": row["_id"]},
                          excluded_embed_metadata_keys=["doc_id"], excluded_llm_metadata_keys=["doc_id"])
                 for row in corpus_rows(folder)]
    size, overlap = chunking()
    nodes = SentenceSplitter(chunk_size=size, chunk_overlap=overlap,
                             tokenizer=tokenizer().tokenize).get_nodes_from_documents(documents)
    VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=llamaindex_store(url)),
                     embed_model=llamaindex_embeddings())
    return [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]


def ingest_one(system: str, folder: Path, url: str) -> dict:
    """Run in a child process: the model loaded first, then the timed ingest, then the raw encode."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    sentence_transformer()
    started = time.perf_counter()
    texts = (ingest_llamapg(folder) if system == "llamapg" else
             ingest_langchain(folder, url) if system == "langchain" else ingest_llamaindex(folder, url))
    wall = time.perf_counter() - started
    started = time.perf_counter()
    sentence_transformer().encode(texts, batch_size=64, show_progress_bar=False)
    raw = time.perf_counter() - started
    return {"system": system, "wall_s": round(wall, 2), "chunks": len(texts), "raw_encode_s": round(raw, 2),
            "wall_over_raw_encode": round(wall / raw, 2)}


# ---------------------------------------------------------------- queries, interleaved
def ndcg_at_10(ranked_chunks: list[str], relevant: dict[str, int]) -> float:
    from llamapg.evaluation import ndcg_at

    documents = list(dict.fromkeys(ranked_chunks))
    return ndcg_at(documents, relevant, 10)


def askers(api: str, url: str) -> dict:
    """system -> question -> document ids of its k chunks, best first."""
    from llama_index.core import VectorStoreIndex

    from benchmarks.load import api_headers

    client = httpx.Client(base_url=api, timeout=60, headers=api_headers())
    chain = langchain_store(url)
    retriever = VectorStoreIndex.from_vector_store(llamaindex_store(url), embed_model=llamaindex_embeddings()
                                                   ).as_retriever(similarity_top_k=K)

    def llamapg(mode: str):
        def ask(question: str) -> list[str]:
            response = client.post("/search", json={"question": question, "collection": COLLECTION, "k": K,
                                                    "mode": mode})
            response.raise_for_status()
            return [source["metadata"]["row_id"] for source in response.json()["sources"]]
        return ask

    return {
        **{f"llamapg {mode}": llamapg(mode) for mode in LLAMAPG_MODES},
        "langchain": lambda q: [doc.metadata["doc_id"] for doc, _ in chain.similarity_search_with_score(q, k=K)],
        "llamaindex": lambda q: [hit.node.metadata["doc_id"] for hit in retriever.retrieve(q)],
    }


def ask_all(api: str, url: str, queries: dict[str, str], qrels: dict, rounds: int) -> dict:
    import torch

    torch.set_num_threads(1)  # as the query service embeds: one thread is fastest for one question
    systems = askers(api, url)
    names = list(systems)
    for name in names:  # warm every path once
        systems[name]("warm up")
    times: dict[str, list[float]] = {name: [] for name in names}
    quality: dict[str, list[float]] = {name: [] for name in names}
    order = list(queries)
    for round_number in range(rounds):
        random.Random(round_number).shuffle(order)
        for position, qid in enumerate(order):
            for name in names[position % len(names):] + names[:position % len(names)]:
                started = time.perf_counter()
                ranked = systems[name](queries[qid])
                times[name].append((time.perf_counter() - started) * 1000)
                if round_number == 0:
                    quality[name].append(ndcg_at_10(ranked, qrels[qid]))
    return {name: {"queries": len(times[name]), "p50_ms": round(statistics.median(times[name]), 2),
                   "p99_ms": round(statistics.quantiles(times[name], n=100)[98], 2),
                   "ndcg@10": round(statistics.fmean(quality[name]), 4)} for name in names}


# ---------------------------------------------------------------- the run
def scratch_url() -> str:
    from llamapg import db
    from llamapg.settings import get_settings

    return db._with_database(db.server_url(get_settings()), SCRATCH)


def reset_scratch() -> None:
    from llamapg import db
    from llamapg.settings import get_settings

    with db.connect(db.server_url(get_settings()), autocommit=True, vectors=False) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(SCRATCH)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SCRATCH)))


def run(dataset: Path, documents: int, rounds: int, chunk_size: int, chunk_overlap: int) -> dict:
    from benchmarks.load import served

    url = scratch_url()
    reset_scratch()
    os.environ.update({"LLAMAPG_DATABASE_URL": url, "LLAMAPG_CHUNK_SIZE": str(chunk_size),
                       "LLAMAPG_CHUNK_OVERLAP": str(chunk_overlap)})
    from llamapg.settings import get_settings

    get_settings.cache_clear()
    report: dict = {"documents": documents, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap, "k": K,
                    "rounds": rounds}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        queries, qrels = write_subset(dataset, documents, folder)
        report["queries"] = len(queries)
        report["ingest"] = []
        for system in SYSTEMS:
            child = subprocess.run([sys.executable, "-m", "benchmarks.peers", "--ingest-one", system,
                                    "--folder", str(folder), "--url", url],
                                   capture_output=True, text=True, check=False)
            if child.returncode != 0:
                raise SystemExit(f"{system} ingest failed:\n{child.stderr[-3000:]}")
            row = json.loads(child.stdout.strip().splitlines()[-1])
            report["ingest"].append(row)
            print(f"ingest {system:10} {row['wall_s']:8.2f} s  {row['chunks']:6} chunks  raw encode "
                  f"{row['raw_encode_s']:7.2f} s  wall / raw encode {row['wall_over_raw_encode']:.2f}", flush=True)
        with served(folder / "serve.log") as (api, _pid):
            report["queries_by_system"] = ask_all(api, url, queries, qrels, rounds)
    report["ratios"] = ratios(report)
    print_report(report)
    return report


def ratios(report: dict) -> dict:
    by_system = report["queries_by_system"]
    fastest_peer = min(by_system["langchain"]["p50_ms"], by_system["llamaindex"]["p50_ms"])
    walls = {row["system"]: row["wall_s"] for row in report["ingest"]}
    return {
        "vector_p50_over_faster_peer": round(by_system["llamapg vector"]["p50_ms"] / fastest_peer, 2),
        "hybrid_p50_over_faster_peer": round(by_system["llamapg hybrid"]["p50_ms"] / fastest_peer, 2),
        "ingest_wall_over_faster_peer": round(walls["llamapg"] / min(walls["langchain"], walls["llamaindex"]), 2),
    }


def print_report(report: dict) -> None:
    print(f"\n{report['queries']} queries x {report['rounds']} rounds, k={K}, question embedded each time")
    print(f"{'system':16} {'p50 ms':>8} {'p99 ms':>8} {'nDCG@10':>8}")
    for name, row in report["queries_by_system"].items():
        print(f"{name:16} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['ndcg@10']:8.4f}")
    print("ratios:", ", ".join(f"{key} {value}" for key, value in report["ratios"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/scifact")
    parser.add_argument("--documents", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, help="in the model's tokens (default: llamapg's)")
    parser.add_argument("--chunk-overlap", type=int)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--ingest-one", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_one:
        print(json.dumps(ingest_one(args.ingest_one, args.folder, args.url)))
        return
    from llamapg.settings import get_settings

    report = run(args.dataset, args.documents, args.rounds, args.chunk_size or get_settings().chunk_size,
                 args.chunk_overlap if args.chunk_overlap is not None else get_settings().chunk_overlap)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
