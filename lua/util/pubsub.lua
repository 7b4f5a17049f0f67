-- util.pubsub (reference §14.1): an in-memory pubsub service for Lua plugins that run
-- their own (`require "util.pubsub".new{...}`), with Prosody's API: every operation
-- takes an actor (`true` is the server itself) checked against the affiliation's
-- capabilities, returns `true, ...` or `false, condition`, fires its event on
-- `service.events` and hands notifications to `config.broadcaster`. The services of
-- mod_pep and mod_pubsub are native (src/modules/pubsub/lua.rs) with the same methods.

local events_lib = require "util.events";
local cache = require "util.cache";
local jid_bare = require "util.jid".bare;
local errors = require "util.error";
local id_short = require "util.id".short;

local M = {};

local function set_of(list, base)
	local s = {};
	for k in pairs(base or {}) do s[k] = true; end
	for _, v in ipairs(list) do s[v] = true; end
	return s;
end

-- What each affiliation may do; every level has what the one before has.
local outcast = set_of({ "get_subscription", "get_subscriptions", "be_unsubscribed" });
local none = set_of({ "get_nodes", "subscribe", "unsubscribe", "be_subscribed" }, outcast);
local member = set_of({ "get_items" }, none);
local publisher = set_of({ "publish", "retract", "get_configuration" }, member);
local owner = set_of({
	"create", "delete", "configure", "subscribe_other", "unsubscribe_other",
	"get_subscription_other", "get_subscriptions_other", "set_affiliation",
}, publisher);

local default_config = {
	broadcaster = function() end;
	subscriber_filter = function(subscribers) return subscribers; end;
	itemcheck = function() return true; end;
	get_affiliation = function() end;
	normalize_jid = jid_bare;
	itemstore = function(config) return cache.new(tonumber(config.max_items) or 20); end;
	capabilities = { outcast = outcast, none = none, member = member, publisher = publisher, owner = owner };
	max_items = 256;
};

local default_node_config = {
	persist_items = true;
	max_items = 20;
	access_model = "open";
	publish_model = "publishers";
	send_last_published_item = "never";
};

local service = {};
local service_mt = { __index = service };

local function with_defaults(t, defaults)
	return setmetatable(t or {}, { __index = defaults });
end

function M.new(config)
	config = with_defaults(config or {}, default_config);
	local node_defaults = with_defaults({}, default_node_config);
	for k, v in pairs(rawget(config, "node_defaults") or {}) do node_defaults[k] = v; end
	local self = setmetatable({
		config = config;
		node_defaults = node_defaults;
		nodes = {};
		data = {};
		subscriptions = {};
		events = events_lib.new();
	}, service_mt);
	if config.nodestore then self:load_nodes(); end
	return self;
end

local function copy(t)
	local c = {};
	for k, v in pairs(t or {}) do c[k] = v; end
	return c;
end

local function effective(self, explicit)
	local c = copy(default_node_config);
	for k, v in pairs(self.node_defaults) do c[k] = v; end
	for k, v in pairs(explicit or {}) do c[k] = v; end
	return c;
end

local function max_items(self, config)
	if config.max_items == "max" then return self.config.max_items; end
	return tonumber(config.max_items) or 1;
end

function service:load_nodes()
	local store = self.config.nodestore;
	if not (store and store.users) then return; end
	for name in store:users() do
		local data = store:get(name);
		if data then
			local config = with_defaults(copy(data.config), self.node_defaults);
			self.nodes[name] = {
				name = name, config = config,
				subscribers = copy(data.subscribers), affiliations = copy(data.affiliations),
			};
			if config.persist_items then
				self.data[name] = self.config.itemstore(config, name);
			end
		end
	end
end

local function save(self, name)
	local store = self.config.nodestore;
	if not store then return true; end
	local n = self.nodes[name];
	if not n then return store:set(name, nil); end
	local explicit = {};
	for k, v in pairs(n.config) do explicit[k] = v; end
	return store:set(name, {
		name = name, config = explicit,
		subscribers = n.subscribers, affiliations = n.affiliations,
	});
end

-- The access model's affiliation for someone the node and service say nothing about.
function service:get_default_affiliation(node, actor)
	local n = self.nodes[node];
	local model = (n and n.config or self.node_defaults).access_model;
	local custom = self.config.access_models and self.config.access_models[model];
	if custom then return custom(actor, node); end
	if model == "open" then return "member"; end
	if model == "whitelist" then return "outcast"; end
	return "none";
end

function service:get_affiliation(jid, node, action)
	local n = node and self.nodes[node];
	if n then
		local a = n.affiliations[jid] or n.affiliations[self.config.normalize_jid(jid)];
		if a then return a; end
	end
	local a = self.config.get_affiliation(jid, node, action);
	if a then return a; end
	return self:get_default_affiliation(node, jid);
end

function service:may(node, actor, action)
	if actor == true then return true; end
	local caps = self.config.capabilities[self:get_affiliation(actor, node, action)];
	return caps and caps[action] or false;
