"""Dependency graph of services: cycle detection and start order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as a path that returns to its start (`a, b, a`), or None.

    Edges point from a service to what it depends on; unknown targets are ignored here
    (they are reported separately as unknown names).
    """
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for dep in edges.get(node, ()):
            if dep not in colour:
                continue
            if colour[dep] == grey:
                return [*stack[stack.index(dep) :], dep]
            if colour[dep] == white and (found := visit(dep)):
                return found
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(edges):
        if colour[node] == white and (found := visit(node)):
            return found
    return None


def start_order(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Services ordered so that each comes after its dependencies (ties by name).

    Assumes no cycle (the loader rejects cycles before anything is ordered).
    """
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        done.add(node)
        for dep in sorted(edges.get(node, ())):
            if dep in edges:
                visit(dep)
        order.append(node)

    for node in sorted(edges):
        visit(node)
    return order


def dependents(edges: Mapping[str, Sequence[str]], name: str) -> set[str]:
    """Services that depend on `name`, directly or not."""
    found: set[str] = set()
    frontier = [name]
    while frontier:
        current = frontier.pop()
        for node, deps in edges.items():
            if current in deps and node not in found:
                found.add(node)
                frontier.append(node)
    return found
