"""GET /health: the process is alive (it does not touch the database)."""

from fastapi import APIRouter

from query_service.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    return HealthResponse(status="ok")
