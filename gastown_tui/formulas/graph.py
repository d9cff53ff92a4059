"""Dependency-graph helpers shared by parsing and resolution: cycles and a stable order."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


def find_cycle(order: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as `[a, b, ..., a]`, or None. Needs on unknown ids are ignored.

    Nodes are visited in `order` so the cycle reported is the same on every run and starts
    from the earliest node in the file that lies on it.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in order:
        if state.get(root):
            continue
        path: list[str] = [root]
        state[root] = 1
        stack = [iter(needs.get(root, ()))]
        while stack:
            advanced = False
            for dep in stack[-1]:
                if dep not in needs:
                    continue
                if state.get(dep) == 1:
                    return path[path.index(dep) :] + [dep]
                if not state.get(dep):
                    state[dep] = 1
                    path.append(dep)
                    stack.append(iter(needs.get(dep, ())))
                    advanced = True
                    break
            if not advanced:
                state[path.pop()] = 2
                stack.pop()
    return None


def stable_topological_order(order: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """Dependencies first; among steps that are ready at the same time, file order wins.

    Callers check for cycles first; steps caught in a cycle would be left out.
    """
    position = {node: i for i, node in enumerate(order)}
    waiting = {node: {d for d in needs.get(node, ()) if d in position} for node in order}
    dependents: dict[str, list[str]] = {node: [] for node in order}
    for node, deps in waiting.items():
        for dep in deps:
            dependents[dep].append(node)
    ready = [position[node] for node, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        node = order[heapq.heappop(ready)]
        result.append(node)
        for dependent in dependents[node]:
            waiting[dependent].discard(node)
            if not waiting[dependent]:
                heapq.heappush(ready, position[dependent])
    return result
