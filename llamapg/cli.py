"""The `llamapg` command."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import click
import psycopg

from llamapg import db, embedded
from llamapg.embedders.local import use_threads
from llamapg.headers import HEADING_JOINER
from llamapg.settings import REPO_ROOT, get_settings


def _fail(message: str) -> None:
    raise click.ClickException(message)


def describe_error(exc: BaseException) -> str:
    """One line that leads with the cause: the database when it is the database, else the error."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 20:
        chain.append(chain[-1].__cause__)
    lost = next((e for e in chain if isinstance(e, (db.DatabaseUnavailable, psycopg.OperationalError))
                 or type(e).__name__ in ("DagsterPostgresException", "OperationalError")), None)
    if lost is not None:
        detail = " ".join(str(lost).split()) or type(lost).__name__
        return f"database unavailable ({db.where()}): {detail}"
    detail = " ".join(str(exc).strip().splitlines()[0].split()) if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class Commands(click.Group):
    """Any error a command did not expect ends in one line that says why; `--debug` adds the
    traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last stop before a traceback reaches the user
            if ctx.params.get("debug") or get_settings().debug:
                raise
            raise click.ClickException(describe_error(exc) + "  (run with --debug for the traceback)") from exc


@click.group(cls=Commands)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors, not only their cause.")
def main(verbose: bool, debug: bool) -> None:
    """llamapg: document collections -> chunks -> embeddings -> pgvector, answered over HTTP."""
    if debug:
        os.environ["LLAMAPG_DEBUG"] = "true"
        get_settings.cache_clear()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------- db
@main.group("db")
def db_group() -> None:
    """The database: the embedded server by default, or DATABASE_URL."""


@db_group.command("start")
def db_start() -> None:
    """Start the embedded server (idempotent) and apply migrations."""
    from llamapg.bootstrap import prepare_database

    settings = get_settings()
    url = prepare_database(settings)
    where = "DATABASE_URL" if settings.database_url else f"embedded server, data in {settings.pgdata_dir}"
    click.echo(f"database ready ({where})\n{url}")


@db_group.command("stop")
def db_stop() -> None:
    """Stop the embedded server."""
    settings = get_settings()
    if settings.database_url:
        _fail("DATABASE_URL is set: llamapg does not manage that server")
    click.echo("stopped" if embedded.stop(settings.pgdata_dir) else "not running")


@db_group.command("status")
def db_status() -> None:
    """Say whether the database is up, and which migrations are applied."""
    from llamapg import migrations

    settings = get_settings()
    if settings.uses_embedded_database and not embedded.is_running(settings.pgdata_dir):
        click.echo(f"embedded server: not running (data directory {settings.pgdata_dir})")
        sys.exit(1)
    try:
        with db.connection(db.database_url(settings)) as conn:
            pending = migrations.pending(conn)
    except db.DatabaseUnavailable as exc:
        click.echo(f"database unreachable: {exc}")
        sys.exit(1)
    click.echo("running; " + (f"pending migrations: {', '.join(pending)}" if pending else "schema up to date"))


@db_group.command("url")
@click.option("--dagster", is_flag=True, help="The URL of Dagster's storage database instead.")
def db_url(dagster: bool) -> None:
    """Print the connection URL (starting the embedded server if needed)."""
    click.echo(db.dagster_storage_url() if dagster else db.database_url())


@db_group.command("migrate")
def db_migrate() -> None:
    """Create llamapg's and Dagster's databases if needed and apply pending schema migrations."""
    from llamapg import migrations

    settings = get_settings()
    url = db.database_url(settings)
    db.ensure_database(url, db.server_url(settings))
    db.ensure_database(db.dagster_storage_url(settings), db.server_url(settings))
    with db.connection(url) as conn:
        applied = migrations.migrate(conn)
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema up to date")


# ---------------------------------------------------------------- ingest / query
@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--collection", "-c", required=True, help="Collection name (lowercase letters, digits, . _ -).")
@click.option("--chunk-size", type=int, default=None, help="Chunk size in model tokens (default LLAMAPG_CHUNK_SIZE).")
@click.option("--chunk-overlap", type=int, default=None, help="Overlap in model tokens (default LLAMAPG_CHUNK_OVERLAP).")
@click.option("--context-headers/--no-context-headers", default=None,
              help="Embed and index each chunk with its document's title and heading path "
                   "(the collection's setting, on by default; a change re-chunks the collection).")
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary.")
def ingest(path: Path, collection: str, chunk_size: int | None, chunk_overlap: int | None,
           context_headers: bool | None, quiet: bool) -> None:
    """Ingest the documents under PATH into a collection, through the Dagster assets."""
    from llamapg.collections import validate_name
    from pipelines.ingest import IngestError
    from pipelines.ingest import ingest as run_ingest
    from pipelines.instance import dagster_instance

    try:
        validate_name(collection)
        result = run_ingest(
            collection,
            path,
            instance=dagster_instance(),
            log_level="WARNING" if quiet else "INFO",
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            context_headers=context_headers,
        )
    except (IngestError, ValueError) as exc:
        _fail(str(exc))
    documents = result.metadata.get("raw_documents", {})
    chunked = result.metadata.get("chunks", {})
    vectors = result.metadata.get("embeddings", {})
    index = result.metadata.get("hnsw_index", {})
    index_state = (f"index built in {vectors['index_build_s']}s" if vectors.get("index_built")
                   else f"indexes {index.get('action', '?')}")
    click.echo(
        f"\ncollection {collection}: {documents.get('documents_seen', 0)} documents "
        f"({documents.get('documents_new', 0)} new, {documents.get('documents_changed', 0)} changed, "
        f"{documents.get('documents_skipped', 0)} unchanged, {documents.get('documents_failed', 0)} failed, "
        f"{documents.get('documents_removed', 0)} removed); "
        f"{chunked.get('chunks_written', 0)} chunks written, {vectors.get('vectors_written', 0)} vectors "
        f"({result.model}); {index_state}"
    )
    failures = documents.get("failures")
    if failures and failures != "none":
        click.echo("failed documents:\n" + failures)


@main.command()
@click.argument("question")
@click.option("--collection", "-c", required=True)
@click.option("-k", default=5, show_default=True, help="Number of source chunks.")
@click.option("--api", "api_url", default=None, help="Ask a running query service (e.g. http://127.0.0.1:8000) instead.")
@click.option("--key", "api_key", envvar="LLAMAPG_API_KEY", default=None,
              help="The API key for --api (default: $LLAMAPG_API_KEY, else this machine's local key).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def query(question: str, collection: str, k: int, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Answer QUESTION from a collection and show the sources with pages and similarity."""
    if api_url:
        result = _ask_api(api_url, api_key, question, collection, k)
    else:
        result = _ask_here(question, collection, k)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    plans = f"{result['plan']} plan"
    if result["retrieval_mode"] == "hybrid" and result.get("lexical_plan"):
        plans += f", BM25 {result['lexical_plan']}"
    click.echo(f"{result['answer']}\n\n({result['mode']} answer; {result['model']}, {result['retrieval_mode']} "
               f"retrieval, {plans}, {result['timings_ms']['total']:.0f} ms)")
    click.echo(format_sources(result["sources"], result["retrieval_mode"]))


