"""The environment dialog (`e`): pick an environment, see `up`'s plan for it, apply."""

from __future__ import annotations

from devstack.tui.api import JSON, ApiClient
from devstack.tui.screens.dialog import Answer, PreviewDialog


class EnvironmentDialog(PreviewDialog):
    def __init__(self, client: ApiClient, environments: list[str], current: str) -> None:
        self.current = current
        choices = [(e, f"{e} (current)" if e == current else e) for e in environments]
        super().__init__(client, f"Switch the stack's environment (now {current}) to:", choices)

    def initial_index(self) -> int:
        return next((i for i, (value, _) in enumerate(self.choices) if value != self.current), 0)

    def fetch(self, choice: str) -> JSON:
        return self.client.up(environment=choice, dry_run=True)

    def render_preview(self, preview: JSON) -> str:
        text = str(preview.get("text") or "").strip()
        waiting = preview.get("waiting") or []
        lines = [f"plan for {self.choice}:", text or "nothing to do"]
        if waiting:
            lines.append(f"waiting: {', '.join(waiting)}")
        return "\n".join(lines)

    def answer(self, choice: str, preview: JSON, confirmed: bool) -> Answer:
        return {"environment": choice}
