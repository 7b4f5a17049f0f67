-- core.rostermanager for plugins: rosters read from the `roster` keyval store in
-- Prosody's format (jid -> {subscription, name, groups, ask}; [false] = metadata).

local storagemanager = require "core.storagemanager";

local M = {};

function M.load_roster(username, host)
	local store = storagemanager.open(host, "roster", "keyval");
	local roster = store:get(username) or {};
	roster[false] = roster[false] or { version = 1 };
	return roster;
end

function M.save_roster(username, host, roster)
	local store = storagemanager.open(host, "roster", "keyval");
	return store:set(username, roster);
end

local function subscription(username, host, jid)
	local roster = M.load_roster(username, host);
	local item = roster[jid];
	return item and item.subscription or "none";
end

function M.is_contact_subscribed(username, host, jid)
	local sub = subscription(username, host, jid);
	return sub == "both" or sub == "from";
end

function M.is_user_subscribed(username, host, jid)
	local sub = subscription(username, host, jid);
	return sub == "both" or sub == "to";
end

function M.is_contact_pending_in(username, host, jid)
	local roster = M.load_roster(username, host);
	return roster[false].pending and roster[false].pending[jid] ~= nil or false;
end

function M.is_contact_pending_out(username, host, jid)
	local roster = M.load_roster(username, host);
	local item = roster[jid];
	return item and item.ask == "subscribe" or false;
end

function M.roster_push() end

return M;
