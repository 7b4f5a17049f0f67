-- Statistics for plugins (Prosody's core.statsmanager): OpenMetrics families kept in
-- Lilt's registry, so what a plugin counts is served at /metrics with everything else.
-- `metric` declares a family; `measure` is the legacy API built on it.

local registry = require "lilt.metrics";
local native = require "lilt.native";

local M = {};

local metric_mt = {};
metric_mt.__index = metric_mt;

function metric_mt:set(value) registry.set(self.id, value); end
function metric_mt:add(delta) registry.add(self.id, delta or 1); end
function metric_mt:sample(value) registry.sample(self.id, value); end
function metric_mt:reset() registry.reset(self.id); end
function metric_mt:get() return registry.value(self.id); end

local family_mt = {};
family_mt.__index = family_mt;

function family_mt:with_labels(...)
	local labels = table.pack(...);
	local key = {};
	for i = 1, labels.n do
		labels[i] = tostring(labels[i]);
		key[i] = labels[i];
	end
	labels.n = nil;
	local cache_key = table.concat(key, "\0");
	local m = self.cache[cache_key];
	if not m then
		m = setmetatable({ id = registry.metric(self.id, labels), family = self }, metric_mt);
		self.cache[cache_key] = m;
	end
	return m;
end

-- A view of the family with its first label(s) fixed (how host modules get their `host`).
local function partial(family, fixed)
	return {
		with_labels = function(_, ...)
			local all = { table.unpack(fixed) };
			for _, v in ipairs({ ... }) do all[#all + 1] = v; end
			return family:with_labels(table.unpack(all));
		end,
		with_partial_label = function(_, label)
			local more = { table.unpack(fixed) };
			more[#more + 1] = label;
			return partial(family, more);
		end,
	};
end

function family_mt:with_partial_label(label)
	return partial(self, { label });
end

function M.metric(type_, name, unit, description, label_keys, conf)
	local keys = {};
	for i, k in ipairs(label_keys or {}) do keys[i] = tostring(k); end
	local id = registry.family(type_, name, unit or "", description or "", keys,
		conf and conf.buckets or nil);
	return setmetatable({ id = id, type_ = type_, name = name, unit = unit or "",
		description = description or "", label_keys = keys, cache = {} }, family_mt);
end

local function legacy(stat_type, name, unit, description, fixed_key, fixed_value, conf)
	local mf = M.metric(stat_type, "prosody_" .. name, unit, description,
		fixed_key and { fixed_key } or {}, conf);
	if fixed_key then return mf:with_labels(fixed_value); end
	return mf:with_labels();
end

local function describe(extra, type_, name)
	return type(extra) == "table" and extra.description or (name .. " " .. type_),
		type(extra) == "table" and extra.unit or nil;
end

local function timed(m)
	local t0 = native.now();
	return function() m:sample(native.now() - t0); end;
end

-- The legacy statistic types and the family each one becomes (as in Prosody 0.12).
local wrappers = {
	amount = function(name, k, v, extra)
		local desc, unit = describe(extra, "amount", name);
		local m = legacy("gauge", name, unit, desc, k, v);
		local initial = type(extra) == "number" and extra or type(extra) == "table" and extra.initial;
		m:set(initial or 0);
		return function(value) m:set(value); end;
	end,
	counter = function(name, k, v, extra)
		local desc, unit = describe(extra, "counter", name);
		local m = legacy("counter", name, unit, desc, k, v);
		return function(value) m:add(value or 1); end;
	end,
	rate = function(name, k, v, extra)
		local desc, unit = describe(extra, "counter", name);
		local m = legacy("counter", name, unit, desc, k, v);
		return function() m:add(1); end;
	end,
	times = function(name, k, v, extra)
		local desc = describe(extra, "times", name);
		local buckets = type(extra) == "table" and extra.buckets or nil;
		local m = legacy("histogram", name, "seconds", desc, k, v, { buckets = buckets });
		return function() return timed(m); end;
	end,
	sizes = function(name, k, v, extra)
		local desc = describe(extra, "sizes", name);
		local buckets = type(extra) == "table" and extra.buckets
			or { 1024, 4096, 32768, 131072, 1048576, 4194304, 33554432, 134217728, 1073741824 };
		local m = legacy("histogram", name, "bytes", desc, k, v, { buckets = buckets });
		return function(value) m:sample(value); end;
	end,
	distribution = function(name, k, v, extra)
		if type(extra) == "string" then extra = { unit = extra }; end
		local desc, unit = describe(extra, "distribution", name);
		local m = legacy("summary", name, unit, desc, k, v);
		return function(value) m:sample(value); end;
	end,
};

function M.measure(stat_type, name, extra, fixed_key, fixed_value)
	local wrapper = wrappers[stat_type];
	if not wrapper then error("unknown legacy metric type " .. tostring(stat_type), 2); end
	return wrapper(name, fixed_key, fixed_value, extra);
end

M.timed = timed;
function M.get_metric_registry() return nil; end
function M.collect() end
function M.cork() end
function M.uncork() end

return M;
