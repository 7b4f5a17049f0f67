-- Lilt's MUC room objects for Lua plugins: Prosody's room_mt methods over a snapshot of a
-- native room (`_data`, `_affiliations`, `_occupants`). Getters read the snapshot; every
-- method that changes the room calls into the native room (`native.muc_act`) and then
-- refreshes the snapshot, so a getter after a setter sees the new value.
local native = ...;

local room_mt = {};
room_mt.__index = room_mt;

local function data(self, k) return self._data[k]; end
function room_mt:get_name() return data(self, "name"); end
function room_mt:get_description() return data(self, "description"); end
function room_mt:get_language() return data(self, "language"); end
function room_mt:get_password() return data(self, "password"); end
function room_mt:get_members_only() return data(self, "members_only"); end
function room_mt:get_allow_member_invites() return data(self, "allow_member_invites"); end
function room_mt:get_moderated() return data(self, "moderated"); end
function room_mt:get_persistent() return data(self, "persistent"); end
room_mt.is_persistent = room_mt.get_persistent;
function room_mt:get_hidden() return data(self, "hidden"); end
function room_mt:get_public() return not data(self, "hidden"); end
function room_mt:get_changesubject() return data(self, "changesubject"); end
function room_mt:get_whois() return data(self, "whois") or "moderators"; end
function room_mt:get_historylength() return data(self, "history_length") or 20; end
function room_mt:get_subject() return data(self, "subject_from") or self.jid, data(self, "subject"); end
function room_mt:get_affiliation(jid)
	local bare = jid:gsub("/.*$", "");
	local host = bare:gsub("^[^@]*@", "");
	local a = self._affiliations[bare];
	if not a and self._affiliations[host] == "outcast" then a = "outcast"; end
	return a;
end
function room_mt:each_affiliation(wanted)
	local k;
	return function()
		local aff;
		repeat
			k, aff = next(self._affiliations, k);
		until k == nil or wanted == nil or aff == wanted;
		if k ~= nil then return k, aff, nil; end
	end
end
function room_mt:get_occupant_by_nick(nick) return self._occupants[nick]; end
function room_mt:get_occupant_by_real_jid(real)
	for _, o in pairs(self._occupants) do
		if o.sessions[real] then return o; end
	end
end
function room_mt:get_occupant_jid(real)
	local o = self:get_occupant_by_real_jid(real);
	return o and o.nick;
end
function room_mt:has_occupant() return next(self._occupants) ~= nil; end
function room_mt:each_occupant() return next, self._occupants, nil; end
function room_mt:get_role(nick) local o = self._occupants[nick]; return o and o.role; end

-- Calls the native room, refreshes the snapshot, returns what the native method returned.
local function act(self, method, ...)
	local fresh, a, b, c = native.muc_act(self._host, self.jid, method, ...);
	if fresh then
		self._data, self._affiliations, self._occupants = fresh._data, fresh._affiliations, fresh._occupants;
	end
	return a, b, c;
end

for _, name in ipairs({ "name", "description", "language", "password", "members_only",
	"allow_member_invites", "moderated", "persistent", "hidden", "public", "changesubject",
	"whois", "historylength" }) do
	local method = "set_"..name;
	room_mt[method] = function(self, value) return act(self, method, value); end
end
for _, method in ipairs({ "set_affiliation", "set_role", "set_subject", "save", "destroy",
	"broadcast" }) do
	room_mt[method] = function(self, ...) return act(self, method, ...); end
end
function room_mt:route_to_occupant(occupant, stanza)
	return act(self, "route_to_occupant", occupant.nick, stanza);
end
function room_mt:route_stanza(stanza) return native.muc_route(self._host, stanza); end
-- Prosody's broadcast_message: history (its own muc-broadcast-message handler, which runs
-- before a plugin's at the same priority), then the event; a truthy answer suppresses.
function room_mt:broadcast_message(stanza)
	local id = act(self, "add_history", stanza);
	if id then
		stanza:tag("stanza-id", { xmlns = "urn:xmpp:sid:0", by = self.jid, id = id }):up();
	end
	if native.fire(self._host, "muc-broadcast-message", { room = self, stanza = stanza }) then
		return true;
	end
	act(self, "broadcast", stanza);
	return true;
end

local M = {};
function M.fire(snapshot, host, name, event)
	event.room = setmetatable(snapshot, room_mt);
	return native.fire(host, name, event);
end
-- prosody.hosts[muc].modules.muc: mod_muc's exports over room snapshots.
function M.api(host)
	local function wrap(r) return r and setmetatable(r, room_mt) or nil; end
	local api = { native = true, module = { name = "muc", host = host, native = true } };
	function api.get_room_from_jid(jid) return wrap(native.muc_room(host, jid)); end
	local function iterate(live_only)
		local list, i = native.muc_rooms(host, live_only), 0;
		return function()
			i = i + 1;
			return wrap(list[i]);
		end
	end
	function api.each_room(live_only) return iterate(live_only); end
	function api.all_rooms() return iterate(false); end
	function api.live_rooms() return iterate(true); end
	api.room_mt = room_mt;
	return api;
end
return M;
