"""GET /prompts: the named templates requests can choose from."""

from fastapi import APIRouter, Depends

from llamapg.rag import RagEngine
from query_service.auth import reader
from query_service.dependencies import get_engine
from query_service.schemas import PromptOut

router = APIRouter(tags=["prompts"])


@router.get("/prompts", response_model=list[PromptOut], dependencies=[Depends(reader)])
def list_prompts(engine: RagEngine = Depends(get_engine)) -> list[PromptOut]:
    default, prompts = engine.prompts.all()
    return [
        PromptOut(name=name, description=p.description, system=p.system, user=p.user, default=name == default)
        for name, p in sorted(prompts.items())
    ]