SCORE_NAMES = {"vector": "cosine", "lexical": "BM25", "hybrid": "RRF"}


def format_sources(sources: list[dict], retrieval_mode: str) -> str:
    """The sources best first: [n] is the number that cites the source in the answer ([-] when it
    did not fit the context), then its rank, the score it was ranked by, and its cosine similarity."""
    lines = [f"\nsources, best first ([n] = cited as [n] in the answer; score = "
             f"{SCORE_NAMES.get(retrieval_mode, retrieval_mode)}):"]
    for source in sources:
        cited = f"[{source['citation']}]" if source.get("citation") else "[-]"
        scores = [f"rank {source['rank']}"]
        if source.get("rerank_score") is not None:
            scores.append(f"rerank {source['rerank_score']:.3f}")
        if source.get("score") is not None:
            scores.append(f"score {source['score']:.4g}")
        if source.get("similarity") is not None:
            scores.append(f"similarity {source['similarity']:.3f}")
        where = HEADING_JOINER.join([source["source"] + (f", page {source['page']}" if source.get("page") else ""),
                                     *source.get("headings", ())])
        snippet = " ".join(source["text"].split())[:160]
        lines.append(f"  {cited:>4} {'  '.join(scores)}  {where}\n       {snippet}")
    return "\n".join(lines)


