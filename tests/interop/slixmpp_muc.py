#!/usr/bin/env python3
"""Two slixmpp (xep_0045) clients in a Lilt room over c2s TCP with STARTTLS.

The owner (--owner) joins --room, which creates it, submits the configuration form with a
room name and non-anonymous JIDs; the guest (--guest) joins and says hello; the owner
sees the message, then bans the guest, who must see itself removed with status 301, and
the owner's outcast list must name it (rejoining is refused in tests/muc/differential.rs). One JSON object per line on stdout; exit 0 when
every step passed.
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


def client(jid, args):
    c = slixmpp.ClientXMPP(jid, args.password)
    c.register_plugin("xep_0030")
    c.register_plugin("xep_0045")
    c.register_plugin("xep_0004")
    c.ca_certs = args.ca
    c.enable_direct_tls = False
    c.enable_starttls = True
    c.enable_plaintext = False
    return c


async def connected(c, args):
    started = asyncio.get_running_loop().create_future()
    c.add_event_handler("session_start", lambda _e: started.done() or started.set_result(True))
    c.connect(args.host, args.port)
    await asyncio.wait_for(started, args.timeout)
    c.send_presence()


async def run(args):
    owner, guest = client(args.owner, args), client(args.guest, args)
    await connected(owner, args)
    await connected(guest, args)
    emit(step="connected", ok=True)
    muc_o, muc_g = owner.plugin["xep_0045"], guest.plugin["xep_0045"]
    await muc_o.join_muc_wait(args.room, "Owner", maxstanzas=0, timeout=args.timeout)
    form = await muc_o.get_room_config(args.room)
    fields = form.get_fields()
    assert "muc#roomconfig_roomname" in fields, list(fields)
    form["type"] = "submit"
    form.set_values({
        "FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig",
        "muc#roomconfig_roomname": "Slix room",
        "muc#roomconfig_whois": "anyone",
    })
    await muc_o.set_room_config(args.room, form)
    info = await owner.plugin["xep_0030"].get_info(jid=args.room)
    features = info["disco_info"]["features"]
    assert "muc_nonanonymous" in features, features
    emit(step="configured", ok=True)

    heard = asyncio.get_running_loop().create_future()

    def on_groupchat(msg):
        if msg["mucnick"] == "Guest" and msg["body"] == "hello from slixmpp" and not heard.done():
            heard.set_result(True)

    owner.add_event_handler("groupchat_message", on_groupchat)
    await muc_g.join_muc_wait(args.room, "Guest", maxstanzas=0, timeout=args.timeout)
    guest.send_message(mto=args.room, mbody="hello from slixmpp", mtype="groupchat")
    await asyncio.wait_for(heard, args.timeout)
    emit(step="chat", ok=True)

    banned = asyncio.get_running_loop().create_future()

    def on_offline(pres):
        codes = {int(c) for c in pres["muc"]["status_codes"]}
        if pres["muc"]["nick"] == "Guest" and 301 in codes and not banned.done():
            banned.set_result(True)

    guest.add_event_handler("muc::%s::got_offline" % args.room, on_offline)
    await muc_o.set_affiliation(args.room, "outcast", jid=slixmpp.JID(args.guest).bare,
                                reason="test ban")
    await asyncio.wait_for(banned, args.timeout)
    emit(step="banned", ok=True)
    outcasts = await muc_o.get_affiliation_list(args.room, "outcast")
    if slixmpp.JID(args.guest).bare not in [str(j) for j in outcasts]:
        emit(step="outcasts", ok=False, error=f"outcast list {outcasts}")
        return 1
    emit(step="outcasts", ok=True)
    owner.disconnect()
    guest.disconnect()
    emit(step="done", ok=True)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--owner", required=True)
    p.add_argument("--guest", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--timeout", type=float, default=20.0)
    try:
        code = asyncio.run(asyncio.wait_for(run(p.parse_args()), 60))
    except Exception as e:  # any failure is one clear line
        emit(step="error", ok=False, error=repr(e))
        code = 1
    sys.exit(code)
