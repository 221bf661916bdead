"""Phase 2 of a run: tiling jobs through the pool, a scene's record saved when its last job is done.

At most two jobs per worker are in flight. A failed scene's chips are removed; without ``keep_going`` the first
failure stops the run and every unfinished scene's chips are removed too, so a failed run leaves no partial scene.
"""
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from tqdm import tqdm

from ..scenes import Scene
from .config import TileConfig
from .errors import TilingError
from .jobs import TileJob, make_jobs
from .layout import remove_files
from .pool import Pool
from .report import TileReport
from .resume import drop_stale_chips, save_record
from .scene_plan import ScenePlan
from .worker import tile_job


def tile_all(pool: Pool, scenes: Sequence[Scene], infos: Dict[str, ScenePlan], config: TileConfig, out: Path,
             keep_going: bool, progress: bool, report: TileReport) -> Tuple[Dict[str, dict], float]:
    """Run the tiling jobs of all scenes; returns the finished scene records and the megapixels processed."""
    jobs: Dict[str, List[TileJob]] = {}
    for scene in scenes:
        drop_stale_chips(out, scene.name)
        jobs[scene.name] = make_jobs(scene, infos[scene.name], config, out, pool.workers)
    total = sum(len(j.windows) for js in jobs.values() for j in js)
    pending: Dict[Future, TileJob] = {}
    results: Dict[str, List[dict]] = {n: [] for n in jobs}
    written: Dict[str, List[str]] = {n: [] for n in jobs}
    remaining = {n: len(js) for n, js in jobs.items()}
    failed: Dict[str, str] = {}
    finished: Dict[str, dict] = {}
    any_valid = {n: False for n in jobs}
    queue = [j for js in jobs.values() for j in js]
    bar = tqdm(total=total, unit='win', desc='tiling', disable=not progress, dynamic_ncols=True)
    try:
        while queue or pending:
            while queue and len(pending) < 2 * pool.workers:
                job = queue.pop(0)
                if job.scene.name not in failed:
                    pending[pool.submit(tile_job, job)] = job
            if not pending:
                continue
            done_set, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done_set:
                job = pending.pop(fut)
                name = job.scene.name
                res = fut.result()
                bar.update(len(job.windows))
                for key, seconds in res['timings'].items():
                    report.timings[key] = report.timings.get(key, 0.0) + seconds
                written[name].extend(res['written'])
                if res['error'] is not None:
                    failed.setdefault(name, res['error'])
                    continue
                results[name].extend(res['records'])
                any_valid[name] |= res['any_valid']
                remaining[name] -= 1
                if remaining[name] == 0 and name not in failed:
                    info = infos[name]
                    records = sorted(results[name], key=lambda r: (r['window'][1], r['window'][0]))
                    reason = None if records else (f'no chip reaches --min-valid {config.min_valid}'
                                                   if any_valid[name] else 'the scene is entirely nodata')
                    finished[name] = save_record(out, name, info.key, info, records, reason)
            if failed and not keep_going:
                queue.clear()
    finally:
        bar.close()
        running = [fut for fut in pending if not fut.cancel()]
        wait(running)  # let started jobs finish so that their chips can be accounted for (and removed)
        for fut in running:
            if not fut.cancelled() and fut.exception() is None:
                written[pending[fut].scene.name].extend(fut.result()['written'])
    for name in failed:
        remove_files(written[name])
    if failed and not keep_going:
        for name in jobs:
            if name not in finished:
                remove_files(written[name])
        first = next(iter(failed.values()))
        more = f' (and {len(failed) - 1} more scene(s) failed)' if len(failed) > 1 else ''
        raise TilingError(first + more)
    report.failed.update(failed)
    return finished, sum(infos[n].grid.width * infos[n].grid.height / 1e6 for n in finished)
