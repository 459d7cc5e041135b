"""How the daemon answers an error: one exception type per HTTP status, and a last resort.

| exception | status | the CLI exits |
|---|---|---|
| ManifestError | 422, with the located problems | 2 |
| UnknownName (a service, environment, backing service... the stack lacks) | 404 | 2 |
| BadRequest, MissingExtra (an argument or an install that cannot work) | 400 | 2 |
| SwapError (a state conflict: a release runs, nothing to undo...) | 409 | 1 |
| DataConflict, a SwapError (a snapshot or restore that cannot be made now) | 409 | 1 |
| PortsInUse (`api: port 8080 is in use by pid ...`, one line per port) | 409 | 1 |
| anything else: a bug or a failing runtime | 500, with `log` | 1 |

The last one is logged with its traceback to the daemon's log (its stderr), and the answer
carries one line and where that log is: never a bare "Internal Server Error".
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devstack.api.models import ErrorResponse
from devstack.config.extras import MissingExtra
from devstack.config.problems import ManifestError
from devstack.daemon.failures import BadRequest, SwapError
from devstack.daemon.portcheck import PortsInUse
from devstack.model.names import UnknownName

MAX_MESSAGE = 300  # an exception's message is cut here: the answer stays one short line
ASGI_ERROR = "Exception in ASGI application"  # uvicorn's own report of the same exception


def _answer(status: int, body: ErrorResponse) -> JSONResponse:
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def one_line(exc: BaseException) -> str:
    """`RuntimeError: boom`: the exception's first line, cut to MAX_MESSAGE characters."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > MAX_MESSAGE:
        first = first[:MAX_MESSAGE] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class _DropUvicornDuplicate(logging.Filter):
    """Starlette re-raises after our handler answered; uvicorn would log the traceback a
    second time, without saying which request it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage().strip() != ASGI_ERROR


def install(app: FastAPI, log: Path) -> None:
    """Register the handlers on `app`; `log` is where unexpected errors are written (the
    daemon's stderr goes to it) and what the answer points at."""

    @app.exception_handler(ManifestError)
    async def manifest_error(_: Request, exc: ManifestError) -> JSONResponse:
        problems = [str(p) for p in exc.problems]
        return _answer(422, ErrorResponse(error="invalid manifest", problems=problems))

    @app.exception_handler(UnknownName)
    async def not_found(_: Request, exc: UnknownName) -> JSONResponse:
        return _answer(404, ErrorResponse(error=str(exc)))

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return _answer(400, ErrorResponse(error=str(exc)))

    @app.exception_handler(MissingExtra)
    async def missing_extra(_: Request, exc: MissingExtra) -> JSONResponse:
        return _answer(400, ErrorResponse(error=str(exc)))

    @app.exception_handler(SwapError)
    async def conflict(_: Request, exc: SwapError) -> JSONResponse:
        return _answer(409, ErrorResponse(error=str(exc)))

    @app.exception_handler(PortsInUse)
    async def ports_in_use(_: Request, exc: PortsInUse) -> JSONResponse:
        return _answer(409, ErrorResponse(error=exc.lines[0], problems=exc.lines[1:]))

    logging.getLogger("uvicorn.error").addFilter(_DropUvicornDuplicate())

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        where = f"{request.method} {request.url.path}"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        report = "".join(traceback.format_exception(exc))
        print(
            f"{stamp} devstack: unexpected error on {where}\n{report}", file=sys.stderr, flush=True
        )
        message = f"the daemon failed on {where}: {one_line(exc)}"
        return _answer(500, ErrorResponse(error=message, log=str(log)))