end

function service:broadcast(event, node, subscribers, item, actor, node_obj)
	subscribers = self.config.subscriber_filter(subscribers, node, event);
	return self.config.broadcaster(event, node, subscribers, item, actor, node_obj, self);
end

local function notify(self, kind, node_obj, item, actor)
	if node_obj.config["notify_" .. kind] == false then return; end
	self:broadcast(kind, node_obj.name, node_obj.subscribers, item, actor, node_obj);
end

local function check_config(self, node, actor, explicit)
	local eff = effective(self, explicit);
	if max_items(self, eff) > self.config.max_items then return false; end
	local check = self.config.check_node_config;
	if check and not check(node, actor, eff) then return false; end
	return true;
end

function service:create(node, actor, options)
	if not self:may(node, actor, "create") then return false, "forbidden"; end
	if self.nodes[node] then return false, "conflict"; end
	if not check_config(self, node, actor, options) then return false, "not-acceptable"; end
	local config = with_defaults(copy(options), self.node_defaults);
	self.nodes[node] = { name = node, config = config, subscribers = {}, affiliations = {} };
	if config.persist_items then self.data[node] = self.config.itemstore(config, node); end
	if not save(self, node) then
		self.nodes[node], self.data[node] = nil, nil;
		return false, "internal-server-error";
	end
	self.events.fire_event("node-created", { service = self, node = node, actor = actor });
	if actor ~= true then
		local ok, err = self:set_affiliation(node, true, actor, "owner");
		if not ok then
			self.nodes[node] = nil;
			return ok, err;
		end
	end
	return true;
end

function service:delete(node, actor)
	if not self:may(node, actor, "delete") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	self.nodes[node], self.data[node] = nil, nil;
	save(self, node);
	self.events.fire_event("node-deleted", { service = self, node = node, actor = actor });
	notify(self, "delete", n, nil, actor);
	return true;
end

function service:publish(node, actor, id, item, requested_config)
	local n = self.nodes[node];
	if not self:may(node, actor, "publish") then
		local model = n and n.config.publish_model;
		local sub = n and actor ~= true and n.subscribers[self.config.normalize_jid(actor)];
		if not (model == "open" or (model == "subscribers" and sub)) then
			return false, "forbidden";
		end
	end
	if not n then
		if not self.config.autocreate_on_publish then return false, "item-not-found"; end
		local ok, err = self:create(node, true, requested_config);
		if not ok then return ok, err; end
		n = self.nodes[node];
	elseif requested_config and not requested_config._defaults_only then
		for k, v in pairs(requested_config) do
			if n.config[k] ~= v then
				local e = errors.new({ type = "cancel", condition = "conflict", text = "Field does not match: " .. k });
				e.pubsub_condition = "precondition-not-met";
				e.instance_id = e.instance_id or id_short();
				return false, e;
			end
		end
	end
	if not self.config.itemcheck(item) then return nil, "invalid-item"; end
	if n.config.persist_items then
		local store = self.data[node];
		if not store then
			store = self.config.itemstore(n.config, node);
			self.data[node] = store;
		end
		local ok = store:set(id, item);
		if not ok then return false, "internal-server-error"; end
		if type(ok) == "string" then id = ok; end
	end
	local event = { service = self, node = node, actor = actor, id = id, item = item };
	self.events.fire_event("item-published/" .. node, event);
	self.events.fire_event("item-published", event);
	notify(self, "items", n, item, actor);
	return true;
end

function service:retract(node, actor, id, retract)
	if not self:may(node, actor, "retract") then return false, "forbidden"; end
	local n, store = self.nodes[node], self.data[node];
	if not n or not store or store:get(id) == nil then return false, "item-not-found"; end
	if not store:set(id, nil) then return false, "internal-server-error"; end
	self.events.fire_event("item-retracted", { service = self, node = node, actor = actor, id = id });
	if retract then notify(self, "retract", n, retract, actor); end
	return true;
end

function service:purge(node, actor, send_notification)
	if not self:may(node, actor, "retract") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	if self.data[node] then
		if self.data[node].clear then self.data[node]:clear();
		else self.data[node] = self.config.itemstore(n.config, node); end
	end
	self.events.fire_event("node-purged", { service = self, node = node, actor = actor });
	if send_notification then notify(self, "purge", n, nil, actor); end
	return true;
end

