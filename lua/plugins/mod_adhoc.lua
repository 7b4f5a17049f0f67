-- mod_adhoc (XEP-0050): lists the commands other modules provide (`module:provides
-- "adhoc"`) on the host's commands disco node, describes each command's node, and runs
-- commands for whoever their permission admits.

local st = require "util.stanza";
local jid = require "util.jid";
local usermanager = require "core.usermanager";
local handle_cmd = module:require "adhoc".handle_cmd;

local NS = "http://jabber.org/protocol/commands";
local commands = {};

module:add_feature(NS);

local function allowed(command, from)
	local perm = command.permission;
	if perm == "any" then return true; end
	local host = module.host;
	if perm == "local_user" or perm == "user" then
		return jid.host(from) == host or usermanager.is_admin(from, host);
	end
	if perm == "admin" then return usermanager.is_admin(from, host); end
	if perm == "global_admin" then return usermanager.is_admin(from); end
	return false;
end

module:hook("host-disco-items-node", function(event)
	if event.node ~= NS then return; end
	local from = event.stanza.attr.from;
	local nodes = {};
	for node in pairs(commands) do nodes[#nodes + 1] = node; end
	table.sort(nodes);
	for _, node in ipairs(nodes) do
		local command = commands[node];
		if allowed(command, from) then
			event.reply:tag("item", { name = command.name, node = node, jid = module.host }):up();
		end
	end
	event.exists = true;
end);

module:hook("host-disco-info-node", function(event)
	local node = event.node;
	if node == NS then
		event.reply:tag("identity", { category = "automation", type = "command-list",
			name = "Ad-Hoc Commands" }):up();
		event.exists = true;
		return;
	end
	local command = commands[node];
	if not command then return; end
	if not allowed(command, event.stanza.attr.from) then
		event.origin.send(st.error_reply(event.stanza, "auth", "forbidden",
			"You don't have permission to access this command"));
		return true;
	end
	event.reply:tag("identity", { category = "automation", type = "command-node",
		name = command.name }):up();
	event.reply:tag("feature", { var = NS }):up();
	event.reply:tag("feature", { var = "jabber:x:data" }):up();
	event.exists = true;
end);

module:hook("iq-set/host/" .. NS .. ":command", function(event)
	local origin, stanza = event.origin, event.stanza;
	local node = stanza.tags[1].attr.node;
	local command = node and commands[node];
	if not command then
		origin.send(st.error_reply(stanza, "cancel", "item-not-found", "Command not found"));
		return true;
	end
	if not allowed(command, stanza.attr.from) then
		origin.send(st.error_reply(stanza, "auth", "forbidden",
			"You don't have permission to execute this command"));
		return true;
	end
	return handle_cmd(command, origin, stanza);
end, 500);

local function added(event) commands[event.item.node] = event.item; end
local function removed(event) commands[event.item.node] = nil; end
-- `module:provides("adhoc", ...)` items, and plain `add_item("adhoc", ...)` ones.
module:handle_items("adhoc-provider", added, removed);
module:handle_items("adhoc", added, removed);
