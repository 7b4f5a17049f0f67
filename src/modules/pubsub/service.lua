-- Lua objects over the native pubsub services (see lua.rs): each method is a call into
-- the engine; `nodes` is read fresh on every access; `events` is a util.events object
-- the engine's events are fired on.
local events_lib = require "util.events";

local M = {};
local objects = {}; -- "user@host" or component host -> service object

local methods = {};
local object_mt = {};

function object_mt.__index(self, k)
	local m = methods[k];
	if m then return m; end
	if k == "nodes" then
		return self._native.pubsub_call(self._host, self._user, "nodes");
	end
end

local errors = require "util.error";

-- util.pubsub's failure shapes: `nil` for an invalid item, an error object for a
-- publish-options precondition.
local function result(...)
	local ok, err, field = ...;
	if ok == false and err == "invalid-item" then return nil, err; end
	if ok == false and err == "precondition-not-met" then
		local e = errors.new({ type = "cancel", condition = "conflict", text = "Field does not match: " .. field });
		e.pubsub_condition = "precondition-not-met";
		e.instance_id = e.instance_id or require "util.id".short();
		return false, e;
	end
	return ...;
end

local function call(self, method, ...)
	return result(self._native.pubsub_call(self._host, self._user, method, ...));
end

-- (node, actor, ...) methods: the engine checks the actor as util.pubsub does.
for _, name in ipairs({
	"create", "delete", "publish", "retract", "purge", "get_items", "get_last_item",
	"add_subscription", "remove_subscription", "get_subscription", "get_subscriptions",
	"set_affiliation", "get_node_config", "set_node_config",
}) do
	methods[name] = function(self, ...) return call(self, name, ...); end
end

function methods:get_nodes(actor)
	return call(self, "get_nodes", nil, actor);
end

function methods:get_affiliation(jid, node)
	return (call(self, "get_affiliation", jid, node));
end

function methods:may(node, actor, action)
	return (call(self, "may", node, actor, action));
end

function methods:node_defaults()
	return self.config.node_defaults;
end

-- util.pubsub's broadcast hook: the native service sends its own notifications.
function methods:broadcast() end

local function object(native, host, user)
	local key = user and (user .. "@" .. host) or host;
	local o = objects[key];
	if o then return o; end
	native.pubsub_watch(host, user);
	o = setmetatable({
		_native = native,
		_host = host,
		_user = user,
		events = events_lib.new(),
		config = { jid = key, pep_username = user, node_defaults = {} },
	}, object_mt);
	objects[key] = o;
	return o;
end

function M.fire(host, user, name, data)
	local o = objects[user and (user .. "@" .. host) or host];
	if not o then return; end
	data.service = o;
	if name == "item-published" then
		o.events.fire_event("item-published/" .. data.node, data);
	end
	o.events.fire_event(name, data);
end

-- hosts[h].modules.pep and module:depends("pep").
function M.pep_api(native, host)
	local api = { native = true, module = { name = "pep", host = host, native = true } };
	function api.get_pep_service(username)
		return object(native, host, username);
	end
	api.services = setmetatable({}, {
		__index = function(_, username) return object(native, host, username); end,
	});
	return api;
end

-- hosts[component].modules.pubsub and module:depends("pubsub").
function M.component_api(native, host)
	local api = { native = true, module = { name = "pubsub", host = host, native = true } };
	api.service = object(native, host, nil);
	function api.get_service() return api.service; end
	return api;
end

return M;
