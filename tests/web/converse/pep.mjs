// Issue 17: alice sets an avatar and a nickname in Converse's profile form and joins a
// room, which Converse 14 bookmarks (XEP-0402); bob, in another context, gets her
// contact request with the nickname (XEP-0172 <nick/>), accepts, and sees her avatar;
// the avatar is also there as XEP-0084 nodes (vcard_legacy's bridge); alice on a fresh
// device (empty storage) gets the bookmark back from the server and rejoins the room.
// Environment (besides lib.mjs's): LILT_ROOM.
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { device, iq, need, png, scenario, seeText, step, until, env, STEP_MS } from "./lib.mjs";

const room = need("LILT_ROOM");
const NICK = "Alice in Lilt";
const bobJid = `bob@${env.domain}`;
const aliceJid = `alice@${env.domain}`;

await scenario("converse pep", async (browser) => {
  const image = await png(48, 48, [200, 40, 90]);
  const file = join(mkdtempSync(join(tmpdir(), "lilt-avatar-")), "avatar.png");
  writeFileSync(file, image);
  const sha1 = createHash("sha1").update(image).digest("hex");

  const alice = await device(browser, "alice", { user: "alice", password: "alice-secret" });
  const bob = await device(browser, "bob", { user: "bob", password: "bob-secret" });
  step("connected");

  // The profile form, as a user fills it in: avatar file, nickname, Save.
  await alice.page.locator("a.show-profile").first().click();
  await alice.page.locator('input[name="avatar_image"]').setInputFiles(file);
  await alice.page.locator("#vcard-nickname").fill(NICK);
  await alice.page.locator("button.save-form").click();
  const own = await until(() => alice.api((c) => {
    const v = c.state.profile.vcard;
    return v?.get("image_hash") && v.get("nickname") && { hash: v.get("image_hash"), nickname: v.get("nickname") };
  }), "alice's own vCard has the new avatar and nickname");
  if (own.hash !== sha1) throw new Error(`alice's avatar hash ${own.hash}, the file's is ${sha1}`);
  step("profile", own);

  // XEP-0084 at the XMPP level: the vCard photo is bridged to the avatar nodes.
  const meta = await until(async () => {
    const r = await iq(bob, `<iq xmlns="jabber:client" type="get" to="${aliceJid}"><pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="urn:xmpp:avatar:metadata"/></pubsub></iq>`);
    return r.includes(`id="${sha1}"`) && r;
  }, "XEP-0084 metadata of alice's avatar names its sha1");
  const data = await iq(bob, `<iq xmlns="jabber:client" type="get" to="${aliceJid}"><pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="urn:xmpp:avatar:data"><item id="${sha1}"/></items></pubsub></iq>`);
  const b64 = (data.match(/<data[^>]*>([^<]*)<\/data>/) || [])[1]?.replace(/\s+/g, "");
  if (b64 !== image.toString("base64")) throw new Error("XEP-0084 data is not the avatar: " + data.slice(0, 400));
  const info = /<info [^>]*>/.exec(meta)?.[0] ?? "";
  if (!info.includes(`bytes="${image.length}"`) || !info.includes('type="image/png"')) {
    throw new Error("XEP-0084 metadata does not describe the avatar: " + info);
  }
  step("xep0084", { id: sha1, bytes: image.length });

  // A contact request carries the nickname (XEP-0172 in the subscribe presence).
  await alice.api((c, { bobJid }) => c.api.contacts.add({ jid: bobJid, name: "Bob" }), { bobJid });
  await seeText(bob, "converse-roster-contact, .requesting-xmpp-contact, li", NICK, "alice's request under her nickname");
  const requested = await bob.api((c, { aliceJid }) => c.state.roster.get(aliceJid)?.get("nickname"), { aliceJid });
  if (requested !== NICK) throw new Error(`bob's request from alice carries nickname ${requested}`);
  step("nick", { nickname: requested });
  // What Converse's accept dialog does (its last call, `subscribe()`, is misnamed in 14.0.0).
  await bob.api(async (c, { aliceJid }) => {
    await c.state.roster.sendContactAddIQ({ jid: aliceJid, name: "Alice", groups: [] });
    c.state.roster.get(aliceJid).authorize().subscribeToPresence();
  }, { aliceJid });
  await until(() => bob.api((c, { aliceJid }) => c.state.roster.get(aliceJid)?.get("subscription") === "both", { aliceJid }),
    "bob and alice are mutual contacts");

  // bob's roster shows alice's avatar: the very image, as Converse renders it.
  const href = await until(() => bob.page.evaluate(({ aliceJid }) => {
    const item = [...document.querySelectorAll("converse-roster-contact")]
      .find((el) => el.model?.get("jid") === aliceJid);
    return item?.querySelector("converse-avatar svg image")?.getAttribute("href");
  }, { aliceJid }), "alice's avatar in bob's roster");
  if (!href.endsWith(image.toString("base64"))) throw new Error("bob sees another image: " + href.slice(0, 120));
  step("avatar seen", { by: "bob" });

  // Joining a room makes Converse 14 bookmark it (XEP-0402, autojoin).
  await alice.api(async (c, { room }) => { await c.api.rooms.open(room, { nick: "alice" }); }, { room });
  await until(async () => {
    const r = await iq(alice, `<iq xmlns="jabber:client" type="get"><pubsub xmlns="http://jabber.org/protocol/pubsub"><items node="urn:xmpp:bookmarks:1"/></pubsub></iq>`);
    return r.includes(`id="${room}"`) && r.includes('autojoin="true"');
  }, "alice's XEP-0402 bookmark of the room on the server");
  step("bookmarked", { room });
  await alice.context.close();

  // A fresh device: nothing cached, the bookmark must come from the server.
  const again = await device(browser, "alice-again", { user: "alice", password: "alice-secret" });
  const bm = await until(() => again.api((c, { room }) => {
    const b = c.state.bookmarks?.get(room);
    return b && { autojoin: b.get("autojoin"), nick: b.get("nick") };
  }, { room }), "the bookmark on alice's fresh device");
  if (bm.autojoin !== true || bm.nick !== "alice") throw new Error("bookmark came back as " + JSON.stringify(bm));
  await again.page.locator(`converse-muc[jid="${room}"]`).waitFor({ state: "attached", timeout: STEP_MS });
  await until(() => again.api((c, { room }) => c.state.chatboxes.get(room)?.session?.get("connection_status") === 5, { room }),
    "the bookmarked room is joined again (autojoin)");
  step("bookmark kept", bm);
});