function service:get_items(node, actor, ids, resultspec)
	if not self:may(node, actor, "get_items") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	local store = self.data[node];
	if not n.config.persist_items or not store then return false, "persistent-items-unsupported"; end
	if type(ids) == "string" then ids = { ids }; end
	local out, max = {}, resultspec and resultspec.max;
	if ids then
		for _, id in ipairs(ids) do
			local item = store:get(id);
			if item ~= nil then out[#out + 1] = id; out[id] = item; end
		end
	else
		for id, item in store:items() do
			if max and #out >= max then break; end
			out[#out + 1] = id;
			out[id] = item;
		end
	end
	return true, out;
end

function service:get_last_item(node, actor)
	if not self:may(node, actor, "get_items") then return false, "forbidden"; end
	if not self.nodes[node] then return false, "item-not-found"; end
	local store = self.data[node];
	if store then return true, store:head(); end
	return true, nil;
end

function service:get_nodes(actor)
	if not self:may(nil, actor, "get_nodes") then return false, "forbidden"; end
	return true, self.nodes;
end

local function other(self, actor, jid)
	return actor ~= true and self.config.normalize_jid(actor) ~= self.config.normalize_jid(jid);
end

function service:add_subscription(node, actor, jid, options)
	local cap = other(self, actor, jid) and "subscribe_other" or "subscribe";
	if not self:may(node, actor, cap) then return false, "forbidden"; end
	if not self:may(node, jid, "be_subscribed") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then
		if not self.config.autocreate_on_subscribe then return false, "item-not-found"; end
		local ok, err = self:create(node, true);
		if not ok then return ok, err; end
		n = self.nodes[node];
	end
	local normal = self.config.normalize_jid(jid);
	n.subscribers[jid] = options or true;
	local by_jid = self.subscriptions[normal] or {};
	self.subscriptions[normal] = by_jid;
	by_jid[jid] = by_jid[jid] or {};
	by_jid[jid][node] = true;
	save(self, node);
	self.events.fire_event("subscription-added",
		{ service = self, node = node, jid = jid, normalized_jid = normal, options = options });
	return true;
end

function service:remove_subscription(node, actor, jid)
	local cap = other(self, actor, jid) and "unsubscribe_other" or "unsubscribe";
	if not self:may(node, actor, cap) then return false, "forbidden"; end
	if not self:may(node, jid, "be_unsubscribed") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	if not n.subscribers[jid] then return false, "not-subscribed"; end
	n.subscribers[jid] = nil;
	local normal = self.config.normalize_jid(jid);
	local by_jid = self.subscriptions[normal];
	if by_jid and by_jid[jid] then by_jid[jid][node] = nil; end
	save(self, node);
	self.events.fire_event("subscription-removed",
		{ service = self, node = node, jid = jid, normalized_jid = normal });
	return true;
end

function service:get_subscription(node, actor, jid)
	local cap = other(self, actor, jid) and "get_subscription_other" or "get_subscription";
	if not self:may(node, actor, cap) then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	return true, n.subscribers[jid];
end

function service:get_subscriptions(node, actor, jid)
	local cap = (jid == nil or other(self, actor, jid)) and actor ~= true
		and "get_subscriptions_other" or "get_subscriptions";
	if not self:may(node, actor, cap) then return false, "forbidden"; end
	if node and not self.nodes[node] then return false, "item-not-found"; end
	local list = {};
	for name, n in pairs(self.nodes) do
		if not node or node == name then
			for sub, options in pairs(n.subscribers) do
				if not jid or self.config.normalize_jid(sub) == self.config.normalize_jid(jid) then
					list[#list + 1] = { node = name, jid = sub, subscription = options };
				end
			end
		end
	end
	return true, list;
end

function service:set_affiliation(node, actor, jid, affiliation)
	if not self:may(node, actor, "set_affiliation") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	n.affiliations[self.config.normalize_jid(jid)] = affiliation;
	for sub in pairs(copy(n.subscribers)) do
		if self.config.normalize_jid(sub) == self.config.normalize_jid(jid)
			and not self:may(node, sub, "be_subscribed") then
			self:remove_subscription(node, true, sub);
		end
	end
	save(self, node);
	return true;
end

function service:get_node_config(node, actor)
	if not self:may(node, actor, "get_configuration") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	return true, effective(self, n.config);
end

function service:set_node_config(node, actor, new_config)
	if not self:may(node, actor, "configure") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	if not check_config(self, node, actor, new_config) then return false, "not-acceptable"; end
	local old = effective(self, n.config);
	n.config = with_defaults(copy(new_config), self.node_defaults);
	local new = effective(self, n.config);
	if old.persist_items ~= new.persist_items then
		self.data[node] = new.persist_items and self.config.itemstore(n.config, node) or nil;
	elseif self.data[node] and self.data[node].resize and old.max_items ~= new.max_items then
		self.data[node]:resize(max_items(self, new));
	end
	if old.access_model ~= new.access_model then
		for sub in pairs(copy(n.subscribers)) do
			if not self:may(node, sub, "be_subscribed") then self:remove_subscription(node, true, sub); end
		end
	end
	save(self, node);
	return true;
end

function service:set_node_capabilities(node, actor, capabilities)
	if not self:may(node, actor, "configure") then return false, "forbidden"; end
	local n = self.nodes[node];
	if not n then return false, "item-not-found"; end
	n.capabilities = capabilities;
	return true;
end

M.service_mt = service_mt;
return M;
