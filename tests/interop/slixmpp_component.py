"""An external component (XEP-0114) on slixmpp's ComponentXMPP, for tests/components.

Connects to --port as --jid with --secret and prints one line per event on stdout:
READY after the handshake, SERVER_DISCO <category>/<type> for the disco#info of
--server, GOT <from> <body> for each message (answered with "echo: <body>"), and
STREAM_ERROR <condition> <text> when the server closes the stream with an error.
Exits after --timeout seconds or when the stream ends.
"""

import argparse
import asyncio
import logging
import os

from slixmpp import ComponentXMPP


def out(*parts):
    print(*parts, flush=True)


class EchoComponent(ComponentXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.secret, "127.0.0.1", args.port)
        self.server_jid = args.server
        self.ended = asyncio.get_event_loop().create_future()
        self.register_plugin("xep_0030")
        self.plugin["xep_0030"].add_identity(category="gateway", itype="echo", name="Slix echo")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", self.on_disconnected)

    async def on_start(self, _event):
        out("READY")
        info = await self.plugin["xep_0030"].get_info(
            jid=self.server_jid, ifrom=self.boundjid.bare, local=False, timeout=10
        )
        for category, itype, _lang, _name in info["disco_info"]["identities"]:
            out("SERVER_DISCO", f"{category}/{itype}")

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            out("GOT", msg["from"], msg["body"])
            self.send_message(mto=msg["from"], mfrom=msg["to"], mtype="chat", mbody="echo: " + msg["body"])

    def on_stream_error(self, error):
        out("STREAM_ERROR", error["condition"], error["text"])

    def on_disconnected(self, _event):
        if not self.ended.done():
            self.ended.set_result(True)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--jid", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if os.environ.get("SLIX_DEBUG") else logging.ERROR)
    xmpp = EchoComponent(args)
    xmpp.connect()
    try:
        await asyncio.wait_for(xmpp.ended, args.timeout)
    except asyncio.TimeoutError:
        xmpp.disconnect()
    out("END")


asyncio.run(main())
