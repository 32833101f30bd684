"""A TCP relay between one device and the hall's Mosquitto: the network, as a test can break it.

    relay = Relay(hall.cfg.mqtt_port)       # the device connects to 127.0.0.1:relay.port
    relay.holding = True                    # what the device sends is kept, never reaches the broker
    relay.cut()                             # the line drops and stays down: connections are refused
    relay.up = True                         # the device may come back
    relay.close()

A refused connection is closed as soon as it is accepted, as a switch with the cable pulled would
leave it; `refused` counts them, so a test sees the device trying again.
"""

from __future__ import annotations

import socket
import threading


class Relay:
    def __init__(self, target_port: int):
        self.target = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = True               # accepting: while False, a connection is closed at once
        self.holding = False         # the device's bytes are kept here instead of reaching the broker
        self.refused = 0             # connections closed at once while down
        self._held = bytearray()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def held(self) -> bytes:
        """What the device sent while `holding`."""
        with self._lock:
            return bytes(self._held)

    def _accept(self) -> None:
        while True:
            try:
                device, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                device.close()
                self.refused += 1
                continue
            broker = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._socks += [device, broker]
            threading.Thread(target=self._pipe, args=(device, broker, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(broker, device, False), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket, from_device: bool) -> None:
        try:
            while data := a.recv(65536):
                with self._lock:
                    if from_device and self.holding:
                        self._held += data      # never sent: the broker never answers it
                        continue
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """The line drops, and stays down until `up` is set again."""
        with self._lock:
            self.up = False
            self.holding = False
            for s in self._socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._socks.clear()

    def close(self) -> None:
        self.cut()
        self.server.close()