def _ask_here(question: str, collection: str, k: int) -> dict:
    from llamapg.bootstrap import prepare_database
    from llamapg.collections import UnknownCollection
    from llamapg.rag import Ask, NoActiveModel, RagEngine
    from query_service.presenters import retrieval_fields, sources_out

    settings = get_settings()
    use_threads(settings.query_threads)
    try:
        with db.connection(prepare_database(settings)) as conn:
            result = RagEngine(settings).answer(db.SingleConnection(conn), Ask(question, collection, k), endpoint="cli")
    except (UnknownCollection, NoActiveModel) as exc:
        _fail(str(exc.args[0]))
    return {
        "answer": result.answer,
        "mode": result.mode,
        **retrieval_fields(result.search),
        # The same fields, in the same order, as the API's sources.
        "sources": [source.model_dump() for source in sources_out(result.search, result.prepared.citations)],
        "timings_ms": result.timings_ms,
    }


def _ask_api(api_url: str, api_key: str | None, question: str, collection: str, k: int) -> dict:
    import httpx

    from llamapg.keys import local_key_file

    local = local_key_file(get_settings())
    if api_key is None and local.is_file():
        api_key = local.read_text().strip()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(f"{api_url.rstrip('/')}/query", headers=headers, timeout=120,
                              json={"question": question, "collection": collection, "k": k})
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the query service at {api_url}: {exc}")
    if response.status_code != 200:
        _fail(f"query service answered {response.status_code}: {response.json().get('detail', response.text)}")
    return response.json()


