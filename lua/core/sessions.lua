-- Session objects as plugins see them (reference §4.8): a table per bound c2s session
-- that stays the same object for the session's life, so plugins may keep fields on it.
-- Reads go to the core; `send` and `close` act on the real connection.

local native = require "lilt.native";
local logger = require "util.logger";

local M = {};
local cache = {};
local created = 0;

local function sweep()
	for sid in pairs(cache) do
		if not native.session_exists(sid) then
			cache[sid].type = "c2s_destroyed";
			cache[sid].destroyed = true;
			cache[sid] = nil;
		end
	end
end

local function to_stanza(data)
	if type(data) == "string" then
		return native.xml_parse(data);
	end
	return data;
end

-- `presence` and `priority` change during a session, so they are read when asked for.
local live = {
	presence = function(sid) local p = native.session_presence(sid); return p; end,
	priority = function(sid) local _, prio = native.session_presence(sid); return prio; end,
};

function M.get(sid)
	local s = cache[sid];
	if s then
		if native.session_exists(sid) then return s; end
		cache[sid] = nil;
		return nil;
	end
	local info = native.session_info(sid);
	if not info then return nil; end
	created = created + 1;
	if created % 256 == 0 then sweep(); end
	s = info;
	s._lilt_sid = sid;
	s.id = "c2s" .. sid;
	s.type = "c2s";
	s.base_type = "c2s";
	s.log = logger.init(s.id);
	function s.send(data)
		local stanza = to_stanza(data);
		if not stanza then return false; end
		return native.session_send(sid, stanza);
	end
	function s.close(reason)
		local condition, text = reason, nil;
		if type(reason) == "table" then
			condition, text = reason.condition, reason.text;
		end
		native.session_close(sid, condition, text);
	end
	s.conn = M.conn(s, sid);
	setmetatable(s, { __index = function(_, k)
		local f = live[k];
		if f then return f(sid); end
	end });
	cache[sid] = s;
	return s;
end

-- `session.conn` as plugins use it for write control (mod_csi_simple): while writes
-- are paused, stanzas for the session wait here, after its `stanzas/out` filters, and
-- `resume_writes` sends them in order, then fires `c2s-ondrain` (the buffer is drained).
function M.conn(s, sid)
	local conn = {};
	function conn:pause_writes()
		rawset(s, "_lilt_paused", true);
		require "util.filters"._sync(s, "stanzas/out");
	end
	function conn:resume_writes()
		local held = rawget(s, "_lilt_held");
		rawset(s, "_lilt_paused", nil);
		rawset(s, "_lilt_held", nil);
		require "util.filters"._sync(s, "stanzas/out");
		for _, stanza in ipairs(held or {}) do native.session_send_unfiltered(sid, stanza); end
		local host = prosody.hosts[s.host];
		if host and host.events then
			require "util.timer".add_task(0, function()
				if native.session_exists(sid) then
					host.events.fire_event("c2s-ondrain", { session = s });
				end
			end);
		end
	end
	function conn:ip() return s.ip; end
	return conn;
end

function M.hold(session, kind, stanza)
	if kind ~= "stanzas/out" or stanza == nil or not session
		or rawget(session, "_lilt_paused") ~= true then
		return stanza;
	end
	local held = rawget(session, "_lilt_held");
	if not held then held = {}; rawset(session, "_lilt_held", held); end
	held[#held + 1] = stanza;
	return nil;
end

-- core_post_stanza for plugins: the origin is a session proxy or a host object.
function M.post(origin, stanza)
	local host = origin and (origin.host) or nil;
	local sid = origin and origin._lilt_sid or nil;
	return native.post(host or "", stanza, sid);
end

local function user_sessions(bare)
	local sids = native.bare_sessions(bare);
	if #sids == 0 then return nil; end
	local by_resource = {};
	local top_resources = {};
	for _, sid in ipairs(sids) do
		local s = M.get(sid);
		if s then
			by_resource[s.resource] = s;
			top_resources[#top_resources + 1] = s;
		end
	end
	return { sessions = by_resource, top_resources = top_resources };
end
M.user_sessions = user_sessions;

M.full_sessions = setmetatable({}, {
	__index = function(_, jid)
		local sid = native.full_session(jid);
		return sid and M.get(sid) or nil;
	end;
	__newindex = function() error("prosody.full_sessions is read-only in Lilt", 2); end;
	__pairs = function()
		local list = {};
		for _, sid in ipairs(native.all_sessions()) do
			local s = M.get(sid);
			if s then list[s.full_jid] = s; end
		end
		return next, list, nil;
	end;
});

M.bare_sessions = setmetatable({}, {
	__index = function(_, bare) return user_sessions(bare); end;
	__newindex = function() error("prosody.bare_sessions is read-only in Lilt", 2); end;
	__pairs = function()
		local list = {};
		for _, sid in ipairs(native.all_sessions()) do
			local s = M.get(sid);
			if s then
				local bare = s.username .. "@" .. s.host;
				list[bare] = list[bare] or user_sessions(bare);
			end
		end
		return next, list, nil;
	end;
});

-- hosts[h].sessions: username -> { sessions = { [resource] = session } }
function M.host_sessions(host)
	return setmetatable({}, {
		__index = function(_, user) return user_sessions(user .. "@" .. host); end;
		__pairs = function()
			local list = {};
			for _, sid in ipairs(native.all_sessions()) do
				local s = M.get(sid);
				if s and s.host == host then
					list[s.username] = list[s.username] or user_sessions(s.username .. "@" .. host);
				end
			end
			return next, list, nil;
		end;
	});
end

return M;
