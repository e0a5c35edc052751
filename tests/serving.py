"""What the serving tests share: callers, a real uvicorn server on a free loopback port, and the
real Graph SDK clients (msgraph-sdk for v1.0, msgraph-beta-sdk for beta) pointed at it."""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.response_handler import ResponseHandler
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory

from meeting_rules.http import APPLICATION_ROLE, DELEGATED_SCOPE, InMemoryDirectory

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ALICE = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
BOB = "1f35f2e6-9cab-44ad-8d5a-b74c14720000"
CAROL = "0c4a1b2e-3d5f-4a6b-8c7d-9e0f1a2b3c4d"


def callers() -> InMemoryDirectory:
    """alice (delegated), app (an application whose policy grants bob), app-no-policy."""
    found = InMemoryDirectory()
    found.add_delegated_user(
        token="alice", tenant_id=TENANT, user_id=ALICE, upn="alice@contoso.com",
        scopes={DELEGATED_SCOPE},
    )  # fmt: skip
    found.add_user(tenant_id=TENANT, user_id=BOB, upn="bob@contoso.com")
    found.add_user(tenant_id=TENANT, user_id=CAROL, upn="carol@contoso.com")
    found.add_application(
        token="app", tenant_id=TENANT, app_id="app-1", roles={APPLICATION_ROLE},
        policy_users=[BOB],
    )  # fmt: skip
    found.add_application(
        token="app-no-policy", tenant_id=TENANT, app_id="app-2", roles={APPLICATION_ROLE},
        policy_users=[],
    )  # fmt: skip
    return found


@contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    """``app`` served by a real uvicorn server on a free loopback port, in a thread; yields its
    base URL (``http://127.0.0.1:PORT``). The server stops, gracefully, when the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    # log_config=None: uvicorn's loggers propagate, so a test's caplog sees what they log.
    # timeout_keep_alive: uvicorn closes a kept-alive connection idle for 5 s by default; an SDK
    # client that spends longer than that reading its first answer (its model classes imported
    # on first use, under coverage, on a loaded machine) then sends its next request on a
    # connection the server is closing, and httpx raises ReadError.
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        log_config=None,
        timeout_keep_alive=60,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        listener.close()
        assert not thread.is_alive(), "uvicorn did not stop"


class _Token(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def graph_client(
    version: str, base_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None
) -> Any:
    """The real SDK's ``GraphServiceClient`` of ``version`` (``v1.0``: msgraph-sdk; ``beta``:
    msgraph-beta-sdk) with its default middleware (retry, redirect, the ``/me`` rewrite), a
    bearer token, and ``base_url`` (or ``transport``, such as ``httpx.ASGITransport``)."""
    # The two SDKs have the same shape under two package names (and msgraph-beta-sdk no types).
    package = "msgraph" if version == "v1.0" else "msgraph_beta"
    graph: Any = importlib.import_module(package)
    options = importlib.import_module(f"{package}.graph_request_adapter").options

    # As docs/serving.md's snippet: no proxy from the environment, and time for a slow CI machine.
    http = httpx.AsyncClient(transport=transport, timeout=60, trust_env=False)
    core: Any = importlib.import_module("msgraph_core")
    client = core.GraphClientFactory.create_with_default_middleware(client=http, options=options)
    adapter = graph.GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(_Token(token)), client
    )
    adapter.base_url = f"{base_url}/{version}"
    return graph.GraphServiceClient(request_adapter=adapter)


def me(client: Any) -> Any:
    """``client.me``: a property in msgraph-sdk, a method in msgraph-beta-sdk."""
    found = client.me
    return found() if callable(found) else found


class StatusRecorder(ResponseHandler):
    """A response handler that notes each answer's status and parses it as the SDK would."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.statuses: list[int] = []
        self.bodies: list[bytes] = []

    async def handle_response_async(self, response: Any, error_map: Any) -> Any:
        assert isinstance(response, httpx.Response)  # what kiota's httpx adapter hands over
        self.statuses.append(response.status_code)
        self.bodies.append(response.content)
        root = JsonParseNodeFactory().get_root_parse_node("application/json", response.content)
        return root.get_object_value(self.model)
