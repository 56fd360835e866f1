"""Delivery callbacks: the query string eSMS sends for each message family, and the outbox dispatcher.

Callbacks are written to the store's outbox in the same transaction that accepts the message,
due when the message reaches its final state. A dispatcher thread in each worker process leases
due rows, sends the GET off the request path, and records every attempt; a failed attempt
(timeout, connection error, non-2xx) is retried with exponential backoff up to the configured
number of attempts. A lease that is not released (the process died) expires, so callbacks
pending at a crash are sent after the restart.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from mock_server.store.clock import format_vietnam
from mock_server.store.fixtures import Outcome
from mock_server.store import CallbackDraft, MessageDraft, RecipientDraft, Store

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("esms_mock.callbacks")

CHECKPOINT_INTERVAL = 1.0  # seconds between WAL checkpoints
TYPE_FOLLOWER = 26
TYPE_JOURNEY = 27
TYPE_SMS = 2


@dataclass(frozen=True)
class CallbackSettings:
    timeout: float = 5.0
    max_attempts: int = 5
    backoff: float = 1.0  # seconds before the 2nd attempt; doubles each time
    poll_interval: float = 0.2
    workers: int = 4
    allow_any_host: bool = False  # by default only loopback addresses are called


def zalo_result(outcome: Outcome) -> tuple[int, str]:
    if outcome.kind == "zalo_error":
        return outcome.zalo_error, outcome.message or "Zalo rejected the message"
    if outcome.kind == "rejected":
        return -1, "Rejected by eSMS"
    return 0, "Success"


def build_query(draft: MessageDraft, recipient: RecipientDraft, *, type_id: int, by_uid: bool, final_at: float) -> str:
    """The callback's query string, in the vendor's parameter order and `error_info` encoding."""
    delivered = recipient.outcome.kind == "delivered"
    rejected = recipient.outcome.kind == "rejected"
    error, message = zalo_result(recipient.outcome)
    common: list[tuple[str, str]] = [
        ("SMSID", draft.smsid),
        ("SendFailed", "0" if delivered else "1"),
        ("SendStatus", "4" if rejected else "5"),
        ("SendSuccess", "1" if delivered else "0"),
        ("TotalPrice", f"{recipient.price:.4f}"),
        ("TotalReceiver", "1"),
        ("TotalSent", "0" if rejected else "1"),
        ("RequestId", draft.request_ids[0] if draft.request_ids else ""),
        ("TypeId", str(type_id)),
    ]
    encoded = [f"{name}={quote(value, safe='')}" for name, value in common]
    if type_id in (TYPE_FOLLOWER, TYPE_JOURNEY):
        info = json.dumps(
            {"data": {"message_id": recipient.zalo_msg_id, "user_id": recipient.recipient}, "error": error, "message": message},
            separators=(",", ":"),
        ) + "____" + format_vietnam(final_at)
        encoded += [
            f"phonenumber={quote(recipient.recipient, safe='')}",
            # Follower and journey callbacks carry error_info URL-encoded twice.
            f"error_info={quote(quote(info, safe=''), safe='')}",
            f"oaid={quote(draft.oaid or '', safe='')}",
            f"partnerids={recipient.zalo_msg_id if delivered or error == 0 else ''}",
        ]
        return "&".join(encoded)
    if type_id == TYPE_SMS:
        encoded += [f"telcoid={recipient.telcoid}", f"phonenumber={quote(recipient.recipient, safe='')}"]
        return "&".join(encoded)
    if by_uid:
        info = json.dumps(
            {"error": error, "message": message,
             "data": {"delivery_time": None, "message": "Delivered" if delivered else message, "status": 1 if delivered else 0}},
            separators=(",", ":"),
        )
    else:
        # ZNS by phone: a JSON string literal holding the JSON object.
        info = json.dumps(json.dumps({"error": error, "message": message}, separators=(",", ":"), ensure_ascii=False))
    encoded += [
        f"telcoid={9 if by_uid else recipient.telcoid}",
        f"phonenumber={quote(recipient.recipient, safe='')}",
        f"partnerids={recipient.zalo_msg_id if not rejected and error == 0 else ''}",
        f"error_info={quote(info, safe='{}')}",  # the vendor leaves { and } unescaped
        f"oaid={quote(draft.oaid or '', safe='')}",
        f"tempid={quote(draft.template_id or '', safe='')}",
    ]
    return "&".join(encoded)


def callbacks_for(draft: MessageDraft, *, type_id: int, by_uid: bool = False, sms_fallback_url: str | None = None,
                  sms_price: float = 0.0) -> list[CallbackDraft]:
    """One callback per recipient that reaches a final state, to the message's CallbackUrl."""
    found: list[CallbackDraft] = []
    for recipient in draft.recipients:
        if recipient.outcome.kind == "never_answered":
            continue
        if draft.callback_url:
            found.append(CallbackDraft(draft.callback_url, build_query(draft, recipient, type_id=type_id, by_uid=by_uid,
                                                                      final_at=draft.final_at), draft.final_at))
        failed = recipient.outcome.kind != "delivered"
        if sms_fallback_url and failed:
            sms = RecipientDraft(recipient.recipient, recipient.recipient_key, Outcome("delivered"), sms_price,
                                 recipient.telcoid, recipient.network, "")
            due = draft.final_at + (draft.final_at - draft.send_at)
            found.append(CallbackDraft(sms_fallback_url, build_query(draft, sms, type_id=TYPE_SMS, by_uid=False, final_at=due), due))
    return found


