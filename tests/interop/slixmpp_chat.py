#!/usr/bin/env python3
"""A slixmpp (PyPI) client for Lilt's c2s TCP tests.

Connects to --host/--port with STARTTLS (--mode starttls) or XEP-0368 direct TLS
(--mode direct), trusting only the CA in --ca for the domain of --jid, logs in with the
one SASL mechanism --mechanism, sends initial presence and directed presence to --peer,
then waits until it has seen --peer's presence and a message from --peer whose body is
--expect, answers it with --send and disconnects.

Output: one JSON object per line on stdout ({"step": ..., "ok": true, ...}); on failure
the last line has "ok": false and the exit status is 1. Missing slixmpp exits with 3.
"""

import argparse
import asyncio
import json
import sys

try:
    import slixmpp
except ImportError:  # the Rust test turns this into a clear message
    print(json.dumps({"step": "import", "ok": False, "error": "slixmpp is not installed"}))
    sys.exit(3)


def emit(**obj):
    print(json.dumps(obj), flush=True)


class Chatter(slixmpp.ClientXMPP):
    def __init__(self, args, done):
        super().__init__(args.jid, args.password, sasl_mech=args.mechanism)
        self.args = args
        self.done = done
        self.peer = slixmpp.JID(args.peer).bare
        self.saw_presence = False
        self.answered = False
        self.ca_certs = args.ca
        direct = args.mode == "direct"
        self.enable_direct_tls = direct
        self.enable_starttls = not direct
        self.enable_plaintext = False
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("presence_available", self.on_presence)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("disconnected", self.on_disconnected)

    def tls_version(self):
        transport = getattr(self, "transport", None)
        ssl_obj = transport.get_extra_info("ssl_object") if transport else None
        return ssl_obj.version() if ssl_obj else None

    async def on_start(self, _event):
        mech = getattr(self["feature_mechanisms"], "mech", None)
        emit(step="session_start", ok=True, jid=str(self.boundjid),
             mechanism=getattr(mech, "name", None), tls=self.tls_version())
        self.send_presence()
        self.send_presence(pto=self.peer)

    def on_failed_auth(self, _event):
        self.fail("auth", "authentication failed")

    def on_presence(self, pres):
        if pres["from"].bare == self.peer and not self.saw_presence:
            self.saw_presence = True
            emit(step="presence", ok=True, **{"from": str(pres["from"])})
            self.maybe_finish()

    def on_message(self, msg):
        if msg["from"].bare != self.peer or msg["type"] not in ("chat", "normal"):
            return
        body = msg["body"]
        if body != self.args.expect:
            self.fail("message", f"unexpected body {body!r}")
            return
        emit(step="message", ok=True, body=body, **{"from": str(msg["from"])})
        self.send_message(mto=msg["from"], mbody=self.args.send, mtype="chat")
        self.answered = True
        emit(step="reply", ok=True, to=str(msg["from"]))
        self.maybe_finish()

    def maybe_finish(self):
        if self.saw_presence and self.answered and not self.done.done():
            self.disconnect()
            self.done.set_result(True)

    def on_disconnected(self, reason):
        if not self.done.done():
            self.fail("disconnected", f"disconnected early: {reason}")

    def fail(self, step, error):
        if not self.done.done():
            emit(step=step, ok=False, error=error)
            self.done.set_result(False)


async def main(args):
    done = asyncio.get_running_loop().create_future()
    xmpp = Chatter(args, done)
    xmpp.connect(args.host, args.port)
    try:
        ok = await asyncio.wait_for(done, args.timeout)
    except asyncio.TimeoutError:
        emit(step="timeout", ok=False, error=f"not finished within {args.timeout} s",
             saw_presence=xmpp.saw_presence, answered=xmpp.answered)
        return 1
    if ok:
        # Let the reply and the closing tag reach the socket before exiting.
        await asyncio.sleep(0.2)
        emit(step="done", ok=True)
    return 0 if ok else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["starttls", "direct"], default="starttls")
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--send", required=True)
    p.add_argument("--expect", required=True)
    p.add_argument("--mechanism", default="SCRAM-SHA-1")
    p.add_argument("--timeout", type=float, default=20.0)
    sys.exit(asyncio.run(main(p.parse_args())))