@main.command("eval")
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--collection", "-c", default=None, help="Collection name (default: the dataset folder's name).")
@click.option("--modes", default="vector,lexical,hybrid", show_default=True)
@click.option("--model", "model_name", default=None, help="Evaluate this registered model instead of the active one.")
@click.option("--split", default="test", show_default=True, help="qrels/<split>.tsv")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write {mode: {ndcg@10, recall@100, mrr@10, p50_ms, p99_ms}} here.")
@click.option("--skip-ingest", is_flag=True, help="The corpus is already ingested in the collection.")
@click.option("--context-headers/--no-context-headers", default=None,
              help="Ingest with chunk headers on or off (default: the collection's setting, on).")
def eval_command(dataset_dir: Path, collection: str | None, modes: str, model_name: str | None, split: str,
                 json_path: Path | None, skip_ingest: bool, context_headers: bool | None) -> None:
    """Ingest a BEIR dataset's corpus through the pipeline and measure retrieval quality per mode."""
    from llamapg import eval_runner
    from llamapg.bootstrap import prepare_database
    from llamapg.evaluation import format_table, load_beir
    from llamapg.rag import RagEngine
    from pipelines.ingest import IngestError
    from pipelines.ingest import ingest as run_ingest
    from pipelines.instance import dagster_instance

    settings = get_settings()
    name = collection or dataset_dir.resolve().name.lower()
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = set(chosen) - set(eval_runner.MODES)
    if unknown:
        _fail(f"unknown mode(s) {', '.join(sorted(unknown))}: choose from {', '.join(eval_runner.MODES)}")
    try:
        dataset = load_beir(dataset_dir, split)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    click.echo(f"{dataset_dir}: {len(dataset.qrels)} {split} queries")
    if not skip_ingest:
        try:
            run_ingest(name, eval_runner.staging_dir(settings.home.resolve(), name, dataset),
                       instance=dagster_instance(), log_level="WARNING", context_headers=context_headers)
        except IngestError as exc:
            _fail(str(exc))
    use_threads(settings.query_threads)
    with db.connection(prepare_database(settings)) as conn:
        eval_runner.remember_dataset(conn, name, dataset_dir)
        conn.commit()
        results = eval_runner.run(
            conn, RagEngine(settings), name, dataset, chosen, model_name,
            progress=lambda mode, done, total: click.echo(f"  {mode}: {done}/{total}", err=True),
        )
    click.echo(format_table(results))
    if json_path:
        json_path.write_text(json.dumps({mode: {k: v for k, v in m.items() if k != "queries"} for mode, m in results.items()},
                                        indent=2) + "\n")
        click.echo(f"wrote {json_path}")


# ---------------------------------------------------------------- benchmarks
BENCHMARKS = ("retrieval", "agreement", "load", "ingest", "peers", "reading_order", "vector_shape")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.argument("part", type=click.Choice(BENCHMARKS))
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def bench(part: str, arguments: tuple[str, ...]) -> None:
    """Run a benchmark from a source checkout: retrieval, agreement, load, ingest, peers, reading_order
    or vector_shape (`llamapg bench PART --help`)."""
    import runpy

    if not (REPO_ROOT / "benchmarks" / f"{part}.py").is_file():
        _fail(f"benchmarks/{part}.py not found: benchmarks run from a source checkout of llamapg")
    sys.path.insert(0, str(REPO_ROOT))
    sys.argv = [f"llamapg bench {part}", *arguments]
    runpy.run_module(f"benchmarks.{part}", run_name="__main__")


# ---------------------------------------------------------------- services
@main.command()
@click.option("--host", default=None, help="Default LLAMAPG_API_HOST.")
@click.option("--port", type=int, default=None, help="Default LLAMAPG_API_PORT.")
def serve(host: str | None, port: int | None) -> None:
    """Run the query API (FastAPI + uvicorn)."""
    import uvicorn

    # The app builds its URLs and its exposure warning from the settings: they must match the bind.
    for variable, value in (("LLAMAPG_API_HOST", host), ("LLAMAPG_API_PORT", port)):
        if value is not None:
            os.environ[variable] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run(
        "query_service.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
    )


@main.command("dagster")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default LLAMAPG_DAGSTER_PORT.")
def dagster_ui(host: str, port: int | None) -> None:
    """Run the Dagster UI and daemon on the llamapg code location (`dagster dev`)."""
    from llamapg.bootstrap import prepare_database
    from pipelines.instance import dagster_environment

    settings = get_settings()
    prepare_database(settings)
    _register_known_partitions()
    env = {**os.environ, **dagster_environment(settings)}
    # Started in the background of a script, this process inherits SIGINT (and so SIGTERM, the way
    # `dagster dev` handles it) as ignored, and an ignored signal stays ignored across exec: then
    # nothing short of SIGKILL stops Dagster. Restore the defaults before handing over.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    command = [
        str(Path(sys.executable).with_name("dagster")), "dev",
        "-w", str(REPO_ROOT / "workspace.yaml"),
        "-h", host,
        "-p", str(port or settings.dagster_port),
    ]
    os.execve(command[0], command, env)


def _register_known_partitions() -> None:
    """Collections and models from the database become Dagster partitions, so the UI lists them."""
    from llamapg import collections, models
    from pipelines.ingest import register_partitions
    from pipelines.instance import dagster_instance

    instance = dagster_instance()
    with db.connection() as conn:
        names = [c.name for c in collections.list_collections(conn)]
        model_names = [m.name for m in models.list_models(conn) if m.status != "retired"]
    register_partitions(instance, None, model_names)
    for name in names:
        register_partitions(instance, name, [])


@main.group("models")
def models_group() -> None:
    """Embedding models: add one, backfill it, activate it, retire the old one."""


