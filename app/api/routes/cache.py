"""The semantic cache: ``GET /api/cache-stats`` and ``DELETE /api/cache`` (admin token)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AdminDep, PartsDep
from app.core.schemas import CacheCleared, CacheStats, error_responses

router = APIRouter(tags=["cache"])


@router.get("/api/cache-stats", response_model=CacheStats)
async def cache_stats(parts: PartsDep) -> CacheStats:
    cache = parts.cache
    hits = sum(cache.hits.values())
    lookups = hits + cache.misses
    return CacheStats(
        hits=dict(cache.hits), misses=cache.misses,
        hit_ratio=round(hits / lookups, 4) if lookups else None,
        size=len(cache), capacity=cache.capacity, fill_ratio=round(cache.fill_ratio, 4),
        evictions=dict(cache.evictions), similarity_threshold=cache.threshold,
        ttl_seconds=cache.ttl_seconds,
    )


@router.delete("/api/cache", response_model=CacheCleared, dependencies=[AdminDep],
               responses=error_responses(401, 403))
async def clear_cache(parts: PartsDep) -> CacheCleared:
    return CacheCleared(cleared=parts.cache.clear())
