#!/usr/bin/env python3
"""Two slixmpp (PyPI) clients exercising PEP on Lilt (tests/pep.rs).

alice and bob (contacts with a mutual subscription) log in over STARTTLS, trusting only
--ca. bob registers interest in the avatar metadata, nick and a test node through
xep_0163 (so his XEP-0115 caps carry `+notify`). alice then publishes an avatar with
xep_0084 (data, then metadata), a nick with xep_0172 and an item with xep_0060; bob must
receive each notification, then fetch alice's item with xep_0060 get_items.

Output: one JSON object per line ({"step": ..., "ok": true, ...}); on failure the last
line has "ok": false and the exit status is 1. Missing slixmpp exits with 3.
"""

import argparse
import asyncio
import json
import sys

try:
    import slixmpp
    from slixmpp.xmlstream import ET
except ImportError:
    print(json.dumps({"step": "import", "ok": False, "error": "slixmpp is not installed"}))
    sys.exit(3)

NODE = "urn:example:lilt-test"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6364f8ff1f0000050001a5f645400000000049454e44ae426082"
)


def emit(**obj):
    print(json.dumps(obj), flush=True)


def client(jid, password, ca):
    c = slixmpp.ClientXMPP(jid, password)
    c.ca_certs = ca
    c.enable_direct_tls = False
    c.enable_starttls = True
    c.enable_plaintext = False
    for p in ["xep_0030", "xep_0060", "xep_0115", "xep_0163", "xep_0084", "xep_0172"]:
        c.register_plugin(p)
    return c


async def main(args):
    loop = asyncio.get_event_loop()
    got = {k: loop.create_future() for k in ["avatar", "nick", "item"]}
    alice = client(f"alice@{args.domain}/slix", args.password, args.ca)
    bob = client(f"bob@{args.domain}/slix", args.password, args.ca)
    bob.plugin["xep_0163"].add_interest(NODE)

    def on_meta(msg):
        item_id = msg["pubsub_event"]["items"]["item"]["id"]
        if not got["avatar"].done():
            got["avatar"].set_result(item_id)

    def on_nick(msg):
        nick = msg["pubsub_event"]["items"]["item"]["nick"]["nick"]
        if not got["nick"].done():
            got["nick"].set_result(str(nick))

    def on_item(msg):
        ev = msg["pubsub_event"]["items"]
        if ev["node"] == NODE and not got["item"].done():
            got["item"].set_result(ev["item"]["id"])

    bob.add_event_handler("avatar_metadata_publish", on_meta)
    bob.add_event_handler("user_nick_publish", on_nick)
    bob.add_event_handler("pubsub_publish", on_item)

    started = {n: loop.create_future() for n in ["alice", "bob"]}
    for name, c in [("alice", alice), ("bob", bob)]:
        c.add_event_handler("session_start", lambda _e, c=c, n=name: (c.send_presence(), started[n].set_result(True)))
        c.connect(host=args.host, port=args.port)
    await asyncio.wait_for(asyncio.gather(*started.values()), args.timeout)
    emit(step="login", ok=True)
    # Let the server learn bob's caps (its disco#info query and bob's answer).
    await asyncio.sleep(1.0)

    avatar_id = await alice.plugin["xep_0084"].publish_avatar(PNG)
    await alice.plugin["xep_0084"].publish_avatar_metadata(
        [{"id": alice.plugin["xep_0084"].generate_id(PNG), "type": "image/png", "bytes": len(PNG)}],
        timeout=args.timeout,
    )
    emit(step="avatar published", ok=True)
    meta_id = await asyncio.wait_for(got["avatar"], args.timeout)
    emit(step="avatar notified", ok=True, id=meta_id)

    await alice.plugin["xep_0172"].publish_nick("Alice S.")
    nick = await asyncio.wait_for(got["nick"], args.timeout)
    emit(step="nick notified", ok=nick == "Alice S.", nick=nick)

    payload = ET.fromstring(f"<entry xmlns='{NODE}'>hello</entry>")
    await alice.plugin["xep_0060"].publish(alice.boundjid.bare, NODE, id="i1", payload=payload)
    item_id = await asyncio.wait_for(got["item"], args.timeout)
    emit(step="item notified", ok=item_id == "i1", id=item_id)

    res = await bob.plugin["xep_0060"].get_items(alice.boundjid.bare, NODE)
    ids = [i["id"] for i in res["pubsub"]["items"]]
    emit(step="items fetched", ok=ids == ["i1"], ids=ids)

    data = await bob.plugin["xep_0084"].retrieve_avatar(alice.boundjid.bare, meta_id)
    fetched = data["pubsub"]["items"]["item"]["avatar_data"]["value"]
    emit(step="avatar fetched", ok=fetched == PNG)
    for c in (alice, bob):
        c.disconnect()
    return nick == "Alice S." and item_id == "i1" and ids == ["i1"] and fetched == PNG


if __name__ == "__main__":
    import logging, os
    if os.environ.get("SLIXMPP_DEBUG"):
        logging.basicConfig(level=logging.DEBUG)
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--password", default="pw")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()
    try:
        ok = asyncio.get_event_loop().run_until_complete(main(args))
    except Exception as e:  # reported, not swallowed
        emit(step="error", ok=False, error=repr(e))
        sys.exit(1)
    sys.exit(0 if ok else 1)
