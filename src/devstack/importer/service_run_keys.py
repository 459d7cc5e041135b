"""The keys of a compose service that set how it runs rather than what: `restart`,
`deploy` (replicas, GPU reservations) and `develop.watch` (out of importer/services.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.importer import fields, passthrough
from devstack.importer.notes import Notes
from devstack.importer.source import ComposeSource, DataPath


class RunKeys:
    """Mixed into ServiceMapper: it sets `src`, `notes` and `out_dir`."""

    src: ComposeSource
    notes: Notes
    out_dir: Path

    def restart(self, value: Any, path: DataPath, target: DataPath) -> str | None:
        text = fields.fixed(self.src, self.src.as_written(path, value), path, self.notes, target)
        if text in ("no", "always"):
            return text
        if text.startswith("on-failure"):
            if ":" in text:
                self.notes.no_effect(path, "devstack retries with backoff, without a limit", target)
            return "on-failure"
        if text == "unless-stopped":
            self.notes.no_effect(path, "always: `devstack stop` keeps it stopped", target)
            return "always"
        self.notes.changes(path, f"dropped: unknown restart policy {text!r}", target)
        return None

    def deploy(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        for key, item in (value or {}).items():
            item_path = (*path, key)
            if key == "replicas":
                entry.setdefault("replicas", int(item))
            elif key == "resources" and "devices" in str((item or {}).get("reservations")):
                self.gpus(item, item_path, target, entry)
            elif key == "resources":
                self.notes.no_effect(item_path, "devstack does not limit resources", target)
            elif key == "restart_policy":
                self.notes.no_effect(item_path, "use restart:", target)
            else:
                self.notes.no_effect(item_path, "a Swarm setting; compose ignores it too", target)

    def gpus(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        """`deploy.resources.reservations.devices`: device requests (GPUs), as compose's
        `gpus` asks the engine for them; limits and the rest stay without effect."""
        devices = value["reservations"]["devices"]
        others = {k: v for k, v in value.items() if k != "reservations"}
        if passthrough.accepts("gpus", devices):
            entry["gpus"] = devices
        else:
            self.notes.changes(path, "dropped: no device (GPU) is reserved", target)
        if others or set(value["reservations"]) - {"devices"}:
            self.notes.no_effect(path, "devstack does not limit resources", target)

    def develop(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        rules = []
        for index, rule in enumerate((value or {}).get("watch", [])):
            rule_path = (*path, "watch", index)
            action = rule.get("action")
            out: dict[str, Any] = {
                "path": fields.relative_path(self.src, str(rule.get("path")), self.out_dir)
            }
            if action == "rebuild":
                out["action"] = "rebuild"
            elif action == "sync" and rule.get("target"):
                out.update(action="sync", target=rule["target"])
            elif action == "restart":
                out["action"] = "restart"
            elif action == "sync+restart" and rule.get("target"):
                # Closest: the files are copied in; a process that does not reload them
                # itself is not restarted.
                out.update(action="sync", target=rule["target"])
                self.notes.changes(
                    rule_path,
                    "synced without the restart: devstack's sync does not restart",
                    target,
                )
            elif action == "sync+exec" and rule.get("target"):
                out.update(action="sync", target=rule["target"])
                self.notes.changes(rule_path, "synced; the exec command does not run", target)
            else:
                self.notes.changes(
                    rule_path, f"dropped: watch action {action!r} has no equivalent", target
                )
                continue
            if rule.get("initial_sync"):
                self.notes.no_effect(
                    (*rule_path, "initial_sync"),
                    "the container starts from a fresh build of the same files",
                    target,
                )
            if rule.get("ignore"):
                out["ignore"] = [str(i) for i in rule["ignore"]]
            rules.append(out)
        for key in value or {}:
            if key != "watch":
                self.notes.no_effect((*path, key), "devstack has no equivalent", target)
        if rules:
            entry["watch"] = rules
