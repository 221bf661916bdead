"""Walking an mmengine config tree: every dict with the key path that reaches it."""
from typing import Any, Iterator, Tuple


def walk_dicts(node: Any, key: str = 'model') -> Iterator[Tuple[str, dict]]:
    """``(key path, dict)`` for ``node`` and every dict nested in it (through dicts, lists and tuples)."""
    if isinstance(node, dict):
        yield key, node
        for k, v in node.items():
            yield from walk_dicts(v, f'{key}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from walk_dicts(v, f'{key}[{i}]')
