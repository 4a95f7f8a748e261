"""Uploads and document status: POST /collections/{name}/documents, GET and DELETE /documents/{id}."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Request, Response, UploadFile, status
from psycopg_pool import ConnectionPool

from llamapg import documents, uploads
from llamapg.keys import ApiKey
from llamapg.settings import Settings
from llamapg.textcheck import text_problem
from query_service.auth import check_collection, reader, writer
from query_service.dependencies import get_pool, get_settings
from query_service.schemas import MAX_BIGINT, DocumentOut, UploadedDocument, UploadResponse

router = APIRouter(tags=["documents"])


def _metadata(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise HTTPException(422, f"metadata is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise HTTPException(422, "metadata must be a JSON object")
    problem = text_problem(value)
    if problem:
        raise HTTPException(422, f"metadata cannot be stored: it {problem}")
    return value


@router.post(
    "/collections/{name}/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadResponse,
    responses={404: {"description": "A collection the key may not use"},
               413: {"description": "A file or the request over its size limit"},
               422: {"description": "Invalid collection name, file name, file type or metadata"}},
)
def upload_documents(
    name: str,
    request: Request,
    files: list[UploadFile] = File(description="One or more documents."),
    metadata: str | None = Form(default=None, description="A JSON object stored on every uploaded document."),
    pool: ConnectionPool = Depends(get_pool),
    settings: Settings = Depends(get_settings),
    key: ApiKey = Depends(writer),
) -> UploadResponse:
    """Store the files in the collection's landing area (the collection is created if new); the
    pipeline's sensor ingests them. Each document's progress is at its `status_url`. All files are
    stored or none."""
    check_collection(key, name, "write")
    extra = _metadata(metadata)
    with pool.connection() as conn:
        stored = uploads.store_all(conn, settings, name, [(upload.filename, upload.file) for upload in files], extra)
    return UploadResponse(
        collection=name,
        documents=[
            UploadedDocument(
                id=item.document_id,
                source=item.source_uri,
                status="pending",
                # From the configured address, never from the request's Host header.
                status_url=settings.base_url + request.app.url_path_for("get_document", document_id=item.document_id),
                size_bytes=item.size_bytes,
            )
            for item in stored
        ],
    )


DOCUMENT_ID = Path(ge=1, le=MAX_BIGINT, description="A document id, as uploads and sources return it.")


@router.get("/documents/{document_id}", response_model=DocumentOut,
            responses={404: {"description": "Unknown document (or one in a collection the key may not use)"}})
def get_document(document_id: int = DOCUMENT_ID, pool: ConnectionPool = Depends(get_pool),
                 key: ApiKey = Depends(reader)) -> DocumentOut:
    with pool.connection() as conn:
        found = documents.get(conn, document_id, sees=key.sees)
    return DocumentOut(**{**found.__dict__, "source": found.source_uri})


@router.delete(
    "/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "Unknown document (or one in a collection the key may not use)"},
               409: {"description": "Not an uploaded document"}},
)
def delete_document(
    document_id: int = DOCUMENT_ID, pool: ConnectionPool = Depends(get_pool),
    settings: Settings = Depends(get_settings), key: ApiKey = Depends(writer),
) -> Response:
    """Delete an uploaded document with its file, chunks and search hits, at once."""
    with pool.connection() as conn:
        documents.get(conn, document_id, sees=key.sees)
        deleted = uploads.delete(conn, settings, document_id)
    if not deleted:
        raise HTTPException(
            409, "this document comes from the collection's source directory: delete the file there instead"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