@models_group.command("list")
def models_list() -> None:
    """Each model's status, coverage per collection and last check results."""
    from llamapg import models, quality
    from llamapg.bootstrap import prepare_database

    with db.connection(prepare_database()) as conn:
        for model in models.list_models(conn):
            click.echo(
                f"{model.name}  [{model.status}]  {model.provider}:{model.model}  {model.dimensions}d, "
                f"max {model.max_input_tokens} tokens"
            )
            if model.status == "retired":
                continue
            for row in quality.coverage(conn, model):
                share = row["embedded"] / row["chunks"] if row["chunks"] else 1.0
                click.echo(f"    {row['collection']:24} {row['embedded']:>7}/{row['chunks']:<7} chunks embedded ({share:.0%})")
            checks = model.checks or {}
            if checks:
                click.echo(
                    f"    index valid: {checks.get('index_valid')}, recall@10: {checks.get('recall_at_10')} "
                    f"(checked {checks.get('checked_at', '?')})"
                )


@models_group.command("add")
@click.argument("name")
@click.option("--provider", type=click.Choice(["local", "openai"]), required=True)
@click.option("--model", "model_id", required=True, help="Local model directory (or all-MiniLM-L6-v2), or the remote model name.")
@click.option("--dimensions", type=int, required=True)
@click.option("--max-input-tokens", type=int, default=None, help="Default 256 for local models, 8191 for openai.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default LLAMAPG_OPENAI_BASE_URL).")
def models_add(name: str, provider: str, model_id: str, dimensions: int, max_input_tokens: int | None, base_url: str | None) -> None:
    """Register a model: a new partition of the pipeline. Nothing is embedded until it is backfilled."""
    from llamapg import models
    from llamapg.bootstrap import prepare_database
    from llamapg.embedders import credentials_problem
    from pipelines.ingest import register_partitions
    from pipelines.instance import dagster_instance

    problem = credentials_problem(provider, name, base_url)
    if problem:
        _fail(problem)
    limit = max_input_tokens or (256 if provider == "local" else 8191)
    try:
        with db.connection(prepare_database()) as conn:
            model = models.register(conn, name, provider=provider, model=model_id, dimensions=dimensions,
                                    max_input_tokens=limit, base_url=base_url)
    except (ValueError, psycopg.errors.IntegrityError) as exc:  # a bad name violates a CHECK constraint
        _fail(str(exc).strip().splitlines()[0])
    register_partitions(dagster_instance(), None, [model.name])
    click.echo(f"registered {model.name} ({model.status}); next: llamapg models backfill {model.name}")


@models_group.command("backfill")
@click.argument("name")
@click.option("--quiet", "-q", is_flag=True)
def models_backfill(name: str, quiet: bool) -> None:
    """Embed every collection with NAME and build its index (the same partitions as a UI backfill)."""
    from llamapg.models import UnknownModel
    from pipelines.backfill import backfill_model
    from pipelines.ingest import IngestError
    from pipelines.instance import dagster_instance

    try:
        result = backfill_model(name, instance=dagster_instance(), log_level="WARNING" if quiet else "INFO")
    except (IngestError, UnknownModel) as exc:
        _fail(str(exc))
    failed = [check for check, passed in result.checks.items() if not passed]
    click.echo(f"{name}: {result.vectors_written} vectors written over {len(result.collections)} collections; "
               + (f"failed checks: {', '.join(failed)}" if failed else "all checks passed"))
    if result.problems:
        click.echo(f"not ready to activate: {'; '.join(result.problems)}")
    else:
        click.echo(f"next: llamapg models activate {name}")


@models_group.command("activate")
@click.argument("name")
@click.option("--force", is_flag=True, help="Activate even if coverage or checks are incomplete.")
def models_activate(name: str, force: bool) -> None:
    """Switch queries to NAME, atomically; queries in flight finish on the previous model."""
    from llamapg import collections, documents, models, quality
    from llamapg.bootstrap import prepare_database

    with db.connection(prepare_database()) as conn:
        try:
            model = models.get(conn, name)
        except models.UnknownModel as exc:
            _fail(str(exc.args[0]))
        problems = quality.readiness(conn, model)
        if problems and not force:
            _fail(f"{name} is not ready: " + "; ".join(problems) + " (use --force to activate anyway)")
        active = models.activate(conn, name)
        promoted = sum(documents.promote_ready(conn, c.id, active)[0] for c in collections.list_collections(conn))
    click.echo(f"{name} is active" + (f"; {promoted} updated documents swapped in" if promoted else ""))


