"""The echo half of the MQTT floor, run as its own process (as the hall service is):
every QoS 1 message on PING is published again, QoS 1, on PONG.

    python -m bench._echo HOST PORT USERNAME PING PONG   (password on stdin; prints 'ready', runs until stdin closes)
"""

from __future__ import annotations

import sys
import threading

import paho.mqtt.client as mqtt

from hall.link import no_delay


def main(argv: list[str]) -> int:
    host, port, username, ping, pong = argv
    password = sys.stdin.readline().strip()
    subscribed = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-echo", protocol=mqtt.MQTTv311,
                    clean_session=True)
    c.username_pw_set(username, password)
    c.on_socket_open = no_delay
    c.on_connect = lambda cl, *_: cl.subscribe(ping, qos=1)
    c.on_subscribe = lambda *_: subscribed.set()
    c.on_message = lambda cl, userdata, msg: cl.publish(pong, msg.payload, qos=1)
    c.connect(host, int(port), keepalive=10)
    c.loop_start()
    if not subscribed.wait(10):
        print("could not subscribe", flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.read()          # until the benchmark closes our stdin (or dies)
    c.disconnect()
    c.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
