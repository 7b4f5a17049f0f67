-- The ad-hoc command library (XEP-0050) behind `module:require "adhoc"`: `new` describes
-- a command, `handle_cmd` runs one step of it and answers the client.

local st = require "util.stanza";
local uuid = require "util.uuid";

local NS = "http://jabber.org/protocol/commands";
local M = {};

-- Commands' state by session id (a command is a conversation across several IQs).
local sessions = {};

function M.new(name, node, handler, permission)
	if not permission then
		error("adhoc.new() expects a permission argument ('any', 'local_user', 'admin' or 'global_admin')", 2);
	end
	return { name = name, node = node, handler = handler, cmdtag = st.stanza("command", { xmlns = NS }),
		permission = permission };
end

local function render_form(form, data, formtype)
	if form.layout then return form.layout:form(form.values, formtype); end
	return form:form(data, formtype);
end

-- Runs `command` for the `<command/>` in `stanza` and sends the reply.
function M.handle_cmd(command, origin, stanza)
	local cmd = stanza.tags[1];
	local sessionid = cmd.attr.sessionid or uuid.generate();
	local action = cmd.attr.action or "execute";
	local data = { to = stanza.attr.to, from = stanza.attr.from, action = action,
		form = cmd:get_child("x", "jabber:x:data") };
	local state = sessions[sessionid];
	if cmd.attr.sessionid and state == nil then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "Unknown session ID"));
		return true;
	end
	local result, new_state = command:handler(data, state);
	if result.status == "completed" or result.status == "canceled" or result.status == "error" then
		sessions[sessionid] = nil;
	else
		sessions[sessionid] = new_state or state or true;
	end
	if result.status == "error" then
		local e = result.error or {};
		origin.send(st.error_reply(stanza, e.type or "cancel", e.condition or "internal-server-error",
			e.message or e.text or e[1]));
		return true;
	end
	local reply = st.reply(stanza);
	reply:tag("command", { xmlns = NS, node = command.node, sessionid = sessionid,
		status = result.status });
	if result.actions then
		local actions = st.stanza("actions", { execute = result.actions.default });
		for _, name in ipairs(result.actions) do
			if name ~= "prev" or state ~= nil then actions:tag(name):up(); end
		end
		reply:add_child(actions);
	elseif result.status == "executing" then
		reply:tag("actions", { execute = "complete" }):tag("complete"):up():up();
	end
	for _, kind in ipairs({ "info", "warn", "error" }) do
		if result[kind] then
			local text = type(result[kind]) == "table" and (result[kind].message or result[kind][1]) or result[kind];
			reply:tag("note", { type = kind }):text(tostring(text)):up();
		end
	end
	if result.form then
		reply:add_child(render_form(result.form, result.data, "form"));
	elseif result.result then
		reply:add_child(render_form(result.result, result.data, "result"));
	elseif result.other then
		reply:add_child(result.other);
	end
	origin.send(reply);
	return true;
end

return M;