@models_group.command("retire")
@click.argument("name")
def models_retire(name: str) -> None:
    """Drop NAME's vectors and index and remove its partitions."""
    from llamapg import models
    from llamapg.bootstrap import prepare_database
    from pipelines.backfill import forget_model_partition
    from pipelines.instance import dagster_instance

    with db.connection(prepare_database()) as conn:
        try:
            models.retire(conn, name)
        except (ValueError, models.UnknownModel) as exc:
            _fail(str(exc.args[0]))
    forget_model_partition(dagster_instance(), name)
    click.echo(f"{name} retired: vectors and index dropped")


# ---------------------------------------------------------------- API keys
@main.group("keys")
def keys_group() -> None:
    """API keys for the query service: a role (read, write, admin) over named collections or all."""


@keys_group.command("create")
@click.option("--role", type=click.Choice(["read", "write", "admin"]), required=True,
              help="read: search, query, list and read documents; write: also upload and delete; admin: also "
                   "server paths and metrics.")
@click.option("--collection", "collection_names", multiple=True,
              help="A collection the key may use (repeatable); none: every collection.")
@click.option("--name", default="", help="A label for `keys list`.")
def keys_create(role: str, collection_names: tuple[str, ...], name: str) -> None:
    """Create a key; it is printed once, alone on the last line, and never stored."""
    from llamapg import keys
    from llamapg.bootstrap import prepare_database

    settings = get_settings()
    try:
        with db.connection(prepare_database(settings)) as conn:
            key, token = keys.create(conn, keys.server_secret(settings), role, list(collection_names), name)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"key {key.id} ({key.prefix}...): {key.role} on {key.scope}; store it now, it is not shown again:")
    click.echo(token)


@keys_group.command("list")
def keys_list() -> None:
    """Every key: id, prefix, role, collections, created and revoked."""
    from llamapg import keys
    from llamapg.bootstrap import prepare_database

    with db.connection(prepare_database()) as conn:
        listed = keys.list_keys(conn)
    for key in listed:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        label = f"  {key.name}" if key.name else ""
        click.echo(f"{key.id:>4}  {key.prefix}...  {key.role:5}  {key.scope}  created {key.created_at:%Y-%m-%d %H:%M}"
                   f"  {state}{label}")
    if not listed:
        click.echo("no keys: create one with `llamapg keys create --role read|write|admin [--collection NAME]`")


@keys_group.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke KEY, by id or by the prefix `keys list` shows (the service notices within LLAMAPG_API_KEY_CACHE_S)."""
    from llamapg import keys
    from llamapg.bootstrap import prepare_database

    with db.connection(prepare_database()) as conn:
        revoked = keys.revoke(conn, key)
    if not revoked:
        _fail(f"no active key {key!r}: see `llamapg keys list`")
    for item in revoked:
        click.echo(f"revoked key {item.id} ({item.prefix}...)")


@keys_group.command("local")
def keys_local() -> None:
    """The admin key `make run` uses on this machine, kept in LLAMAPG_HOME/local-api-key (0600); made
    when missing or revoked."""
    from llamapg import keys
    from llamapg.bootstrap import prepare_database
    from llamapg.private_files import create_private_file, private_dir

    settings = get_settings()
    path = keys.local_key_file(settings)
    secret = keys.server_secret(settings)
    with db.connection(prepare_database(settings)) as conn:
        token = path.read_text().strip() if path.is_file() else ""
        if not token or keys.find(conn, secret, token) is None:
            _, token = keys.create(conn, secret, "admin", None, "local (make run)")
            private_dir(path.parent)
            path.unlink(missing_ok=True)
            with create_private_file(path) as out:
                out.write(token.encode() + b"\n")
    click.echo(token)


if __name__ == "__main__":
    main()