def host_allowed(url: str, settings: CallbackSettings) -> bool:
    """Only loopback targets unless told otherwise: the mock must never reach out to the network."""
    if settings.allow_any_host:
        return True
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Dispatcher:
    """Sends due callbacks from the outbox, off the request path, in one background thread per process."""

    def __init__(self, store: Store, settings: CallbackSettings) -> None:
        self._store = store
        self._settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._opened_in: int | None = None  # the process the pool and client were made in
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="esms-callback-dispatcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            if self._client is not None:
                self._client.close()
            self._pool, self._client, self._thread, self._opened_in = None, None, None, None

    def wake(self) -> None:
        """Something new may be due (a message accepted, the clock moved)."""
        self._wake.set()

    def _now(self) -> float:
        return time.time() + self._store.state()[0]

    def _open(self) -> None:
        # Only when a callback is due, in the dispatcher's own thread: importing httpx and building
        # its client (TLS context included) takes 0.2 s, which would otherwise delay the first answer.
        import httpx

        with self._lock:
            if self._opened_in != os.getpid():  # a pool's threads and a client's sockets never cross a fork
                self._client = httpx.Client(timeout=self._settings.timeout, follow_redirects=False, trust_env=False)
                self._pool = ThreadPoolExecutor(self._settings.workers, thread_name_prefix="esms-callback")
                self._opened_in = os.getpid()

    def _run(self) -> None:
        next_checkpoint = 0.0
        while not self._stop.is_set():
            try:
                self._tick()
                if time.monotonic() >= next_checkpoint:
                    # Most checkpoint work off the request path (see Store.connection).
                    self._store.checkpoint()
                    next_checkpoint = time.monotonic() + CHECKPOINT_INTERVAL
            except Exception:  # the dispatcher must outlive any single failure
                log.exception("event=callback_dispatcher_error")
                self._stop.wait(1.0)

    def _tick(self) -> None:
        now = self._now()
        lease = self._settings.timeout + 10.0
        rows = self._store.claim_due_callbacks(now, lease, self._settings.workers * 2)
        if not rows:
            due = self._store.next_callback_due()
            wait = self._settings.poll_interval if due is None else min(max(due - now, 0.01), self._settings.poll_interval)
            self._wake.wait(wait)
            self._wake.clear()
            return
        self._open()
        pool = self._pool
        if pool is None:  # stopped meanwhile: the leased rows become due again when their lease ends
            return
        futures = [pool.submit(self._send, dict(row)) for row in rows]
        for future in futures:
            future.result()

    def _send(self, row: dict[str, Any]) -> None:
        import httpx

        url = row["url"] + ("&" if "?" in row["url"] else "?") + row["query"]
        attempt = int(row["attempts"])
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        if not host_allowed(row["url"], self._settings):
            error = "not sent: only loopback callback URLs are called (start the mock with --allow-callback-host to change this)"
            self._store.record_attempt(row["id"], attempt, self._now(), None, error, 0.0, state="failed", next_attempt_at=0)
            log.info("event=callback_blocked smsid=%s attempt=%d", row["smsid"], attempt)
            return
        client = self._client
        if client is None:  # stop() ran while this batch was being sent: leave the row to its lease
            return
        try:
            response = client.get(url)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.TimeoutException:
            error = "timeout"
        except (httpx.HTTPError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration = (time.perf_counter() - started) * 1000
        now = self._now()
        if error is None:
            state, next_at = "delivered", now
        elif attempt >= self._settings.max_attempts:
            state, next_at = "failed", now
        else:
            state, next_at = "pending", now + self._settings.backoff * 2 ** (attempt - 1)
        self._store.record_attempt(row["id"], attempt, now, status, error, duration, state=state, next_attempt_at=next_at)
        log.info(
            "event=callback_attempt smsid=%s attempt=%d status=%s outcome=%s duration_ms=%.1f%s",
            row["smsid"], attempt, status if status is not None else "-", state, duration,
            f" error={error!r}" if error else "",
        )
