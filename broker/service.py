"""The MQTT adapter: requests in, replies, calls and the board out, in ledger-first order.

paho's thread only queues messages. One worker thread takes them in batches:
engine → one durable SQLite transaction → only then the replies, the calls and
the board are published. A crash before the commit loses nothing a device was
told; a crash after it is healed by the stored reply when the device retries.
The web pages' requests come into the same inbox (broker.web_jobs: `submit`) and
take the same path; their answers are handed back only after the same commit.

Long because: the batch, its durable order (engine, commit, then publish) and every failure
path of it, for the MQTT requests and the web pages' alike, read best in one file; the queue
rules are broker.engine's, the storing broker.ledger's, the pages' views broker.web's.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import cast

from broker.alarms import Check, HallAlarms
from broker.catalog_file import CatalogFile, CatalogSource
from broker.complaints import Complaints
from broker.engine import Engine
from broker.ledger import Ledger, Stored, storage_failure
from broker.model import Device, Outcome, Saved
from broker.outbox import CallOutbox
from broker.web_actions import actions_for
from broker.web_jobs import ViewJob, Watcher, WebJob
from hall.config import HallConfig
from hall.link import ConnectionFailure, Login, Message, MqttLink, Retained
from hall.protocol import (
    ACTIONS,
    SERVER_ID,
    TRANSIENT,
    Board,
    Call,
    ProtocolError,
    Status,
    Topics,
    config_payload,
    decode_request,
    encode,
    reply_error,
    reply_ok,
    salvage_id,
)

log = logging.getLogger("motcua.service")

MAX_BATCH = 256
TICK_S = 1.0
BOARD_DELAY_S = 0.005    # the board follows a change by at most a few ms (calls go out at once)
CHECKPOINT_EVERY = 200   # commits between WAL checkpoints, run when the inbox is empty
REQUEST_MEMORY_S = 7 * 24 * 3600   # stored replies are kept a week; devices retry for seconds


class HallService:
    def __init__(self, cfg: HallConfig, ledger: Ledger, host: str, port: int, password: str,
                 clock: Callable[[], float] = time.time, version: str = "", catalog_path: Path | None = None,
                 page_key: bytes = b"", alarm_checks: tuple[Check, ...] = ()):
        self.cfg, self.ledger, self.clock = cfg, ledger, clock
        # Disk, read-only storage, backups (broker/alarms.py): in the retained status and on the pages.
        self.alarms = HallAlarms(ledger.path.parent, alarm_checks)
        self.page_key = page_key
        # The retained `catalog`, from the file `motcua catalog import` writes (broker/catalog_file.py).
        self.catalog = CatalogSource(CatalogFile(catalog_path), log) if catalog_path is not None else None
        self.topics = Topics(cfg.id)
        self.version = version
        self.complaints = Complaints(log)
        self.engine = self._load_engine()
        # Calls committed but perhaps never handed to the broker (a crash between the commit and
        # the publish): sent again at the first connect, before the board. Displays drop a seq
        # they have already seen, so a call is heard at least once and never twice.
        acked = ledger.meta("call_acked")
        self.outbox = CallOutbox(acked, unsent=ledger.recent_calls(self.engine.day, limit=-1, after=acked))
        self.board_seq = self._board_reserved = ledger.meta("board_seq")
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.statuses: dict[str, dict] = {}
        self._devices: dict[str, Device] = {}
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="hall-worker", daemon=True)
        self._was_open: bool | None = None
        self._board_dirty = False
        self._commits_since_checkpoint = 0
        self._alive_at = time.monotonic()
        # Forget week-old replies now, not at the next rollover: a request retained or queued in
        # the broker for that long must not find a stale answer, nor be run twice without one.
        self._write(ledger.prune_requests, clock() - REQUEST_MEMORY_S)
        self._pruned_day = self.engine.day
        self.handled = 0
        # A persistent session: the broker keeps the requests that arrive while the service restarts.
        # Its online status is not the link's to send: the worker publishes it with the retained state.
        self.link = MqttLink(Login(host, port, SERVER_ID, password), log, name="the hall service",
                             peer="its Mosquitto", subscribe=[self.topics.requests, self.topics.statuses],
                             will=self._server_status("offline"), farewell=self._server_status("offline"),
                             persistent=True, backoff=(0.1, 1.0), max_inflight=1000, explain=self._explain,
                             on_message=self._on_message, on_connection=self._on_connection)
        self.connected = self.link.connected
        self._clearing: set[str] = set()   # request topics whose retained message we cleared (paho's thread)
        # The web pages (broker.web): told of every board and call in the worker's thread, after the
        # publish, with the engine as it then is (a watcher only reads it, and hands off at once).
        self.watchers: list[Watcher] = []

    def _load_engine(self) -> Engine:
        led = self.ledger
        reached = led.day_reached()
        engine = Engine(self.cfg, self.clock(), self.page_key)
        engine.restore(reached, lambda day: Saved(led.tickets(day), led.counters(), led.meta("call_seq"),
                                                  led.recent_calls(day), led.service_samples()))
        if engine.day > reached:
            # Record the day reached at once, ticket or not: a restart with the clock set back
            # must find it (the engine never goes back to an earlier day than this).
            self._write(led.set_meta, "day", led.day_number(engine.day))
        # Tickets from an earlier day still open: the service was down across the reset hour.
        stale = led.open_tickets_before(engine.day)
        out = engine.expire(stale, self.clock()) if stale else Outcome()
        if reached and engine.day > reached:
            out.counters.update(engine.counters)   # a new day: the counters as Engine.restore left them
        if out.events or out.counters:
            self._write(led.store, [out], [], {"call_seq": engine.call_seq}, engine.day)
        return engine

    def _write(self, fn, *args) -> bool:
        """A ledger write outside a batch; on a full disk say so (once a minute) and go on."""
        try:
            fn(*args)
            return True
        except Exception as exc:
            trouble = storage_failure(exc)
            if trouble is None:
                raise
            self._storage_failed(trouble)
            return False

    def _storage_failed(self, trouble: str) -> None:
        """A write failed for the disk's sake (storage_failure's code): say so once a minute, raise the alarm now."""
        what = "disk is full" if trouble == "disk_full" else "storage is read-only (an SD card failing?)"
        self.complaints.say("storage trouble", f"the hall server's {what}: nothing can be stored and requests "
                            "are refused (kiosks are told to ask a clerk) until it can store again; "
                            "it resumes by itself")
        self.alarms.storage_failed = True
        if self.alarms.poll(self.clock(), force=True):
            self._alarms_changed()

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> HallService:
        self.link.start()
        self._worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.inbox.put(None)
        self._worker.join(5)
        self.link.stop(wait=2)

    def healthy(self) -> bool:
        return self._worker.is_alive() and time.monotonic() - self._alive_at < 10 * TICK_S

    # --- paho's thread: only hand over ---------------------------------------

    def _on_connection(self, up: bool) -> None:
        if up:
            # Republish retained state: a restarted broker may have lost it.
            self.inbox.put(("connected", b""))

    def _explain(self, failure: ConnectionFailure) -> str:
        where = self.link.login.where
        if failure.kind == "not_authorised":
            return (f"the hall service: its Mosquitto at {where} refused its login ({failure.detail}): "
                    "hall.secret and mosquitto/passwd of the data folder disagree; restart motcua serve "
                    "(it writes passwd again). Retrying")
        return (f"the hall service: no connection to its Mosquitto at {where} ({failure.kind}: "
                f"{failure.detail}); the hall server starts it again by itself. Retrying")

    def _server_status(self, state: str) -> Retained:
        alarms = self.alarms.current if state == "online" else ()
        return Retained(self.topics.server_status, Status(state, "server", self.version, None, alarms).to_payload())

    def _alarms_changed(self) -> None:
        status = self._server_status("online")
        self.link.publish(status.topic, status.payload, retain=True)
        alarms = self.alarms.current
        self._tell(lambda w: w.on_alarms(alarms))

    def submit(self, job: WebJob | ViewJob) -> None:
        """From the web adapter's thread: a page's request (the same path as an MQTT one) or a read."""
        self.inbox.put(("web", job))

    def _on_message(self, msg: Message) -> None:
        if msg.retained and self.topics.parse_request(msg.topic) is not None:
            # A request is an event, not a state: one published with retain would be run again at
            # every (re)subscribe. Ignore it and clear it (an empty retained payload deletes it).
            if msg.payload:
                log.warning("ignored and cleared a retained request on %s", msg.topic)
                self._clearing.add(msg.topic)
                self.link.publish(msg.topic, b"", retain=True)
            return
        if not msg.payload and msg.topic in self._clearing:
            self._clearing.discard(msg.topic)   # the broker hands us our own clearing back
            return
        self.inbox.put((msg.topic, msg.payload))

    # --- the worker -------------------------------------------------------------

    def _run(self) -> None:
        last_tick = time.monotonic()
        board_due = 0.0
        while not self._stop.is_set():
            self._alive_at = now = time.monotonic()
            wait = TICK_S if not self._board_dirty else max(0.0, board_due - now)
            try:
                item = self.inbox.get(timeout=wait)
            except queue.Empty:
                item = ()
            if item is None:
                break
            batch = [item] if item else []
            while batch and len(batch) < MAX_BATCH:
                try:
                    more = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._stop.set()
                    break
                batch.append(more)
            was_dirty = self._board_dirty
            if batch:
                self._guard(self._process, batch)
            now = time.monotonic()
            if self._board_dirty and not was_dirty:
                # The board waits a moment: paho's thread needs the GIL to send the replies and
                # calls just queued, and a burst of requests then costs one board, not many.
                board_due = now + BOARD_DELAY_S
            if self._board_dirty and now >= board_due and (self.inbox.empty() or now >= board_due + 0.1):
                self._guard(self._publish_board, self.clock())
            if self.inbox.empty() and now - last_tick >= TICK_S:
                last_tick = now
                self._guard(self._tick)

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:
            # The service keeps running; memory is rebuilt from the ledger, which is the truth.
            trouble = storage_failure(exc)
            if trouble is not None:
                self._storage_failed(trouble)
            else:
                log.exception("hall worker failed; reloading state from the ledger")
            self.engine = self._load_engine()

    def _tick(self) -> None:
        """Once a second when idle: day rollover, open/closed changes, housekeeping."""
        now = self.clock()
        roll = self.engine.rollover(now)
        if roll.events or roll.counters:
            self._commit([roll], [], now)
            self._board_dirty = True
        if self.engine.is_open(now) != self._was_open:
            self._board_dirty = True
        if self._board_dirty:
            self._publish_board(now)
        if self._pruned_day != self.engine.day:
            self._pruned_day = self.engine.day
            self.ledger.prune_requests(now - REQUEST_MEMORY_S)
        self._devices.clear()   # pick up removed devices and changed roles
        if self.catalog is not None:
            # `motcua catalog import` wrote a new file: only this service writes the retained catalog.
            if self.catalog.poll():
                self._publish_catalog(self.catalog)
            self.catalog.settle()
        if self.outbox.settle() != self.outbox.stored:
            if self._write(self.ledger.set_meta, "call_acked", self.outbox.acked):
                self.outbox.stored = self.outbox.acked
        if self.alarms.poll(now):
            self._alarms_changed()
        self.ledger.checkpoint()

    def _process(self, batch: list[tuple[str, bytes]]) -> None:
        """Handle a batch; if one request fails unexpectedly, the rest run on reloaded state."""
        while batch:
            batch = self._process_until_failure(batch)

    def _process_until_failure(self, batch: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        now = self.clock()
        outcomes: list[Outcome] = []
        roll = self.engine.rollover(now)
        if roll.events or roll.counters:
            outcomes.append(roll)
        stored: list[Stored] = []
        replies: list[tuple[str | WebJob, bytes]] = []
        views: list[ViewJob] = []
        seen: dict[tuple[str, str], bytes] = {}
        republish = failed = False
        rest: list[tuple[str, bytes]] = []
        for i, (topic, payload) in enumerate(batch):
            if topic == "connected":
                republish = True
                continue
            if topic == "web":
                job = cast(WebJob | ViewJob, payload)
                if isinstance(job, ViewJob):
                    views.append(job)   # read after the commit, so a page never sees what may not be stored
                    continue
                try:
                    reply = self._handle(job.device, job.action, job.payload, now, seen, outcomes, stored)
                except Exception:
                    log.exception("web request %s from %s failed", job.action[:40], job.device.id)
                    reply = encode(reply_error(salvage_id(job.payload), ProtocolError("internal", "unexpected error")))
                    failed, rest = True, batch[i + 1:]
                replies.append((job, reply))
                if failed:
                    break
                continue
            device_id = self.topics.parse_status(topic)
            if device_id is not None:
                self._status(device_id, payload, now)
                continue
            parsed = self.topics.parse_request(topic)
            if parsed is None:
                log.warning("ignored message on %s", topic)
                continue
            device_id, action = parsed
            try:
                reply = self._request(device_id, action, payload, now, seen, outcomes, stored)
            except Exception:
                # The engine may be half-changed: store what came before, reload, go on.
                log.exception("request %s from %s failed", action[:40], device_id)
                reply = encode(reply_error(salvage_id(payload), ProtocolError("internal", "unexpected error")))
                failed, rest = True, batch[i + 1:]
            replies.append((self.topics.reply(device_id), reply))
            if failed:
                break
        changed = any(o.events or o.counters for o in outcomes)
        if stored or changed:
            try:
                self._commit(outcomes, stored, now)
            except Exception as exc:
                err = ProtocolError(storage_failure(exc) or "internal", "ledger write failed")
                if err.code != "internal":
                    self._storage_failed(err.code)
                else:
                    log.exception("ledger write failed; %d replies become 'internal' errors", len(replies))
                failed = True
                replies = [(t, encode(reply_error(_reply_id(p), err))) for t, p in replies]
                outcomes = []
        if failed:
            self.engine = self._load_engine()
        # Calls, then replies, at once; the board can wait for a quiet moment. A call goes first:
        # a citizen waits for the wall display, the clerk's screen can take a moment more.
        if republish:
            self._send_unsent()
        for out in outcomes:
            for call in out.calls:
                self._publish_call(call)
        for target, payload in replies:
            if isinstance(target, WebJob):
                target.answer(payload)
            else:
                self.link.publish(target, payload)
        if republish:
            self._publish_retained(now)
        elif changed:
            self._board_dirty = True
        if changed:
            # A clerk's page hears of a call at once, not only with the next board.
            for out in outcomes:
                for call in out.calls:
                    self._tell(partial(_told_call, call, self.engine))
        for view in views:
            view.run(self.engine, now)
        self.handled += len(replies)
        self._commits_since_checkpoint += 1
        # Checkpoint in a quiet moment; under endless load, now and then anyway (the WAL must not grow forever).
        if self._commits_since_checkpoint >= CHECKPOINT_EVERY and (
                self.inbox.empty() or self._commits_since_checkpoint >= 10 * CHECKPOINT_EVERY):
            self.ledger.checkpoint()
            self._commits_since_checkpoint = 0
        return rest

    def _request(self, device_id: str, action: str, payload: bytes, now: float,
                 seen: dict, outcomes: list[Outcome], stored: list[Stored]) -> bytes:
        """One MQTT request's reply, from a device of the registry."""
        try:
            device = self._device(device_id)
        except ProtocolError as err:
            log.info("refused %s from %s: %s", action[:40], device_id, err)
            return encode(reply_error(salvage_id(payload), err))   # not ours to store under
        return self._handle(device, action, payload, now, seen, outcomes, stored)

    def _handle(self, device: Device, action: str, payload: bytes, now: float,
                seen: dict, outcomes: list[Outcome], stored: list[Stored]) -> bytes:
        """One request's reply, a device's or a web page's. Same device + same id = same answer:
        every final reply is stored with the request, refusals too, so a request redelivered after
        a crash (Mosquitto reloading its autosave, a power cut) cannot take effect against a later state."""
        device_id = device.id
        rid = None
        try:
            req = decode_request(action, payload, {**ACTIONS, **actions_for(device)})
            rid = req.id
            prior = seen.get((device_id, rid)) or self.ledger.stored_reply(device_id, rid)
            if prior is not None:
                return prior
            out = self.engine.handle(device, req, now)
            assert out.data is not None, f"{req.action} gave no reply data"   # every action sets it
            reply = encode(reply_ok(rid, out.data))   # before the outcome counts: it could fail
            outcomes.append(out)
        except ProtocolError as err:
            log.info("refused %s from %s: %s", action[:40], device_id, err)
            if rid is None:
                rid = err.rid
                if rid is not None:   # refused before the stored replies were looked at
                    prior = seen.get((device_id, rid)) or self.ledger.stored_reply(device_id, rid)
                    if prior is not None:
                        return prior
            reply = encode(reply_error(rid, err))
            if rid is None or err.code in TRANSIENT:
                return reply
        stored.append(Stored(device_id, rid, action, now, reply))
        seen[(device_id, rid)] = reply
        return reply

    def _device(self, device_id: str) -> Device:
        device = self._devices.get(device_id)
        if device is None:
            device = self.ledger.device(device_id)   # added while we run
            if device is None:
                raise ProtocolError("unknown_device", device_id)
            self._devices[device_id] = device
        return device

    def _status(self, device_id: str, payload: bytes, now: float) -> None:
        if device_id == SERVER_ID or not payload:
            return
        try:
            status = Status.from_payload(payload)
        except ProtocolError as err:
            log.warning("bad status from %s: %s", device_id, err)
            return
        read = self.statuses[device_id] = asdict(status)
        # Stored as devices have always sent it: alarms are the hall server's own, never a device's.
        fields = {k: v for k, v in read.items() if k != "alarms"}
        # Only shown by `device list`: a full disk must not cost the batch it came in.
        self._write(self.ledger.set_status, device_id, encode(fields).decode(), now)

    def _commit(self, outcomes: list[Outcome], stored: list[Stored], now: float) -> None:
        acked = self.outbox.settle()
        self.ledger.store(outcomes, stored, {"call_seq": self.engine.call_seq, "call_acked": acked,
                                             "day": self.ledger.day_number(self.engine.day)}, self.engine.day)
        self.outbox.stored = acked
        if self.alarms.storage_failed:
            # It stores again: the complaint is over, and the alarm is looked at now, not in 30 s.
            self.alarms.storage_failed = False
            self.complaints.clear("storage trouble")
            if self.alarms.poll(now, force=True):
                self._alarms_changed()

    def _publish_call(self, call: Call) -> None:
        self.outbox.sent(call.seq, self.link.publish(self.topics.called, call.to_payload()))

    def _send_unsent(self) -> None:
        """At the first connect: the calls committed before a crash that the broker may never have had."""
        calls = self.outbox.take_unsent()
        if calls:
            log.warning("sending %d call(s) committed before the last stop but not confirmed by the broker",
                        len(calls))
        for call in calls:
            self._publish_call(call)

    # --- publishing --------------------------------------------------------------

    def board(self, now: float) -> Board:
        self.board_seq += 1
        if self.board_seq > self._board_reserved:
            # Reserve seq numbers in blocks, so a restart never reuses one already published.
            self._board_reserved = self.board_seq + 100
            self.ledger.set_meta("board_seq", self._board_reserved)
        board = self.engine.board(now, self.board_seq)
        self._was_open = board.open
        return board

    def _publish_board(self, now: float) -> None:
        self._board_dirty = False
        board = self.board(now)
        self.link.publish(self.topics.board, board.to_payload(), retain=True)
        self._tell(lambda w: w.on_board(board, self.engine, now))

    def _tell(self, fn: Callable[[Watcher], None]) -> None:
        for watcher in self.watchers:
            try:
                fn(watcher)
            except Exception:
                # A page's trouble must never stop the hall: the devices are told by MQTT already.
                log.exception("a web watcher failed")

    def _publish_retained(self, now: float) -> None:
        status = self._server_status("online")
        self.link.publish(status.topic, status.payload, retain=True)
        self.link.publish(self.topics.config, config_payload(self.cfg), retain=True)
        if self.catalog is not None:
            self.catalog.poll()
            self._publish_catalog(self.catalog)   # a broker that lost it gets it back
        self._publish_board(now)

    def _publish_catalog(self, catalog: CatalogSource) -> None:
        if catalog.payload is not None:
            catalog.sent(self.link.publish(self.topics.catalog, catalog.payload, retain=True))


def _told_call(call: Call, engine: Engine, watcher: Watcher) -> None:
    watcher.on_call(call, engine)


def _reply_id(reply: bytes) -> str | None:
    return json.loads(reply).get("id")

