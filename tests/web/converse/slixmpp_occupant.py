#!/usr/bin/env python3
"""A slixmpp (xep_0045) occupant for tests/web/converse/muc.mjs, over c2s TCP.

It creates --room, configures it (a name; the lock ends), sets the subject, posts two
messages that become the room's history, then prints {"step": "ready"}. It waits for a
groupchat message from --peer-nick with body --expect and answers with --reply. One JSON
object per line on stdout; exit 0 when every step passed. Run by tests/interop/converse.
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


async def run(args):
    c = slixmpp.ClientXMPP(args.jid, args.password)
    for plugin in ("xep_0030", "xep_0004", "xep_0045"):
        c.register_plugin(plugin)
    # The test server listens on loopback without TLS; SCRAM still protects the password.
    c.enable_starttls = False
    c.enable_direct_tls = False
    c.enable_plaintext = True
    c.plugin["feature_mechanisms"].unencrypted_scram = True
    loop = asyncio.get_running_loop()
    started = loop.create_future()
    c.add_event_handler("session_start", lambda _e: started.done() or started.set_result(True))
    c.connect(args.host, args.port)
    await asyncio.wait_for(started, args.timeout)
    c.send_presence()
    muc = c.plugin["xep_0045"]

    await muc.join_muc_wait(args.room, args.nick, maxstanzas=0, timeout=args.timeout)
    form = await muc.get_room_config(args.room)
    form["type"] = "submit"
    form.set_values({
        "FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig",
        "muc#roomconfig_roomname": args.name,
    })
    await muc.set_room_config(args.room, form)
    emit(step="configured", ok=True)

    # The subject change comes back to us: wait for it so the room has it before Converse joins.
    subject_set = loop.create_future()

    def on_subject(msg):
        if msg["subject"] == args.subject and not subject_set.done():
            subject_set.set_result(True)

    c.add_event_handler("groupchat_subject", on_subject)
    muc.set_subject(args.room, args.subject)
    await asyncio.wait_for(subject_set, args.timeout)

    heard_history = loop.create_future()
    history = list(args.history)

    def on_groupchat(msg):
        body = msg["body"]
        if msg["mucnick"] == args.nick and history and body == history[-1] and not heard_history.done():
            heard_history.set_result(True)
        if msg["mucnick"] == args.peer_nick and body == args.expect and not heard.done():
            heard.set_result(str(msg["from"]))

    heard = loop.create_future()
    c.add_event_handler("groupchat_message", on_groupchat)
    for line in history:
        c.send_message(mto=args.room, mbody=line, mtype="groupchat")
    await asyncio.wait_for(heard_history, args.timeout)
    emit(step="ready", ok=True)

    sender = await asyncio.wait_for(heard, args.timeout)
    emit(step="heard", ok=True, sender=sender)
    c.send_message(mto=args.room, mbody=args.reply, mtype="groupchat")
    emit(step="replied", ok=True)
    # Stay in the room until the browser side has seen the reply and closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    c.disconnect()
    emit(step="done", ok=True)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--nick", default="slix")
    p.add_argument("--name", default="Lilt lounge")
    p.add_argument("--subject", required=True)
    p.add_argument("--history", action="append", default=[])
    p.add_argument("--peer-nick", required=True)
    p.add_argument("--expect", required=True)
    p.add_argument("--reply", required=True)
    p.add_argument("--timeout", type=float, default=30.0)
    try:
        code = asyncio.run(asyncio.wait_for(run(p.parse_args()), 120))
    except Exception as e:  # any failure is one clear line
        emit(step="error", ok=False, error=repr(e))
        code = 1
    sys.exit(code)
