"""Uploads and document status: POST /collections/{name}/documents, GET and DELETE /documents/{id}."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile, status
from psycopg_pool import ConnectionPool

from llamapg import collections, documents, uploads
from llamapg.settings import Settings
from query_service.dependencies import get_pool, get_settings
from query_service.schemas import DocumentOut, UploadedDocument, UploadResponse

router = APIRouter(tags=["documents"])


def _metadata(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"metadata is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise HTTPException(422, "metadata must be a JSON object")
    return value


@router.post(
    "/collections/{name}/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadResponse,
    responses={422: {"description": "Invalid collection name, file type or metadata"}},
)
def upload_documents(
    name: str,
    request: Request,
    files: list[UploadFile] = File(description="One or more documents."),
    metadata: str | None = Form(default=None, description="A JSON object stored on every uploaded document."),
    pool: ConnectionPool = Depends(get_pool),
    settings: Settings = Depends(get_settings),
) -> UploadResponse:
    """Store the files in the collection's landing area (created if new); the pipeline's sensor
    ingests them. Each document's progress is at its `status_url`."""
    try:
        collections.validate_name(name)
        names = [uploads.safe_file_name(upload.filename) for upload in files]
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    extra = _metadata(metadata)
    with pool.connection() as conn, conn.transaction():
        stored = [uploads.store(conn, settings, name, file_name, upload.file, extra)
                  for file_name, upload in zip(names, files)]
    return UploadResponse(
        collection=name,
        documents=[
            UploadedDocument(
                id=item.document_id,
                source=item.source_uri,
                status="pending",
                status_url=str(request.url_for("get_document", document_id=item.document_id)),
                size_bytes=item.size_bytes,
            )
            for item in stored
        ],
    )


@router.get("/documents/{document_id}", response_model=DocumentOut, responses={404: {"description": "Unknown document"}})
def get_document(document_id: int, pool: ConnectionPool = Depends(get_pool)) -> DocumentOut:
    with pool.connection() as conn:
        found = documents.get(conn, document_id)
    return DocumentOut(**{**found.__dict__, "source": found.source_uri})


@router.delete(
    "/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "Unknown document"}, 409: {"description": "Not an uploaded document"}},
)
def delete_document(
    document_id: int, pool: ConnectionPool = Depends(get_pool), settings: Settings = Depends(get_settings)
) -> Response:
    """Delete an uploaded document with its file, chunks and search hits, at once."""
    with pool.connection() as conn:
        documents.get(conn, document_id)
        deleted = uploads.delete(conn, settings, document_id)
    if not deleted:
        raise HTTPException(
            409, "this document comes from the collection's source directory: delete the file there instead"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
