#!/usr/bin/env python3
"""A slixmpp (PyPI) client with XEP-0198 (xep_0198, resumption on) for tests/smacks.rs.

Connects in plain text to --host/--port (a proxy the test cuts), logs in with PLAIN,
sends presence, and prints every message body it receives. Whenever the connection
drops it connects again at once, and xep_0198 resumes the session. It stops once it has
seen --count distinct bodies (plus a short grace time to catch late duplicates).

Output: one JSON object per line ({"step": ...}); "body" lines carry each received body.
Missing slixmpp exits with 3.
"""

import argparse
import asyncio
import json
import sys

try:
    import slixmpp
except ImportError:
    print(json.dumps({"step": "import", "ok": False, "error": "slixmpp is not installed"}))
    sys.exit(3)


def emit(**obj):
    print(json.dumps(obj), flush=True)


class Receiver(slixmpp.ClientXMPP):
    def __init__(self, args, done):
        super().__init__(args.jid, args.password, sasl_mech="PLAIN")
        self.args = args
        self.done = done
        self.seen = set()
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.enable_plaintext = True
        self.register_plugin("xep_0198")
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("session_resumed", lambda _e: emit(step="resumed", ok=True))
        self.add_event_handler("sm_enabled", lambda _e: emit(step="sm_enabled", ok=True))
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("disconnected", self.on_disconnected)

    def on_start(self, _event):
        emit(step="session_start", ok=True, jid=str(self.boundjid))
        self.send_presence()

    def on_message(self, msg):
        if msg["type"] not in ("chat", "normal"):
            return
        body = msg["body"]
        emit(step="body", body=body)
        self.seen.add(body)
        if len(self.seen) >= self.args.count and not self.done.done():
            self.done.set_result(True)

    def on_disconnected(self, reason):
        if self.done.done():
            return
        emit(step="disconnected", reason=str(reason))
        asyncio.get_running_loop().call_later(0.05, self.connect, self.args.host, self.args.port)


async def main(args):
    done = asyncio.get_running_loop().create_future()
    xmpp = Receiver(args, done)
    xmpp.connect(args.host, args.port)
    try:
        await asyncio.wait_for(done, args.timeout)
    except asyncio.TimeoutError:
        emit(step="timeout", ok=False, seen=len(xmpp.seen))
        return 1
    await asyncio.sleep(args.grace)
    # Acknowledge everything, then end the stream cleanly.
    xmpp.plugin["xep_0198"].send_ack()
    await asyncio.sleep(0.1)
    xmpp.disconnect()
    emit(step="done", ok=True, seen=len(xmpp.seen))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--grace", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=120.0)
    sys.exit(asyncio.run(main(p.parse_args())))
